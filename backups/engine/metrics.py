"""The overview's core metrics (核心指标): is the fleet protected, and what needs
an operator — read in a constant number of queries, none of which scans the
task history.

- Aggregates over days (success rate, the daily charts) come from the daily
  rollups (models/rollups.py, kept by the state machine in the transaction of
  each move that ends a task).
- Everything else is current state, read through indexes: each cluster's
  newest finished data backup and newest success (one index probe per cluster
  on its end-time index), the policies, the recoverable intervals (kept per
  tenant), the live log backups, and the running tasks (the status indexes).

``core_metrics()`` gathers them; the page (views/lists.py) renders it.  Each
figure comes with the list that explains it, so its rows equal the figure:
a task list pre-filtered (``list_url``), or the rows carried here (clusters not
backed up, tenants by RPO state, lagging log backups) that the page lists.

Restore drills this week (本周恢复抽检成功任务) count the runs of the week the
success rate reads (its first local midnight on), by the drills list's own
time-range rule (a run belongs to the week when its life overlaps it), so the
list the figure links to (custom range from that midnight, by status) holds
exactly the runs counted: one query on the drill runs' start index.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models import Window as Over
from django.utils import timezone

from clusters.models import Cluster, Tenant

from ..choices import CleanupStatus, DataBackupStatus, DrillStatus, PolicyState, ScheduleKind, TaskKind
from ..formats import DEFAULT_LOG_DELAY_THRESHOLD, delay_seconds, delay_threshold
from ..models import BackupPolicy, CleanupTask, DailyRollup, DataBackupTask, LogBackupTask, RecoverableInterval, RestoreDrillRun, RestoreTask
from ..timerange import Window, effective_end
from .intervals import judge, newest_points
from .rollups import day_of

DAYS = 30  # the sparkline's and the charts' days
WEEK = 7  # the success rate's days
RECENT_FAILURES = timedelta(hours=24)

# Why a cluster counts as not backed up, most telling first.
NO_POLICY, PAUSED, LAST_FAILED, NO_SUCCESS = "no_policy", "paused", "last_failed", "no_success"
REASONS = (NO_POLICY, PAUSED, LAST_FAILED, NO_SUCCESS)


def cycle_days(policy):
    """How many days a policy's schedule may leave between two data backups,
    plus a day for the backup to run: the longest gap between two scheduled
    days (weekly over a week, monthly over 31 days), wrapping around."""
    days = sorted(int(day) for day in policy.schedule_days)
    if not days:
        return None
    period = 7 if policy.schedule_kind == ScheduleKind.WEEKLY else 31
    gaps = [b - a for a, b in zip(days, days[1:], strict=False)] + [days[0] + period - days[-1]]
    return max(gaps) + 1


@dataclass
class ClusterProtection:
    cluster: Cluster
    backed_up: bool
    reason: str | None = None  # one of REASONS when not backed up
    days: int | None = None  # the cycle, for NO_SUCCESS and LAST_FAILED
    last_success: datetime | None = None


@dataclass
class Protection:
    clusters: list  # ClusterProtection, every cluster
    backed_up: int = 0
    not_backed_up: list = field(default_factory=list)  # ClusterProtection, not backed up
    reasons: dict = field(default_factory=dict)  # reason: count


@dataclass
class SuccessRate:
    completed: int
    failed: int
    rate: float | None  # percent; None: nothing finished in the week
    since: datetime  # the week's first moment (local midnight)
    daily: list  # (date, completed, failed, bytes) for the last DAYS days, oldest first

    @property
    def finished(self):
        return self.completed + self.failed


@dataclass
class Drills:
    succeeded: int
    run: int  # every run of the week: running, succeeded or failed
    since: datetime  # the week's first moment, as SuccessRate.since


@dataclass
class TenantRpo:
    tenant_id: int
    tenant: str
    cluster_id: int
    cluster: str
    rpo: object  # intervals.Rpo


@dataclass
class Rpos:
    counts: dict  # state: tenants
    tenants: list  # TenantRpo, every tenant, worst first
    worst: TenantRpo | None

    def of(self, state):
        return [t for t in self.tenants if t.rpo.state == state]


@dataclass
class LogLag:
    task: LogBackupTask
    seconds: float
    threshold: int


@dataclass
class CoreMetrics:
    now: datetime
    protection: Protection
    success: SuccessRate
    failed_recent: int  # failed data backups that ended in the last 24 hours
    rpo: Rpos
    lagging: list  # LogLag over their threshold, worst first
    running: dict  # kind: tasks running
    longest: dict  # kind: the task running longest (None when none runs)
    drills: Drills


def core_metrics(now=None):
    now = now or timezone.now()
    policies = list(BackupPolicy.objects.order_by("pk").values(
        "cluster_id", "tenant_id", "state", "schedule_kind", "schedule_days", "log_delay_threshold_seconds"))
    success = success_rate(now)
    return CoreMetrics(
        now=now,
        protection=protection(policies, now),
        success=success,
        failed_recent=failed_since(now - RECENT_FAILURES),
        rpo=rpos(policies, now),
        lagging=lagging_logs(now),
        **running(),
        drills=drills_since(success.since),
    )


# --- Clusters backed up or not ---------------------------------------------------------


def _newest(**filters):
    """The newest finished data backup of the outer cluster (one probe of its end-time index)."""
    tasks = DataBackupTask.objects.filter(cluster=OuterRef("pk"), **filters).alias(effective_end=effective_end())
    return tasks.exclude(status=DataBackupStatus.IN_PROGRESS).order_by("-effective_end", "-id")


class _Policy:
    def __init__(self, row):
        self.schedule_kind, self.schedule_days = row["schedule_kind"], row["schedule_days"]


def protection(policies, now):
    """Each cluster backed up or not, and why not: one query (with the policies read once)."""
    by_cluster = {}
    for row in policies:
        by_cluster.setdefault(row["cluster_id"], []).append(row)
    clusters = Cluster.objects.order_by("name").annotate(
        last_status=Subquery(_newest().values("status")[:1]),
        last_success=Subquery(_newest(status=DataBackupStatus.COMPLETED).values("ended_at")[:1]),
    )
    out = Protection(clusters=[])
    for cluster in clusters:
        rows = by_cluster.get(cluster.pk, [])
        active = [row for row in rows if row["state"] == PolicyState.ACTIVE]
        cycles = [days for days in (cycle_days(_Policy(row)) for row in active) if days]
        days = max(cycles) if cycles else None
        item = ClusterProtection(cluster, False, days=days, last_success=cluster.last_success)
        if not rows:
            item.reason = NO_POLICY
        elif not active:
            item.reason = PAUSED
        elif days and cluster.last_success and cluster.last_success >= now - timedelta(days=days):
            item.backed_up = True
        elif cluster.last_status == DataBackupStatus.FAILED:
            item.reason = LAST_FAILED
        else:
            item.reason = NO_SUCCESS
        out.clusters.append(item)
        if item.backed_up:
            out.backed_up += 1
        else:
            out.not_backed_up.append(item)
            out.reasons[item.reason] = out.reasons.get(item.reason, 0) + 1
    return out


# --- Data-backup success rate (rollups) --------------------------------------------------


def local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_default_timezone())


def success_rate(now):
    """This week's data-backup success rate (today and the six days before,
    in the console's time zone) and the last DAYS days, day by day: one query
    of the rollups."""
    today = day_of(now)
    first = today - timedelta(days=DAYS - 1)
    rows = (DailyRollup.objects.filter(kind=TaskKind.DATA, day__gte=first, day__lte=today)
            .values("day", "outcome").annotate(n=Sum("count"), written=Sum("bytes_written")).order_by())
    per_day = {first + timedelta(days=n): [0, 0, 0] for n in range(DAYS)}
    for row in rows:
        counts = per_day[row["day"]]
        counts[0 if row["outcome"] == DataBackupStatus.COMPLETED else 1] += row["n"]
        counts[2] += row["written"]
    daily = [(day, *counts) for day, counts in per_day.items()]
    week = daily[-WEEK:]
    completed, failed = sum(d[1] for d in week), sum(d[2] for d in week)
    rate = 100.0 * completed / (completed + failed) if completed + failed else None
    return SuccessRate(completed, failed, rate, local_midnight(week[0][0]), daily)


def failed_since(moment):
    """Failed data backups that ended at or after ``moment`` (the status's end-time index)."""
    return (DataBackupTask.objects.alias(effective_end=effective_end())
            .filter(status=DataBackupStatus.FAILED, effective_end__gte=moment).count())


# --- Restore drills ------------------------------------------------------------------------


def drills_since(since):
    """Restore drills run from ``since`` on and those of them that succeeded:
    one query, the runs chosen by the drills list's window rule."""
    counts = RestoreDrillRun.objects.filter(Window(since, None).q()).aggregate(
        run=Count("pk"), succeeded=Count("pk", filter=Q(status=DrillStatus.SUCCEEDED)))
    return Drills(counts["succeeded"], counts["run"], since)


# --- RPO ------------------------------------------------------------------------------------


def rpos(policies, now):
    """Every tenant's RPO (intervals.judge, as the recovery page judges it):
    tenants, their intervals and the policies' thresholds, read once for the fleet."""
    thresholds = {}
    for row in policies:
        if row["state"] == PolicyState.ACTIVE:
            thresholds.setdefault(row["cluster_id"], {})[row["tenant_id"]] = row["log_delay_threshold_seconds"]
    newest = newest_points(RecoverableInterval.objects.all())
    counts = {"ok": 0, "warning": 0, "breached": 0}
    judged = []
    # A restore drill's scratch tenant is the drill's, not the fleet's: it has
    # no backups by design and lives only until the drill sweep removes it.
    scratch = RestoreDrillRun.objects.filter(scratch_tenant__isnull=False).values("scratch_tenant")
    for tenant in Tenant.objects.exclude(pk__in=scratch).select_related("cluster").order_by("cluster__name", "name"):
        own = thresholds.get(tenant.cluster_id, {})
        rpo = judge(newest.get(tenant.pk), own.get(tenant.pk, own.get(None, DEFAULT_LOG_DELAY_THRESHOLD)), now)
        counts[rpo.state] += 1
        judged.append(TenantRpo(tenant.pk, tenant.name, tenant.cluster_id, tenant.cluster.name, rpo))
    # Worst first: nothing to restore to, then the longest RPO.
    judged.sort(key=lambda t: (t.rpo.seconds is not None, -(t.rpo.seconds or 0)))
    return Rpos(counts, judged, judged[0] if judged else None)


# The RPO distribution's upper bounds in seconds (the last bucket is open).
RPO_BUCKETS = (60, 300, 900, 3600)


def rpo_distribution(rpo):
    """Tenants per RPO bucket: one count per bound of RPO_BUCKETS (at most
    that many seconds), then over the last bound, then nothing to restore to."""
    counts = [0] * (len(RPO_BUCKETS) + 2)
    for tenant in rpo.tenants:
        seconds = tenant.rpo.seconds
        if seconds is None:
            counts[-1] += 1
        else:
            counts[next((n for n, bound in enumerate(RPO_BUCKETS) if seconds <= bound), len(RPO_BUCKETS))] += 1
    return counts


# --- Log backups over their delay threshold ---------------------------------------------------


def lagging_logs(now):
    """Live log backups whose delay (now − latest backup time point) is over
    their policy's log-delay threshold, worst first (formats.log_delay's rule)."""
    live = (LogBackupTask.objects.filter(status__in=LogBackupTask.ALIVE, latest_point__isnull=False)
            .select_related("cluster", "policy"))
    out = []
    for task in live:
        threshold, seconds = delay_threshold(task), delay_seconds(task, now)
        if seconds > threshold:
            out.append(LogLag(task, seconds, threshold))
    out.sort(key=lambda lag: -lag.seconds)
    return out


# --- Running work -------------------------------------------------------------------------------


def _longest(tasks):
    """How many of ``tasks`` there are and the one started first, in one
    query (the count as a window over the rows the status index gives)."""
    first = list(tasks.select_related("cluster").annotate(running=Over(Count("pk"))).order_by("started_at", "pk")[:1])
    return (first[0].running, first[0]) if first else (0, None)


def running():
    """Data backups, restores and cleanups running now, and the longest
    running of each (its progress and estimated finish on the page): one
    query per kind, on its status index."""
    found = {
        "data": _longest(DataBackupTask.objects.filter(status=DataBackupStatus.IN_PROGRESS)),
        "restore": _longest(RestoreTask.objects.filter(status=DataBackupStatus.IN_PROGRESS)),
        "cleanup": _longest(CleanupTask.objects.filter(status=CleanupStatus.RUNNING)),
    }
    return {"running": {kind: n for kind, (n, _task) in found.items()},
            "longest": {kind: task for kind, (_n, task) in found.items()}}
