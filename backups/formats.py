"""How the console writes times, durations and delays, and when a log
backup's delay is alarming (the rule the lists, the cluster page and, later,
alerts share)."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext

DEFAULT_LOG_DELAY_THRESHOLD = 300  # seconds, when a log backup has no policy


def stamp(moment, zone=None):
    """A time as the lists show it (local, to the second), or a dash; in
    ``zone``, the current time zone looked up once by a caller of many."""
    if moment is None:
        return "—"
    return moment.astimezone(zone or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M:%S")


def readable_delay(seconds):
    """12 s, 3 min 5 s, 2 h 4 min, 3 d 2 h."""
    seconds = max(0, int(seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return gettext("%(d)d d %(h)d h") % {"d": days, "h": h} if h else gettext("%(d)d d") % {"d": days}
    if hours:
        return gettext("%(h)d h %(m)d min") % {"h": hours, "m": m} if m else gettext("%(h)d h") % {"h": hours}
    if minutes:
        return gettext("%(m)d min %(s)d s") % {"m": minutes, "s": s} if s else gettext("%(m)d min") % {"m": minutes}
    return gettext("%(s)d s") % {"s": s}


def delay_seconds(task, now):
    """A log backup's delay in seconds: now minus its latest archived point
    (None before the first)."""
    if task.latest_point is None:
        return None
    return (now - task.latest_point).total_seconds()


def delay_threshold(task):
    """The delay over which a log backup alarms: its policy's threshold, or the default."""
    return task.policy.log_delay_threshold_seconds if task.policy else DEFAULT_LOG_DELAY_THRESHOLD


def log_delay(task, now):
    """A log backup's delay (now minus its latest archived point), readable,
    and whether it is over its policy's alert threshold; None before the
    first point.  A stopped backup lags by design and is never flagged."""
    seconds = delay_seconds(task, now)
    if seconds is None:
        return None
    threshold = delay_threshold(task)
    return {
        "text": readable_delay(seconds),
        "over": seconds > threshold and task.status != "stopped",
        "threshold": readable_delay(threshold),
    }


def duration_text(value):
    """A timedelta as '3 min 5 s'."""
    if value is None:
        return "—"
    return readable_delay(value.total_seconds())


def estimated_finish(task, now):
    """When an in-progress data backup should end, at the pace it has kept:
    its last reported progress took ``updated_at - started_at``, so the whole
    takes that × 100 / progress.  None before the first report (nothing to go
    by) or once it is no longer running; never earlier than ``now``."""
    if task.status != "in_progress" or not task.progress:
        return None
    measured = ((task.updated_at or now) - task.started_at).total_seconds()
    if measured <= 0:
        return None
    return max(now, task.started_at + timedelta(seconds=measured * 100 / task.progress))
