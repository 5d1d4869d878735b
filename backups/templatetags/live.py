"""``{% live_region %}``: the attributes that make an element refresh itself
in place (backup_console/live.py says how the view answers)."""

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def live_region(context, url=None):
    """Poll the page's own address (its filters, sort and page), or ``url``
    (a region served apart, such as the overview's core metrics), every
    LIVE_REFRESH_SECONDS and swap the answer in as this element's content."""
    seconds = settings.LIVE_REFRESH_SECONDS
    if not seconds:
        return ""
    return format_html(
        ' data-live data-hx-get="{}" data-hx-trigger="every {}s" data-hx-swap="innerHTML"',
        url or context["request"].get_full_path(), seconds,
    )
