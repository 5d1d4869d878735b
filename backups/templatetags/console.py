from django import template

from backups.tables import readable_delay

register = template.Library()


@register.filter
def duration_text(value):
    """A timedelta as '3 min 5 s'."""
    if value is None:
        return "—"
    return readable_delay(value.total_seconds())
