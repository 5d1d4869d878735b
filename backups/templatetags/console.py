from django import template

from backups import formats
from backups.engine import outcomes

register = template.Library()
register.filter("duration_text", formats.duration_text)


@register.filter
def failure(task):
    """Why ``task`` failed, in the reader's language."""
    return outcomes.failure_of(task)


@register.filter
def cause(event):
    """A TaskEvent's cause, in the reader's language."""
    return outcomes.cause_of(event)


@register.filter
def change(event, task=None):
    """A TaskEvent's "old → new" as status labels; ``task``: the event's task, if the page has it."""
    return event.change_text(type(task) if task is not None else None)


@register.filter
def seconds_text(seconds):
    """A number of seconds as '3 min 5 s' (a delay, an RPO); '—' for none."""
    return "—" if seconds is None else formats.readable_delay(seconds)
