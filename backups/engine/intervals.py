"""Keeping every tenant's recoverable intervals (RecoverableInterval) true.

The rule is backups/engine/recovery.py's; this module feeds it one cluster's
backup sets and log archive rounds, per destination (the primary, and each
secondary destination with the copies of the sets and the secondary log
copies' rounds there), and stores its answer for each tenant (a
cluster-level backup or round covers every tenant of the cluster).  It runs
in the transaction of each change that can move an interval: a data backup
or its secondary copy completing, a cleanup expiring sets, a log archive
round or a secondary log copy closing or starting again
(``transitions.transition`` calls ``refresh``).  A round that advances does
not: an interval carried by a live round stores no end and ends at the
round's checkpoint, read with it.  Stored intervals are one destination's
each; a tenant's recoverable intervals are their union, taken when read
(``by_tenant``), since live ends move.

What it reads is bounded by what is still available — the unexpired sets
and the rounds that reach them — never the history.  Two refreshes of one
cluster queue on the cluster's row lock, so the second reads what the first
wrote and the intervals are never written from a stale read.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from clusters.models import Cluster, Tenant

from ..choices import BackupMethod, BackupMode, DataBackupStatus, PolicyState
from ..formats import DEFAULT_LOG_DELAY_THRESHOLD
from ..models import BackupPolicy, BackupSet, DataBackupTask, LogBackupTask, RecoverableInterval, SecondaryDataBackupTask, SecondaryLogBackupTask
from ..timerange import effective_end
from .recovery import ArchiveRound, BackupSetPoint, Interval, answer, recoverable_intervals, union

# A live round's checkpoint for the rule: it will archive past any set it
# covers from its start, so the interval it carries ends "at its checkpoint",
# whatever that is when someone reads it.
LIVE = datetime.max.replace(tzinfo=UTC)

# The moves after which a cluster's intervals are rewritten, by task kind.
# A round that starts again (stopped → starting: the same row, which drains
# its backlog) carries its intervals live again.
REFRESH_AFTER = {
    "data": {DataBackupStatus.COMPLETED},
    "log": {"stopped", "failed", "starting"},
    "cleanup": {"completed"},
    "secondary_data": {DataBackupStatus.COMPLETED},
    "secondary_log": {"stopped", "failed", "starting"},
}


def needs_refresh(kind, to):
    return to in REFRESH_AFTER.get(kind, ())


def sets_and_rounds(cluster_id):
    """The cluster's usable inputs: completed backups of unexpired sets, their
    completed secondary copies, and the (secondary log) rounds that reach them
    (``without_sets`` leaves out what a cleanup would delete)."""
    live_sets = BackupSet.objects.filter(cluster_id=cluster_id, expired_at__isnull=True)  # backupset_cluster_expiry
    tasks = list(
        DataBackupTask.objects.filter(backup_set__in=live_sets, status=DataBackupStatus.COMPLETED)
        .order_by("started_at", "id")
        .values("id", "tenant_id", "backup_set_id", "mode", "backup_method", "started_at", "ended_at")
    )
    if not tasks:
        return [], [], [], []
    oldest = tasks[0]["started_at"]
    rounds = list(
        LogBackupTask.objects.alias(end=effective_end())  # logbk_cluster_end
        .filter(cluster_id=cluster_id, end__gte=oldest)
        .exclude(latest_point__isnull=True, ended_at__isnull=False)  # closed before archiving anything
        .values("id", "tenant_id", "status", "started_at", "latest_point")
    )
    copies = list(
        SecondaryDataBackupTask.objects.filter(backup_set__in=live_sets, status=DataBackupStatus.COMPLETED)
        .values("source_id", "destination_id")
    )
    secondary_rounds = list(
        SecondaryLogBackupTask.objects.alias(end=effective_end())  # seclog_cluster_end
        .filter(cluster_id=cluster_id, end__gte=oldest)
        .exclude(latest_point__isnull=True, ended_at__isnull=False)
        .values("id", "destination_id", "status", "started_at", "latest_point", tenant_id=F("source__tenant_id"))
    )
    return tasks, rounds, copies, secondary_rounds


def _points(tasks, copied=None):
    """(tenant, BackupSetPoint)s: each incremental builds on the backup before
    it in its set.  With ``copied`` (the backups copied to one secondary
    destination), the copies there: a copy builds on the copy of what its
    backup builds on, and a backup not copied there breaks the chain."""
    last_in_set, points = {}, []
    for t in tasks:
        if t["mode"] == BackupMode.FULL:
            parent = None
        else:
            parent = last_in_set.get(t["backup_set_id"], -1)  # -1: its full set is gone
        last_in_set[t["backup_set_id"]] = t["id"]
        if copied is not None and t["id"] not in copied:
            continue  # not on this destination: what builds on it finds no parent here
        points.append(
            (
                t["tenant_id"],
                BackupSetPoint(
                    t["id"], parent, t["started_at"], t["ended_at"], logical=t["backup_method"] == BackupMethod.LOGICAL
                ),
            )
        )
    return points


def compute(cluster_id, tenant_ids):
    """{tenant id: [recovery.Interval]} from the cluster's current sets and
    rounds: each destination's intervals (tagged with it), not their union."""
    return compute_from(sets_and_rounds(cluster_id), tenant_ids)


def without_sets(inputs, set_ids):
    """``sets_and_rounds``' answer as if the sets ``set_ids`` were gone: what
    ``sets_and_rounds`` would read once they are deleted, from the rows already
    read (the cleanup preview, engine/cleanup_preview.py, computes before and
    after from one read).  The rounds stay: one that ends before the first
    set left joins none."""
    tasks, rounds, copies, secondary_rounds = inputs
    gone = set(set_ids)
    kept = [t for t in tasks if t["backup_set_id"] not in gone]
    if not kept:
        return [], [], [], []
    kept_ids = {t["id"] for t in kept}
    return kept, rounds, [c for c in copies if c["source_id"] in kept_ids], secondary_rounds


def compute_from(inputs, tenant_ids):
    """``compute`` from ``sets_and_rounds``' answer."""
    tasks, rounds, copies, secondary_rounds = inputs
    copied = {}
    for c in copies:
        copied.setdefault(c["destination_id"], set()).add(c["source_id"])
    sources = [(None, _points(tasks), rounds)]
    for destination in sorted(copied):
        mine = [r for r in secondary_rounds if r["destination_id"] == destination]
        sources.append((destination, _points(tasks, copied[destination]), mine))
    result = {tenant: [] for tenant in tenant_ids}
    for destination, points, archive_rows in sources:
        # Each round once, then each tenant's share of them (a round of the
        # whole cluster is every tenant's).
        archive = [(r["tenant_id"], ArchiveRound(r["id"], r["started_at"],
                                                 LIVE if r["status"] in LogBackupTask.ALIVE else r["latest_point"]))
                   for r in archive_rows]
        for tenant in tenant_ids:
            sets = [p for owner, p in points if owner in (None, tenant)]
            result[tenant] += recoverable_intervals(sets, [a for owner, a in archive if owner in (None, tenant)], destination)
    return result


def refresh(cluster_id):
    """Rewrite the stored intervals of every tenant of a cluster (in the caller's transaction)."""
    with transaction.atomic():
        Cluster.objects.select_for_update().filter(pk=cluster_id).values_list("pk", flat=True).first()
        tenant_ids = list(Tenant.objects.filter(cluster_id=cluster_id).values_list("pk", flat=True))
        rows = []
        for tenant, intervals in compute(cluster_id, tenant_ids).items():
            newest_closed = {}  # destination -> the newest end of its closed intervals
            for iv in intervals:
                if iv.end != LIVE:
                    newest_closed[iv.destination] = max(iv.end, newest_closed.get(iv.destination, iv.end))
            rows += [
                RecoverableInterval(
                    cluster_id=cluster_id,
                    tenant_id=tenant,
                    start=iv.start,
                    end=None if iv.end == LIVE else iv.end,
                    destination_id=iv.destination,
                    round_id=iv.round_ids[-1] if iv.round_ids and iv.destination is None else None,
                    secondary_round_id=iv.round_ids[-1] if iv.round_ids and iv.destination is not None else None,
                    data_task_ids=list(iv.set_ids),
                    superseded=iv.end != LIVE and iv.end < newest_closed[iv.destination],
                )
                for iv in intervals
            ]
        RecoverableInterval.objects.filter(cluster_id=cluster_id).delete()
        RecoverableInterval.objects.bulk_create(rows)


def by_tenant(cluster_id=None, *, tenant_id=None):
    """{tenant id: [recovery.Interval]} now, oldest first, from the stored
    intervals of a cluster (or of one tenant): live ends read from their
    rounds, an interval whose round has not yet archived up to its start
    left out (its set is complete, its log not yet), and the destinations'
    intervals joined (recovery.union).  One query."""
    rows = RecoverableInterval.objects.order_by("start")
    rows = rows.filter(cluster_id=cluster_id) if tenant_id is None else rows.filter(tenant_id=tenant_id)
    pieces = {}
    # Plain values, not model instances: a cluster may keep hundreds of
    # intervals and the recovery page reads them all. The end of an open one
    # is its round's checkpoint (RecoverableInterval.effective_end).
    for tenant, start, end, round_id, secondary_id, checkpoint, secondary_checkpoint, task_ids, destination in rows.values_list(
        "tenant_id", "start", "end", "round_id", "secondary_round_id", "round__latest_point",
        "secondary_round__latest_point", "data_task_ids", "destination_id",
    ):
        if end is None:
            end = secondary_checkpoint if secondary_id else checkpoint if round_id else None
        if end is None or end < start:
            continue
        carrier = round_id or secondary_id
        pieces.setdefault(tenant, []).append(Interval(start, end, tuple(task_ids), (carrier,) if carrier else (), destination))
    return {tenant: union(found) for tenant, found in pieces.items()}


def newest_points(rows):
    """{tenant id: its newest recoverable moment} over ``rows`` (intervals):
    an interval's end, or its open round's live checkpoint once the round has
    archived up to its start (``by_tenant``'s rule). Only the intervals no
    newer closed one of their tenant and destination supersedes are read, a
    few per tenant. One query."""
    live_end = Coalesce(
        "end",
        Subquery(LogBackupTask.objects.filter(pk=OuterRef("round_id")).values("latest_point")[:1]),
        Subquery(SecondaryLogBackupTask.objects.filter(pk=OuterRef("secondary_round_id")).values("latest_point")[:1]),
    )
    return dict(rows.filter(superseded=False).order_by().annotate(live_end=live_end).filter(live_end__gte=F("start"))
                .values("tenant_id").annotate(newest=Max("live_end")).values_list("tenant_id", "newest"))


def current(tenant_id):
    """A tenant's recoverable intervals now, as recovery.Intervals (see ``by_tenant``)."""
    return by_tenant(tenant_id=tenant_id).get(tenant_id, [])


def can_restore(tenant_id, moment):
    """recovery.Answer for one tenant and moment, from the stored intervals."""
    return answer(current(tenant_id), moment)


def newest_point(tenant_id):
    """The newest moment the tenant can be restored to, or None (RPO = now − this)."""
    intervals = current(tenant_id)
    return max((iv.end for iv in intervals), default=None)


# --- RPO ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rpo:
    """A tenant's recovery point objective now: how much would be lost."""

    state: str  # "ok", "warning" or "breached"
    seconds: float | None  # None: nothing to restore to
    newest: datetime | None
    warning_after: int  # seconds: the policy's log-delay alert threshold
    breached_after: int  # seconds: RPO_BREACHED_MINUTES


def warning_thresholds(cluster_id):
    """{tenant id or None: seconds}: the log-delay threshold of the active
    policy of each tenant (None: the cluster-level policy's)."""
    policies = BackupPolicy.objects.filter(cluster_id=cluster_id, state=PolicyState.ACTIVE)
    return dict(policies.values_list("tenant_id", "log_delay_threshold_seconds"))


def judge(newest, warning_after, now=None):
    now = now or timezone.now()
    breached_after = settings.RPO_BREACHED_MINUTES * 60
    if newest is None:
        return Rpo("breached", None, None, warning_after, breached_after)
    seconds = max(0.0, (now - newest).total_seconds())
    state = "breached" if seconds > breached_after else "warning" if seconds > warning_after else "ok"
    return Rpo(state, seconds, newest, warning_after, breached_after)


def cluster_rpo(cluster_id, now=None, found=None):
    """{tenant id: Rpo} for every tenant of a cluster, in a constant number of
    queries; ``found`` is the cluster's ``by_tenant`` when the caller has read it."""
    thresholds = warning_thresholds(cluster_id)
    default = thresholds.get(None, DEFAULT_LOG_DELAY_THRESHOLD)
    found = by_tenant(cluster_id) if found is None else found
    newest = {tenant: max(iv.end for iv in intervals) for tenant, intervals in found.items()}
    tenants = Tenant.objects.filter(cluster_id=cluster_id).values_list("pk", flat=True)
    return {t: judge(newest.get(t), thresholds.get(t, default), now) for t in tenants}
