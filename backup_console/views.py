"""The console's error pages (403, 404, 405, 500, and a refused CSRF token) in its own frame.

Django renders 403, 404 and 500 through the handlers backup_console/urls.py
names.  It has no handler for 405: views answer a wrong method with an empty
``HttpResponseNotAllowed``.  ``frame_not_allowed`` wraps every view of the URL
configuration so that such an answer becomes templates/405.html, with its
status and Allow header kept (what a middleware would do, without a change to
the middleware list).
"""

import logging
from functools import wraps
from inspect import iscoroutinefunction

from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.urls import URLResolver
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


def back_url(request):
    """The page the visitor came from, if it is a page of this site other than this one."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or len(referer) > 2000 or any(ord(char) < 32 or ord(char) == 127 for char in referer):
        return None
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return None
    # Only the path and query: never another scheme or host, even one allowed.
    origin = f"{request.scheme}://{request.get_host()}"
    path = referer[len(origin):] if referer.startswith(origin) else referer
    if not path.startswith("/") or path.startswith("//") or path == request.get_full_path():
        return None
    return path


def _render(request, template_name, status, context=None):
    template = loader.get_template(template_name)
    body = template.render({"back_url": back_url(request), "request_path": request.path, **(context or {})}, request)
    return HttpResponse(body, status=status)


@requires_csrf_token
def permission_denied(request, exception=None):
    """403; an attempt to change something is recorded in the audit trail
    (who, what, on what, why: backups.views.audit.record_forbidden)."""
    from backups.views.audit import record_forbidden

    try:
        record_forbidden(request)
    except Exception:  # recording must never cost the visitor their page
        logger.exception("could not record a forbidden request")
    return _render(request, "403.html", 403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent without a valid token (Django logs the reason)."""
    return _render(request, "403_csrf.html", 403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return _render(request, "404.html", 404)


def server_error(request):
    """500: rendered without the request, so that nothing that may have failed
    (the session, the user, the database) is read again; a bare page if even
    that fails."""
    try:
        body = loader.get_template("500.html").render({})
    except Exception:  # the last resort must answer
        logger.exception("The 500 page itself failed to render")
        body = "<!doctype html><title>Server error</title><h1>Server error (500)</h1><p><a href=\"/\">Backup Console</a></p>"
    return HttpResponseServerError(body)


def not_allowed_page(request, response):
    """templates/405.html for an empty 405 answer, keeping its status and Allow header."""
    allowed = response.get("Allow", "")
    page = _render(request, "405.html", 405, {"method": request.method, "allowed": allowed})
    page["Allow"] = allowed
    return page


def _is_bare_405(response):
    return response.status_code == 405 and not getattr(response, "streaming", False) and not response.content


def framed_405(view):
    """``view``, answering a method it does not take with the console's 405 page."""
    if getattr(view, "frames_405", False):
        return view
    if iscoroutinefunction(view):

        @wraps(view)
        async def framed(request, *args, **kwargs):
            response = await view(request, *args, **kwargs)
            return not_allowed_page(request, response) if _is_bare_405(response) else response

    else:

        @wraps(view)
        def framed(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            return not_allowed_page(request, response) if _is_bare_405(response) else response

    framed.frames_405 = True
    return framed


def frame_not_allowed(patterns):
    """Wrap the view of every URL pattern in ``patterns`` (included ones too) with ``framed_405``."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            frame_not_allowed(entry.url_patterns)
        else:
            entry.callback = framed_405(entry.callback)
    return patterns
