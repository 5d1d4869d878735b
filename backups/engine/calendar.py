"""The schedule ahead (issue 13): what beat will start in the next days, across
the fleet, computed by beat's own rule.

Data backups and restore drills: each policy's PeriodicTask crontab (with its
time zone) stepped by celery's ``remaining_estimate`` (``schedules.fire_times``);
a data backup's mode is the one ``services.todays_mode`` picks when it fires.
Paused policies keep their would-be runs, marked paused (beat's entry is
disabled).  Cleanups: ``simulation.schedule_cleanups`` (every minute) starts one
per active policy a ``cleanup_every()`` after the last one.

A conflict: two or more data backups writing to one storage destination in the
same hour (local time), flagged on each of them."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from clusters.models import Cluster

from ..choices import BackupMethod, BackupMode, PolicyState
from ..models import BackupPolicy, CleanupTask, RestoreDrillPolicy
from . import schedules, services, simulation

DAYS = 7
FULL, INCREMENTAL, CLEANUP, DRILL = "full", "incremental", "cleanup", "drill"
KINDS = (FULL, INCREMENTAL, CLEANUP, DRILL)
DATA_KINDS = (FULL, INCREMENTAL)


@dataclass
class Entry:
    at: datetime
    kind: str
    policy: object  # a BackupPolicy or a RestoreDrillPolicy
    clusters: list  # the clusters it concerns (a drill: those it covers)
    paused: bool = False
    count: int = 1  # cleanups more often than daily: how many that day
    every: timedelta | None = None  # and how far apart
    conflicts: list = field(default_factory=list)  # the other data backups on its destination in its hour

    @property
    def every_minutes(self):
        return round(self.every.total_seconds() / 60) if self.every else None

    @property
    def is_drill(self):
        return self.kind == DRILL

    @property
    def destination(self):
        return None if self.is_drill or self.kind == CLEANUP else self.policy.destination


def policies():
    """The backup policies with what the calendar shows of them: one query."""
    return list(
        BackupPolicy.objects.select_related("cluster", "tenant", "destination", "periodic_task__crontab")
        .annotate(last_cleanup=Subquery(
            CleanupTask.objects.filter(policy=OuterRef("pk")).order_by("-started_at").values("started_at")[:1]))
        .order_by("cluster__name", "pk")
    )


def drill_policies():
    """The drill policies and the clusters each covers: three queries."""
    drills = list(RestoreDrillPolicy.objects.select_related("periodic_task__crontab").prefetch_related("clusters"))
    fleet = list(Cluster.objects.order_by("name")) if any(policy.all_clusters for policy in drills) else []
    for policy in drills:
        policy.covered = fleet if policy.all_clusters else sorted(policy.clusters.all(), key=lambda c: c.name)
    return drills


def data_backups(policy, start, end):
    """The data backups beat starts for ``policy`` in (start, end]."""
    schedule = schedules.beat_schedule(policy.periodic_task, schedules.crontab_fields(policy))
    paused = policy.state != PolicyState.ACTIVE
    entries = []
    for moment in schedules.fire_times(schedule, start, end):
        mode = services.todays_mode(policy, moment)
        if mode is None:
            continue
        if policy.backup_method == BackupMethod.LOGICAL:
            mode = BackupMode.FULL  # as run_scheduled_backup does
        entries.append(Entry(moment, str(mode), policy, [policy.cluster], paused=paused))
    return entries


def cleanups(policy, start, end):
    """The cleanups ``schedule_cleanups`` starts for an active ``policy`` in (start, end],
    one entry per local day (the first, with how many) when they come more often."""
    if policy.state != PolicyState.ACTIVE:
        return []
    every = simulation.cleanup_every()
    moment = start if policy.last_cleanup is None else max(start, policy.last_cleanup + every)
    by_day = {}
    while moment <= end:
        day = timezone.localdate(moment)
        if day in by_day:
            by_day[day].count += 1
        else:
            by_day[day] = Entry(moment, CLEANUP, policy, [policy.cluster], every=every)
        moment += every
    return list(by_day.values())


def drills(policy, start, end):
    schedule = schedules.beat_schedule(policy.periodic_task, schedules.drill_crontab_fields(policy))
    return [Entry(moment, DRILL, policy, policy.covered, paused=not policy.enabled)
            for moment in schedules.fire_times(schedule, start, end)]


def flag_conflicts(entries):
    """Mark data backups that share a storage destination and an hour."""
    groups = defaultdict(list)
    for entry in entries:
        if entry.kind in DATA_KINDS and not entry.paused:
            hour = timezone.localtime(entry.at).replace(minute=0, second=0, microsecond=0)
            groups[entry.policy.destination_id, hour].append(entry)
    for group in groups.values():
        if len(group) > 1:
            for entry in group:
                entry.conflicts = [other for other in group if other is not entry]


def window_end(start, days=DAYS):
    """The end of the ``days`` local days that begin with ``start``'s (today and six more)."""
    first = timezone.localdate(start)
    return timezone.make_aware(datetime.combine(first + timedelta(days=days), datetime.min.time())) - timedelta(microseconds=1)


def entries(start=None, days=DAYS, cluster=None, kind=None):
    """Every scheduled run from ``start`` to the end of its ``days`` local days, in
    time order.  Conflicts are found over the whole fleet before the filters apply."""
    start = start or timezone.now()
    end = window_end(start, days)
    found = []
    for policy in policies():
        found += data_backups(policy, start, end)
        found += cleanups(policy, start, end)
    for policy in drill_policies():
        found += drills(policy, start, end)
    flag_conflicts(found)
    if cluster is not None:
        found = [entry for entry in found if any(c.pk == cluster.pk for c in entry.clusters)]
    if kind:
        found = [entry for entry in found if entry.kind == kind]
    return sorted(found, key=lambda entry: (entry.at, KINDS.index(entry.kind), entry.policy.pk))


def by_day(found, start=None, days=DAYS):
    """[(date, [(hour, [entries])])] for each of the ``days`` local days from ``start``'s."""
    first = timezone.localdate(start or timezone.now())
    grouped = defaultdict(lambda: defaultdict(list))
    for entry in found:
        local = timezone.localtime(entry.at)
        grouped[local.date()][local.hour].append(entry)
    return [(day, sorted(grouped[day].items())) for day in (first + timedelta(days=n) for n in range(days))]
