"""Live pages: lists, the cluster page and task pages refresh their rows and
state in place (htmx polling, ``LIVE_REFRESH_SECONDS``).

A page marks its live region with ``{% live_region %}`` (backups/templatetags/
live.py): htmx asks for the page's own address (its filters, sort and page)
with ``HX-Request``, and the view answers with only that region, a
``{% partialdef %}`` of the page's own template (django-template-partials),
from the same queries as the page or fewer.  What pauses a refresh (a dialog,
an expanded row, a field in focus) is decided in the browser
(static/console/console.js), which also never swaps in anything but the
fragment (a sign-in page after the session ended, an error).
"""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def is_refresh(request):
    """A live region asking for its fragment (django-htmx's ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def template_for(request, template, partial):
    """The page's template, or only its ``partial`` for a live refresh."""
    return f"{template}#{partial}" if is_refresh(request) else template


def vary(response):
    # The page and its fragment share one address: a cache must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_live(request, template, partial, context):
    """``render`` for a function view with a live region named ``partial``."""
    return vary(render(request, template_for(request, template, partial), context))


class LiveRegionMixin:
    """A class-based view whose template has a live region ``live_partial``."""

    live_partial = None

    def get_template_names(self):
        names = super().get_template_names()
        return [template_for(self.request, names[0], self.live_partial)] if self.live_partial else names

    def render_to_response(self, context, **kwargs):
        return vary(super().render_to_response(context, **kwargs))
