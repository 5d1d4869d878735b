"""The demo's restore drills: one policy (every cluster, daily) with its beat
entry, and a week of past drills — most succeeded, one whose restore ran out
of log (-4018), one whose storage did not answer — written through the
engine's own steps: the run, its restore with its events, the restore's end
(which checks the run), and the sweep that removed old scratch tenants."""

import random
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from clusters.choices import ClusterStatus
from clusters.models import Cluster

from ..choices import DataBackupStatus, RestorePhase
from ..engine import drills, outcomes, schedules
from ..engine.restores import make_tenant, stored_reads
from ..engine.transitions import record_created, transition
from ..models import DataBackupTask, RecoverableInterval, RestoreDrillPolicy, RestoreDrillRun, RestoreTask

POLICY_NAME = "daily-drill"
RUN_AT = time(3, 30)
# (days ago it came due, how its restore ended, minutes the restore took)
PAST = [
    (6, "completed", 18),
    (5, "completed", 22),
    (4, "log_missing", 9),
    (3, "completed", 25),
    (2, "storage_unreachable", 4),
    (1, "completed", 21),
]


def seed(now, seed=7):
    """Write the demo's drill policy and past drills once; returns how many drills (0 when they exist)."""
    if RestoreDrillPolicy.objects.exists():
        return 0
    target = Cluster.objects.filter(status=ClusterStatus.RUNNING).order_by("name").last()
    intervals = list(RecoverableInterval.objects.filter(round__isnull=False).select_related("tenant", "round", "cluster")
                     .exclude(cluster=target).order_by("cluster_id", "tenant_id", "start"))
    if target is None or not intervals:
        return 0
    rng = random.Random(seed)
    with transaction.atomic():
        policy = RestoreDrillPolicy.objects.create(name=POLICY_NAME, all_clusters=True, schedule_days=list(range(1, 8)),
                                                   run_at=RUN_AT, target_cluster=target, keep_hours=48)
        schedules.sync_drill_task(policy)
        made = 0
        for days, outcome, minutes in PAST:
            due = timezone.localtime(now - timedelta(days=days)).replace(hour=RUN_AT.hour, minute=RUN_AT.minute,
                                                                          second=0, microsecond=0)
            interval = rng.choice(intervals)
            end = min(interval.effective_end or due, due)
            if end <= interval.start:
                continue
            point = interval.start + (end - interval.start) * rng.random()
            _past_drill(policy, interval, point, due, outcome, timedelta(minutes=minutes))
            made += 1
        drills.sweep_drills(now=now)  # the scratch tenants past their keep time are gone
    return made


def _past_drill(policy, interval, point, due, outcome, took):
    run = RestoreDrillRun.objects.create(policy=policy, policy_name=policy.name, due_at=due, started_at=due,
                                         target_cluster=policy.target_cluster, source_cluster_id=interval.cluster_id,
                                         source_tenant=interval.tenant, restore_point=point)
    backups = list(DataBackupTask.objects.filter(pk__in=interval.data_task_ids).order_by("started_at")[:3])
    task = RestoreTask.objects.create(
        cluster_id=interval.cluster_id, source_tenant=interval.tenant, restore_point=point,
        target_cluster=policy.target_cluster, new_tenant_name=f"drill_{run.pk}", started_at=due,
        total_bytes=sum(b.size_bytes for b in backups) or 1, **stored_reads(interval, backups), sim_outcome=outcome,
    )
    record_created(task, cause=outcomes.cause("drill_restore", pk=run.pk, policy=policy.name))
    RestoreDrillRun.objects.filter(pk=run.pk).update(restore_task=task, scratch_tenant_name=task.new_tenant_name)
    ended = due + took
    if outcome == outcomes.COMPLETED:
        tenant = make_tenant(policy.target_cluster_id, task.new_tenant_name)
        transition(RestoreTask, task.pk, DataBackupStatus.COMPLETED, now=ended, phase=RestorePhase.RESTORE_SUCCESS,
                   finished_bytes=task.total_bytes, new_tenant_id=tenant.pk,
                   cause=outcomes.cause("restore_finished", tenant=tenant.name))
    else:
        reason = outcomes.failure(outcome, time=timezone.localtime(point).strftime("%Y-%m-%d %H:%M:%S"),
                                  uri=f"backup storage of {interval.cluster.name}")
        transition(RestoreTask, task.pk, DataBackupStatus.FAILED, now=ended, phase=RestorePhase.RESTORE_FAIL,
                   failure_reason=reason, cause=reason, finished_bytes=task.total_bytes // 3)
    drills.restore_ended(task.pk)
