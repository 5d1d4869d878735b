"""A restore drill policy that comes due runs exactly one drill through a real
Celery worker and beat on Redis and PostgreSQL, and records its recovery time."""

import re
from datetime import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backups.choices import DataBackupStatus
from backups.engine import schedules
from backups.engine.transitions import transition
from backups.models import DataBackupTask, RestoreDrillPolicy, RestoreDrillRun, RestoreTask
from clusters.models import Tenant
from tests import factories as f
from tests.worker import celery_cluster, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.worker


def test_a_due_drill_policy_runs_one_drill_on_the_worker_and_records_its_recovery_time(celery_cluster):
    from django.utils import timezone

    now = timezone.now()
    source = f.make_cluster(name="prod")
    f.make_tenant(source, name="sales")
    target = f.make_cluster(name="scratch")
    f.make_log_task(source, started_at=now - timezone.timedelta(hours=30), latest_point=now - timezone.timedelta(minutes=5))
    full = f.make_data_task(source, started_at=now - timezone.timedelta(hours=20), status=DataBackupStatus.IN_PROGRESS,
                            size_bytes=2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=now - timezone.timedelta(hours=19),
               progress=100)
    worker = celery_cluster.worker()
    beat = celery_cluster.beat()
    policy = RestoreDrillPolicy.objects.create(name="every-day", target_cluster=target, run_at=time(0, 0),
                                               schedule_days=list(range(1, 8)))
    policy.clusters.set([source])
    schedules.sync_drill_task(policy)
    policy.refresh_from_db()
    # The policy's own beat entry (task, args), fired every 2 s instead of at
    # midnight: every firing names the same due time (today's 00:00), so the
    # drill must run once however many messages beat sends.
    entry = PeriodicTask.objects.get(pk=policy.periodic_task_id)
    entry.crontab = None
    entry.interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    entry.save()

    run = wait_until(RestoreDrillRun.objects.filter(policy=policy).first, timeout=20, message="beat to start a drill")
    run = wait_until(lambda: RestoreDrillRun.objects.filter(pk=run.pk, status="succeeded").first(), timeout=20,
                     message="the drill's restore to succeed and the drill to be checked")
    restore = RestoreTask.objects.get(pk=run.restore_task_id)
    assert restore.status == "completed" and restore.new_tenant_name == f"drill_{run.pk}"
    assert run.recovery_seconds == pytest.approx((restore.ended_at - restore.started_at).total_seconds())
    assert run.recovery_seconds > 0
    assert Tenant.objects.get(cluster=target, name=f"drill_{run.pk}") == run.scratch_tenant

    def drills_done():
        return len(re.findall(r"Task backups\.tasks\.run_scheduled_drill\[[^\]]+\] succeeded", worker.log))

    # Beat went on sending the same due time; each message found its drill done.
    wait_until(lambda: drills_done() >= 3, timeout=20, message="beat to send the due drill again")
    assert worker.log.count("already ran for this due time") >= 2
    assert RestoreDrillRun.objects.count() == 1 and RestoreTask.objects.count() == 1
    assert f"Sending due task {entry.name} " in beat.log
