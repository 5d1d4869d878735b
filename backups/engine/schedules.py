"""Beat's entries for the policies (SIM-1): each active policy has one
django-celery-beat PeriodicTask that fires on its schedule days at its time
of day; DatabaseScheduler reads them, so editing a policy changes what runs
with no restart.  Restore drill policies get theirs the same way."""

import json

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from ..choices import PolicyState, ScheduleKind
from ..models import BackupPolicy, RestoreDrillPolicy
from . import dispatch


def crontab_fields(policy):
    """The crontab that fires on the policy's schedule days at its time of day."""
    days = sorted(int(day) for day in policy.schedule_days)
    fields = {
        "minute": str(policy.run_at.minute),
        "hour": str(policy.run_at.hour),
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }
    if policy.schedule_kind == ScheduleKind.WEEKLY:
        # Ours: Monday=1..Sunday=7; cron's: Sunday=0..Saturday=6.
        fields["day_of_week"] = ",".join(str(day) for day in sorted(day % 7 for day in days)) or "*"
    else:
        fields["day_of_month"] = ",".join(str(day) for day in days) or "*"
    return fields


def _sync_entry(policy, fields, name, task, enabled):
    """Make ``policy``'s beat entry fire ``task`` on ``fields`` (a crontab);
    ``save()``, not ``update()``: it tells DatabaseScheduler the schedule changed."""
    crontab, _created = CrontabSchedule.objects.get_or_create(**fields)
    entry = policy.periodic_task or PeriodicTask(name=name, task=task)
    entry.crontab = crontab
    entry.interval = None
    entry.args = json.dumps([policy.pk])
    entry.enabled = enabled
    entry.description = str(policy)
    entry.save()
    if policy.periodic_task_id != entry.pk:
        type(policy).objects.filter(pk=policy.pk).update(periodic_task=entry)
        policy.periodic_task = entry
    return entry


def _reconcile(model, enabled, sync):
    """Sync every ``model`` row changed outside the services (admin, seed data):
    no beat entry, an entry enabled when it should not be (``enabled``: the Q of
    rows that should fire), or one older than the row."""
    stale = model.objects.select_related("periodic_task").filter(
        Q(periodic_task__isnull=True)
        | (enabled & Q(periodic_task__enabled=False))
        | (~enabled & Q(periodic_task__enabled=True))
        | Q(updated_at__gt=F("periodic_task__date_changed"))
    )
    synced = []
    for policy in stale:
        with transaction.atomic():
            sync(policy)
        synced.append(policy.pk)
    return synced


def sync_periodic_task(policy):
    """Make beat's entry for ``policy`` match it; DatabaseScheduler notices at once."""
    return _sync_entry(policy, crontab_fields(policy), f"backup-policy-{policy.pk}", dispatch.RUN_SCHEDULED_BACKUP,
                       policy.state == PolicyState.ACTIVE)


def reconcile_periodic_tasks():
    """Give every policy changed outside these services (admin, seed data) its beat entry."""
    return _reconcile(BackupPolicy, Q(state=PolicyState.ACTIVE), sync_periodic_task)


# --- Restore drill policies ---------------------------------------------------------


def drill_crontab_fields(policy):
    """The crontab that fires on the drill policy's weekdays at its time of day."""
    days = sorted(int(day) % 7 for day in policy.schedule_days)  # ours: Monday=1..Sunday=7; cron's: Sunday=0
    return {
        "minute": str(policy.run_at.minute),
        "hour": str(policy.run_at.hour),
        "day_of_week": ",".join(str(day) for day in days) if days and len(days) < 7 else "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }


def sync_drill_task(policy):
    """Make beat's entry for drill policy ``policy`` match it."""
    return _sync_entry(policy, drill_crontab_fields(policy), f"restore-drill-policy-{policy.pk}",
                       dispatch.RUN_SCHEDULED_DRILL, policy.enabled)


def reconcile_drill_tasks():
    """Give every drill policy changed outside the services (admin, seed data) its beat entry."""
    return _reconcile(RestoreDrillPolicy, Q(enabled=True), sync_drill_task)


# --- The schedule ahead (the calendar) ------------------------------------------------


def beat_schedule(entry, fields=None):
    """The celery crontab beat evaluates for PeriodicTask ``entry`` (its CrontabSchedule
    with its time zone); ``fields`` builds the same from crontab fields for a policy
    that has no entry yet."""
    crontab = entry.crontab if entry is not None and entry.crontab_id else CrontabSchedule(**fields)
    return crontab.schedule


def fire_times(schedule, start, end):
    """Every time in (start, end] at which ``schedule`` fires, by beat's own rule:
    the crontab's ``remaining_estimate`` from the last run, with its clock set there."""
    times = []
    moment = start
    try:
        while True:
            schedule.nowfun = lambda moment=moment: moment.astimezone(schedule.tz)
            moment = moment + schedule.remaining_estimate(moment.astimezone(schedule.tz))
            if moment > end:
                return times
            times.append(moment)
    finally:
        schedule.nowfun = schedule.nowfunc
