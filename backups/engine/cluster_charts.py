"""The cluster page's charts: its data backups run by run, its log backup
delay over time, and what each of its destinations holds, with a forecast of
when a destination fills.  A constant number of queries, each bounded by the
window (30 or 90 days) rather than by the history:

- Runs: the cluster's completed data backups that started in the window, on
  its (cluster, start time) list index.
- Log delay: the cluster's hourly samples (engine/samples.py explains why a
  sampled series and not the task rows), on their (cluster, hour) key.
- Storage: what a destination holds is the size of the backups on it whose
  set cleanup has not deleted: a completed data backup lands on its policy's
  destination, a completed secondary copy on its own, and cleanup deleting
  a set takes them off.  The engine keeps that per destination and day
  (``StorageRollup``, engine/rollups.py) in the transactions of those moves,
  so the chart reads a row per destination and day (the sum before the
  window in the same query), not every backup the fleet keeps there.  Every
  cluster's backups on a destination count: the capacity is the
  destination's.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from ..choices import DataBackupStatus
from ..models import DataBackupTask, LogDelaySample
from . import rollups
from .rollups import day_of

WINDOWS = (30, 90)  # the choice of days the page offers
HORIZON_DAYS = 365  # a destination filling later than this is "not within"


@dataclass
class Run:
    pk: int
    started_at: object
    mode: str
    seconds: int
    size_bytes: int


def data_runs(cluster_id, since):
    """Completed data backups of the cluster started at or after ``since``, oldest first."""
    rows = (DataBackupTask.objects.filter(cluster_id=cluster_id, started_at__gte=since, status=DataBackupStatus.COMPLETED)
            .order_by("started_at", "id").values_list("id", "started_at", "ended_at", "mode", "size_bytes"))
    return [Run(pk, started, mode, int((ended - started).total_seconds()), size)
            for pk, started, ended, mode, size in rows]


def log_delays(cluster_id, since):
    """(hour, largest delay in seconds) of the cluster's log backup from ``since`` on, oldest first."""
    return list(LogDelaySample.objects.filter(cluster_id=cluster_id, hour__gte=since)
                .order_by("hour").values_list("hour", "delay_seconds"))


def local_midnight(day):
    """A day's first moment in the console's time zone (the rollups' days)."""
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_default_timezone())


def days_of(last, count):
    """The ``count`` days ending with ``last``, oldest first."""
    return [last - timedelta(days=n) for n in range(count - 1, -1, -1)]


def storage_used(destination_ids, days):
    """{destination id: [bytes held at the end of each of ``days``]}: a backup
    counts from the day it ended until the day before cleanup deleted its
    set, read from the storage rollups (engine/rollups.py)."""
    return rollups.storage_used(destination_ids, days)


# --- The forecast ----------------------------------------------------------------------

FULL, FILLS, NOT_WITHIN, NO_GROWTH, NO_CAPACITY, NO_DATA = "full", "fills", "not_within", "no_growth", "no_capacity", "no_data"


@dataclass
class Forecast:
    state: str  # one of the names above
    slope: float = 0.0  # bytes per day, the least-squares trend
    days: int | None = None  # FILLS: days from the last day until full
    on: date | None = None  # FILLS: the day it fills


def least_squares(values):
    """(intercept, slope) of the line fitted to ``values`` at x = 0, 1, …"""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    if not spread:
        return float(values[0]), 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread
    return mean_y - slope * mean_x, slope


def forecast(values, capacity, last_day, horizon=HORIZON_DAYS):
    """When a destination holding ``values`` (bytes, one per day up to
    ``last_day``) reaches ``capacity``: the day its least-squares trend
    crosses it, unless it is full already, does not grow, or would fill
    beyond ``horizon`` days.  The trend starts on the first day it held
    anything: the empty days before a destination came into use say
    nothing of how fast it fills."""
    if not capacity:
        return Forecast(NO_CAPACITY)
    if not values or not any(values):
        return Forecast(NO_DATA)
    values = values[next(n for n, value in enumerate(values) if value):]
    if values[-1] >= capacity:
        return Forecast(FULL)
    intercept, slope = least_squares(values)
    if slope <= 0:
        return Forecast(NO_GROWTH, slope)
    # Where the trend meets the capacity, counted from the last day (the trend
    # may already be over it while the last day is not: then tomorrow).
    days = max(1, math.ceil((capacity - intercept) / slope - (len(values) - 1)))
    if days > horizon:
        return Forecast(NOT_WITHIN, slope, days)
    return Forecast(FILLS, slope, days, last_day + timedelta(days=days))


@dataclass
class DestinationUse:
    destination: object
    used: list  # bytes at the end of each day
    forecast: Forecast


@dataclass
class ClusterCharts:
    days: int  # the window: 30 or 90
    since: object  # its first moment (local midnight)
    day_list: list  # its days, oldest first
    runs: list  # Run
    delays: list  # (hour, seconds)
    storage: list  # DestinationUse


def cluster_charts(cluster_id, destinations, days, now=None):
    """The charts of one cluster over its last ``days`` days (today included);
    ``destinations``: the storage destinations its policies use."""
    now = now or timezone.now()
    day_list = days_of(day_of(now), days)
    since = local_midnight(day_list[0])
    storage = []
    if destinations:
        used = storage_used([d.pk for d in destinations], day_list)
        storage = [DestinationUse(d, used[d.pk], forecast(used[d.pk], d.capacity_bytes, day_list[-1])) for d in destinations]
    return ClusterCharts(days, since, day_list, data_runs(cluster_id, since), log_delays(cluster_id, since), storage)
