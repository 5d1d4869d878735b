"""The cleanup preview equals what the next cleanup then deletes: the preview
is read from the cluster's page, then a real Celery worker (Redis and
PostgreSQL) runs the cleanup that beat's ``schedule_cleanups`` starts, and the
sets it marks deleted are the preview's — a set a running restore reads stays —
and each tenant's earliest recoverable moment is the preview's "after"."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backups.choices import CleanupStatus
from backups.engine import cleanup_preview, intervals, simulation
from backups.models import BackupSet, CleanupTask
from tests import factories as f
from tests.worker import celery_cluster, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.worker


def _set(cluster, days_ago, size, tenant=None, incrementals=()):
    now = timezone.now()
    backup_set = f.make_backup_set(cluster, created_at=now - timedelta(days=days_ago), tenant=tenant)
    full = f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, size_bytes=size,
                            started_at=now - timedelta(days=days_ago))
    for inc in incrementals:
        f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, mode="incremental", size_bytes=size // 4,
                         started_at=now - timedelta(days=inc))
    return backup_set, full


def test_the_preview_is_what_the_next_cleanup_deletes(celery_cluster, admin_client):
    now = timezone.now()
    cluster = f.make_cluster(name="prod")
    sales, hr = f.make_tenant(cluster, name="sales"), f.make_tenant(cluster, name="hr")
    policy = f.make_policy(cluster, retention_days=7)
    f.make_log_task(cluster, policy=policy, started_at=now - timedelta(days=60), latest_point=now - timedelta(minutes=1))
    gone = [_set(cluster, days, 2**30, incrementals=[days - 2])[0] for days in (50, 40, 30)]
    read, read_full = _set(cluster, 20, 2**30)  # past the window, but a running restore reads it
    _set(cluster, 10, 2**30, incrementals=[8])  # the window's anchor
    _set(cluster, 2, 2**30)
    f.make_restore_task(cluster, source_tenant=sales, data_task_ids=[read_full.pk])
    intervals.refresh(cluster.pk)
    celery_cluster.worker()

    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    shown = {int(pk) for pk in re.findall(r'data-set-id="(\d+)"', body)}
    preview = cleanup_preview.for_cluster(cluster)
    assert shown == set(preview.set_ids) == {s.pk for s in gone}
    assert read.pk not in shown

    # What beat does every minute: start the cleanup that is due; the worker runs it.
    [pk] = simulation.schedule_cleanups()
    cleanup = wait_until(lambda: CleanupTask.objects.filter(pk=pk, status=CleanupStatus.COMPLETED).first(),
                         timeout=60, message="the worker to finish the cleanup")
    deleted = set(BackupSet.objects.filter(expired_at__isnull=False).values_list("pk", flat=True))
    assert deleted == set(preview.set_ids)
    assert cleanup.deleted_sets == len(preview.set_ids)
    assert abs((cleanup.ended_at - preview.at).total_seconds()) < 10  # when the preview said

    # The intervals the cleanup left (rewritten in its transaction) start where the preview said.
    after = intervals.by_tenant(cluster.pk)
    for shrink in preview.tenants:
        assert shrink.changed
        assert min(iv.start for iv in after[shrink.tenant_id]) == shrink.earliest_after
    assert {s.tenant_id for s in preview.tenants} == set(cluster.tenants.values_list("pk", flat=True))
    assert {sales.pk, hr.pk} <= {s.tenant_id for s in preview.tenants}

    # And the next preview has nothing left to delete.
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "Nothing to delete" in body
