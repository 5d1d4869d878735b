"""Which backup sets a cleanup deletes: the one rule, read by the cleanup that
deletes them (simulation._run_cleanup) and by the preview that shows them
before it happens (engine/cleanup_preview.py), so the two cannot disagree.

A set goes when it is past the policy's recovery window and nothing kept
needs it (shared/DOMAIN.md, "Cleanup"): not the window's anchor or anything
newer (``expirable``), and never a set a running restore reads.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce

from ..choices import BackupMode, DataBackupStatus
from ..models import BackupSet, DataBackupTask, RestoreTask
from . import rollups


@dataclass(frozen=True)
class Due:
    """A cleanup of one policy's sets (its cluster, or its tenant) with a
    recovery window of ``retention_days``, deleting at ``moment``."""

    policy_id: int
    cluster_id: int
    tenant_id: int | None
    retention_days: int
    moment: datetime

    @classmethod
    def of(cls, policy, moment, retention_days=None):
        days = policy.retention_days if retention_days is None else retention_days
        return cls(policy.pk, policy.cluster_id, policy.tenant_id, days, moment)

    @property
    def cutoff(self):
        return self.moment - timedelta(days=self.retention_days)


def _sets(dues):
    """The unexpired sets of every due's scope, newest first, with what the
    rule reads of each: its newest task's moment, whether one still runs, and
    when its first full backup completed.  One query for any number of dues."""
    scopes = reduce(or_, (Q(cluster_id=d.cluster_id, tenant_id=d.tenant_id) for d in dues))
    return (
        BackupSet.objects.filter(scopes, expired_at__isnull=True)  # backupset_cluster_expiry
        .annotate(
            newest=Max(Coalesce("data_tasks__ended_at", "data_tasks__started_at")),
            running=Count("data_tasks", filter=Q(data_tasks__status=DataBackupStatus.IN_PROGRESS)),
            full_done=Min(
                "data_tasks__ended_at",
                filter=Q(data_tasks__mode=BackupMode.FULL, data_tasks__status=DataBackupStatus.COMPLETED),
            ),
        )
        .order_by("-created_at", "-number")
        .values("pk", "cluster_id", "tenant_id", "newest", "running", "full_done")
    )


def expirable(dues):
    """{policy id: [set id]}: each due's sets past its recovery window that
    nothing kept depends on.

    Walking from the newest set back, the first set whose full backup
    completed before the window began is the anchor of the window: it and
    every newer set stay.  Older sets go, provided their newest task is also
    older than the window and none is still running.  An incremental lives in
    its full's set and sets go whole, so no kept incremental loses its full.
    """
    dues = list(dues)
    found = {d.policy_id: [] for d in dues}
    if not dues:
        return found
    rows = list(_sets(dues))
    for due in dues:
        anchor_seen = False
        for row in rows:
            if (row["cluster_id"], row["tenant_id"]) != (due.cluster_id, due.tenant_id):
                continue
            if anchor_seen and not row["running"] and (row["newest"] is None or row["newest"] < due.cutoff):
                found[due.policy_id].append(row["pk"])
            if row["full_done"] is not None and row["full_done"] <= due.cutoff:
                anchor_seen = True
    return found


def expirable_sets(policy, now):
    """``expirable`` for one policy at ``now``: [set id], newest first."""
    return expirable([Due.of(policy, now)])[policy.pk]


def sets_read_by_running_restores():
    """IDs of the backup sets that running restores read: cleanup keeps them."""
    task_ids = set()
    for used in RestoreTask.objects.filter(status=DataBackupStatus.IN_PROGRESS).values_list("data_task_ids", flat=True):
        task_ids.update(used)
    return set(DataBackupTask.objects.filter(pk__in=task_ids).values_list("backup_set_id", flat=True))


def selection(dues, *, lock=False):
    """({policy id: [set id]} a cleanup of each due deletes, {set id} it
    spares because a running restore reads them): its expirable sets but
    those a running restore reads.

    The cleanup passes ``lock``: it locks the sets before it looks for
    running restores, and a restore starting meanwhile locks the same rows
    before it counts on them (engine/restores.py), so one of the two waits
    for the other and sees what it did: never a deleted set under a running
    restore.  The preview reads without locking.
    """
    found = expirable(dues)
    candidates = {pk for pks in found.values() for pk in pks}
    if not candidates:
        return found, set()
    if lock:
        candidates = set(
            BackupSet.objects.select_for_update().filter(pk__in=candidates, expired_at__isnull=True).values_list("pk", flat=True)
        )
    kept = sets_read_by_running_restores()
    doomed = {policy: [pk for pk in pks if pk in candidates and pk not in kept] for policy, pks in found.items()}
    return doomed, candidates & kept


def doomed_sets(dues, *, lock=False):
    """{policy id: [set id]}: what a cleanup of each due deletes (``selection``)."""
    return selection(dues, lock=lock)[0]


def expire(set_ids, now):
    """Mark the sets deleted by a cleanup at ``now`` and take what they held
    off their destinations (the storage rollups), in the caller's
    transaction.  Returns how many sets were marked."""
    deleted = BackupSet.objects.filter(pk__in=list(set_ids)).update(expired_at=now)
    rollups.count_freed(set_ids, now)
    return deleted
