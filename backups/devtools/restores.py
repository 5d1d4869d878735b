"""The demo's restores: one that succeeded, one that failed for want of log
(-4018), one that failed because its backup set was deleted, and one running,
written through the engine's own steps (its events, its new tenant, the
worker it is handed to)."""

from datetime import timedelta

from django.db import transaction

from clusters.choices import ClusterStatus
from clusters.models import Cluster

from ..choices import DataBackupStatus, RestorePhase
from ..engine import dispatch, outcomes
from ..engine.restores import make_tenant, stored_reads
from ..engine.transitions import record_created, transition
from ..models import DataBackupTask, RecoverableInterval, RestoreTask

# (days ago it started, how it ended, phase it ended in, failure code)
PAST = [
    (9, DataBackupStatus.COMPLETED, RestorePhase.RESTORE_SUCCESS, None),
    (4, DataBackupStatus.FAILED, RestorePhase.RESTORE_FAIL, "log_missing"),
    (2, DataBackupStatus.FAILED, RestorePhase.RESTORE_FAIL, "set_deleted"),
]


def seed(now, user=None):
    """Write the demo's restores once; returns how many (0 when they exist)."""
    if RestoreTask.objects.exists():
        return 0
    sources = list(
        RecoverableInterval.objects.filter(round__isnull=False).select_related("tenant", "round").order_by("cluster_id", "tenant_id")
    )
    targets = list(Cluster.objects.filter(status=ClusterStatus.RUNNING).order_by("name"))
    if not sources or len(targets) < 2:
        return 0
    made = 0
    with transaction.atomic():
        for n, (days, status, phase, failure) in enumerate(PAST):
            source = sources[n % len(sources)]
            started = now - timedelta(days=days, hours=n)
            task = _create(source, next(t for t in targets if t.pk != source.cluster_id), f"{source.tenant.name}_drill{n + 1}",
                           started - timedelta(hours=2), started, user)
            ended = started + timedelta(minutes=20 + 7 * n)
            if status == DataBackupStatus.COMPLETED:
                tenant = make_tenant(task.target_cluster_id, task.new_tenant_name)
                transition(RestoreTask, task.pk, status, now=ended, phase=phase, finished_bytes=task.total_bytes,
                           new_tenant_id=tenant.pk, cause=outcomes.cause("restore_finished", tenant=tenant.name))
            else:
                values = {"pk": task.data_task_ids[0] if task.data_task_ids else 0,
                          "time": task.restore_point.strftime("%Y-%m-%d %H:%M:%S")}
                reason = outcomes.failure(failure, **values)
                transition(RestoreTask, task.pk, status, now=ended, phase=phase, failure_reason=reason, cause=reason,
                           finished_bytes=task.total_bytes // 3)
            made += 1
        # One running now, to a moment the tenant can really be restored to.
        live = sources[-1]
        end = live.effective_end
        if end is not None and end > live.start:
            point = live.start + (end - live.start) / 2
            task = _create(live, next(t for t in targets if t.pk != live.cluster_id), f"{live.tenant.name}_restored",
                           point, now - timedelta(seconds=20), user)
            dispatch.enqueue(dispatch.RUN_RESTORE, task.pk)
            made += 1
    return made


def _create(interval, target, name, point, started, user):
    backups = list(DataBackupTask.objects.filter(pk__in=interval.data_task_ids).order_by("started_at")[:3])
    task = RestoreTask.objects.create(
        cluster_id=interval.cluster_id, source_tenant=interval.tenant, restore_point=point, target_cluster=target,
        new_tenant_name=name, started_at=started, total_bytes=sum(b.size_bytes for b in backups) or 1,
        **stored_reads(interval, backups), requested_by=user,
        sim_outcome=outcomes.COMPLETED,
    )
    record_created(task, cause=outcomes.cause("restore_requested"), actor=user)
    return task

