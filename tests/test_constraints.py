"""Every rule the database enforces: a violating write is refused by the
database itself (objects.create / update skip model validation)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from backups.models import BackupSet, DataBackupTask, LogBackupTask
from tests import factories as f

pytestmark = pytest.mark.django_db


def refused(fn):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fn()


@pytest.fixture
def cluster():
    return f.make_cluster()


def test_logical_backup_only_once_per_data_version(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    refused(lambda: f.make_data_task(cluster, backup_method="logical", data_version=7))


def test_logical_backup_of_next_data_version_is_allowed(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    f.make_data_task(cluster, backup_method="logical", data_version=8)
    assert DataBackupTask.objects.filter(cluster=cluster).count() == 2


def test_failed_logical_backup_may_be_retried_at_same_version(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7, status="failed")
    f.make_data_task(cluster, backup_method="logical", data_version=7)


def test_same_data_version_in_another_cluster_is_allowed(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    f.make_data_task(f.make_cluster(), backup_method="logical", data_version=7)


def test_logical_backup_cannot_be_incremental(cluster):
    refused(lambda: f.make_data_task(cluster, backup_method="logical", mode="incremental"))


def test_backup_set_id_unique_within_cluster(cluster):
    f.make_backup_set(cluster, number=5)
    refused(lambda: f.make_backup_set(cluster, number=5))
    f.make_backup_set(f.make_cluster(), number=5)  # another cluster may reuse it
    assert BackupSet.objects.filter(number=5).count() == 2


def test_backup_set_has_one_full_backup_and_many_incrementals(cluster):
    full = f.make_data_task(cluster, mode="full")
    f.make_data_task(cluster, mode="incremental", backup_set=full.backup_set)
    f.make_data_task(cluster, mode="incremental", backup_set=full.backup_set)
    refused(lambda: f.make_data_task(cluster, mode="full", backup_set=full.backup_set))


def test_task_end_not_before_start(cluster):
    start = timezone.now()
    refused(lambda: f.make_data_task(cluster, started_at=start, ended_at=start - timedelta(seconds=1)))
    task = f.make_log_task(cluster)
    refused(lambda: LogBackupTask.objects.filter(pk=task.pk).update(status="stopped", ended_at=task.started_at - timedelta(days=1)))
    refused(lambda: f.make_cleanup_task(cluster, started_at=start, ended_at=start - timedelta(minutes=1)))


@pytest.mark.parametrize(
    "maker",
    [
        lambda c: f.make_cleanup_task(c, started_at=timezone.now(), ended_at=timezone.now() - timedelta(hours=1)),
        lambda c: f.make_secondary_data_task(f.make_data_task(c), ended_at=timezone.now() - timedelta(days=400)),
        lambda c: f.make_secondary_log_task(f.make_log_task(c), status="stopped", ended_at=timezone.now() - timedelta(days=400)),
    ],
    ids=["cleanup", "secondary-data", "secondary-log"],
)
def test_every_task_kind_refuses_end_before_start(cluster, maker):
    refused(lambda: maker(cluster))


def test_one_running_data_backup_per_cluster(cluster):
    f.make_data_task(cluster, status="in_progress")
    refused(lambda: f.make_data_task(cluster, status="in_progress"))


def test_finished_data_backup_needs_end_time_and_failed_needs_reason(cluster):
    refused(lambda: f.make_data_task(cluster, status="completed", ended_at=None))
    refused(lambda: f.make_data_task(cluster, status="failed", failure_reason=""))


def test_one_live_log_backup_per_cluster(cluster):
    f.make_log_task(cluster, status="in_progress")
    f.make_log_task(cluster, status="stopped")
    refused(lambda: f.make_log_task(cluster, status="starting"))


def test_policy_rules(cluster):
    dest = f.make_destination()
    refused(lambda: f.make_policy(cluster, retention_days=0))
    refused(lambda: f.make_policy(cluster, destination=dest, secondary_enabled=True, secondary_destination=dest))
    refused(lambda: f.make_policy(cluster, secondary_enabled=True, secondary_destination=None))
    refused(lambda: f.make_policy(cluster, backup_method="physical", log_backup_enabled=False))
    f.make_policy(cluster, backup_method="logical", log_backup_enabled=False)


def test_one_active_policy_per_cluster_and_per_tenant(cluster):
    tenant = f.make_tenant(cluster)
    f.make_policy(cluster)
    refused(lambda: f.make_policy(cluster))
    f.make_policy(cluster, state="paused")
    f.make_policy(cluster, tenant=tenant)
    refused(lambda: f.make_policy(cluster, tenant=tenant))


def test_host_ip_port_unique():
    c = f.make_cluster()
    f.make_host(c, ip="10.1.1.1", port=2881)
    refused(lambda: f.make_host(f.make_cluster(), ip="10.1.1.1", port=2881))
