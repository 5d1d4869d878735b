"""The cleanup preview: what the next cleanup of a policy (or of each active
policy of a cluster) will delete, and how each tenant's earliest recoverable
moment moves, before it happens.

Nothing here decides what a cleanup deletes.  The sets are
``retention.doomed_sets`` — the very function the cleanup calls — at the
moment the next cleanup deletes: a cleanup already waiting or running ends
then, with its own recovery window; otherwise it is the one
``simulation.schedule_cleanups`` starts next, a ``cleanup_every()`` after the
last.  The intervals after it come from the recovery rule
(``intervals.compute``, which feeds engine/recovery.py) over the sets that
would remain, and those of now from the same call leaving nothing out, so the
two sides are read alike.

Its cost does not grow with the history: the cleanups (one query), the sets
(one, two for the running restores, one for their sizes), the tenants (one)
and the cluster's available sets and rounds twice (four each).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from clusters.models import Tenant

from ..choices import CleanupStatus, DataBackupStatus, PolicyState
from ..models import BackupPolicy, BackupSet, CleanupTask
from . import intervals, retention, simulation
from .recovery import union


@dataclass(frozen=True)
class DoomedSet:
    """A backup set the next cleanup deletes."""

    pk: int
    number: int
    tenant: str | None  # None: a cluster-level set
    method: str
    created_at: datetime
    last_backup: datetime | None
    backups: int
    size_bytes: int


@dataclass(frozen=True)
class Shrink:
    """A tenant's earliest recoverable moment now and after the cleanup (None: none)."""

    tenant_id: int
    tenant: str
    earliest_now: datetime | None
    earliest_after: datetime | None

    @property
    def changed(self):
        return self.earliest_now != self.earliest_after


@dataclass(frozen=True)
class Preview:
    # When the next cleanup deletes (the latest of the policies'), or None:
    # no cleanup is coming (every policy paused, none waiting).
    at: datetime | None
    sets: list = field(default_factory=list)
    tenants: list = field(default_factory=list)
    # Sets past the window it keeps because a running restore reads them.
    spared: int = 0

    @property
    def total_bytes(self):
        return sum(s.size_bytes for s in self.sets)

    @property
    def set_ids(self):
        return [s.pk for s in self.sets]


def next_cleanups(policies, now):
    """[retention.Due]: the next cleanup of each policy, one query.  A policy
    paused with no cleanup waiting or running has none."""
    policies = list(policies)
    if not policies:
        return []
    newest = CleanupTask.objects.filter(policy=OuterRef("pk")).order_by("-started_at", "-pk").values("pk")[:1]
    ids = BackupPolicy.objects.filter(pk__in=[p.pk for p in policies]).values(newest=Subquery(newest))
    last = {c.policy_id: c for c in CleanupTask.objects.filter(pk__in=ids)}
    run_for = simulation.wall(simulation.CLEANUP_WAIT_SECONDS + simulation.CLEANUP_RUN_SECONDS)
    dues = []
    for policy in policies:
        cleanup = last.get(policy.pk)
        if cleanup is not None and cleanup.status in (CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING):
            ends_at = simulation.cleanup_times(cleanup)[1]
            dues.append(retention.Due.of(policy, max(now, ends_at), cleanup.retention_days))
        elif policy.state == PolicyState.ACTIVE:
            starts = now if cleanup is None else max(now, cleanup.started_at + simulation.cleanup_every())
            dues.append(retention.Due.of(policy, starts + run_for))
    return dues


def _earliest(found):
    """{tenant id: earliest recoverable moment} of ``intervals.compute``'s answer."""
    return {tenant: min((iv.start for iv in union(pieces)), default=None) for tenant, pieces in found.items()}


def preview(cluster_id, policies, now=None):
    """The Preview of the next cleanup of ``policies`` (all of one cluster)."""
    now = now or timezone.now()
    dues = next_cleanups(policies, now)
    if not dues:
        return Preview(None)
    found, spared = retention.selection(dues)
    doomed = sorted({pk for pks in found.values() for pk in pks})
    sets = []
    if doomed:
        completed = Q(data_tasks__status=DataBackupStatus.COMPLETED)
        rows = (
            BackupSet.objects.filter(pk__in=doomed)
            .select_related("tenant")
            .annotate(
                size=Sum("data_tasks__size_bytes", filter=completed),
                backups=Count("data_tasks", filter=completed),
                last_backup=Max("data_tasks__ended_at", filter=completed),
            )
            .order_by("created_at", "number")
        )
        sets = [
            DoomedSet(s.pk, s.number, s.tenant.name if s.tenant else None, s.get_backup_method_display(), s.created_at,
                      s.last_backup, s.backups, s.size or 0)
            for s in rows
        ]
    whole_cluster = any(d.tenant_id is None for d in dues)
    scoped = {d.tenant_id for d in dues}
    tenants = [t for t in Tenant.objects.filter(cluster_id=cluster_id).order_by("name") if whole_cluster or t.pk in scoped]
    tenant_ids = [t.pk for t in tenants]
    inputs = intervals.sets_and_rounds(cluster_id)  # read once: before, and after without the doomed sets
    before = _earliest(intervals.compute_from(inputs, tenant_ids))
    after = _earliest(intervals.compute_from(intervals.without_sets(inputs, doomed), tenant_ids)) if doomed else before
    shrinks = [Shrink(t.pk, t.name, before.get(t.pk), after.get(t.pk)) for t in tenants]
    return Preview(max(d.moment for d in dues), sets, shrinks, len(spared))


def for_policy(policy, now=None):
    return preview(policy.cluster_id, [policy], now)


def for_cluster(cluster, now=None):
    """The next cleanup of each active policy of the cluster (and of a paused
    one whose cleanup is already waiting or running)."""
    waiting = CleanupTask.objects.filter(cluster=cluster, status__in=[CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING])
    policies = BackupPolicy.objects.filter(cluster=cluster).filter(Q(state=PolicyState.ACTIVE) | Q(pk__in=waiting.values("policy_id")))
    return preview(cluster.pk, policies, now)
