"""The stored recoverable intervals follow the moves that change them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.choices import BackupMethod, BackupMode, DataBackupStatus, LogBackupStatus
from backups.engine import intervals
from backups.engine.transitions import transition
from backups.models import BackupSet, CleanupTask, DataBackupTask, LogBackupTask, RecoverableInterval
from tests.factories import make_backup_set, make_cleanup_task, make_cluster, make_data_task, make_log_task, make_tenant

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def at(hours):
    return NOW + timedelta(hours=hours)


@pytest.fixture
def cluster():
    c = make_cluster()
    make_tenant(c, name="sales")
    make_tenant(c, name="hr")
    return c


def running_backup(cluster, start, **kw):
    return make_data_task(cluster, started_at=start, status=DataBackupStatus.IN_PROGRESS, **kw)


def complete(task, when):
    transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", now=when, progress=100)


def spans(tenant):
    return [(iv.start, iv.end) for iv in intervals.current(tenant.pk)]


def test_a_completed_full_opens_an_interval_that_follows_the_live_round(cluster):
    log = make_log_task(cluster, started_at=at(-10), latest_point=at(-5))
    full = running_backup(cluster, at(-8))
    complete(full, at(-7))

    for tenant in cluster.tenants.all():
        assert spans(tenant) == [(at(-7), at(-5))]
        (row,) = RecoverableInterval.objects.filter(tenant=tenant)
        assert row.end is None and row.round_id == log.pk and row.data_task_ids == [full.pk]

    # The round archives on: the interval grows with no write of its own.
    LogBackupTask.objects.filter(pk=log.pk).update(latest_point=at(-1))
    tenant = cluster.tenants.first()
    assert spans(tenant) == [(at(-7), at(-1))]
    yes = intervals.can_restore(tenant.pk, at(-3))
    assert yes.recoverable and yes.interval.set_ids == (full.pk,) and yes.interval.round_ids == (log.pk,)


def test_a_stopped_round_freezes_the_end_and_a_new_round_without_a_new_full_leaves_a_gap(cluster):
    log = make_log_task(cluster, started_at=at(-10), latest_point=at(-5))
    complete(running_backup(cluster, at(-8)), at(-7))
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop", now=at(-4))
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-4))
    make_log_task(cluster, started_at=at(-3), latest_point=at(-1))

    tenant = cluster.tenants.first()
    assert spans(tenant) == [(at(-7), at(-5))]
    assert RecoverableInterval.objects.get(tenant=tenant).end == at(-5)
    no = intervals.can_restore(tenant.pk, at(-2))
    assert not no.recoverable and no.before == at(-5) and no.after is None


def test_an_incremental_bridges_the_gap_while_its_full_set_is_kept(cluster):
    first = make_log_task(cluster, started_at=at(-20), latest_point=at(-12), status=LogBackupStatus.STOPPED, ended_at=at(-12))
    full = make_data_task(cluster, started_at=at(-18), ended_at=at(-17))
    second = make_log_task(cluster, started_at=at(-10), latest_point=at(-2))
    incremental = running_backup(cluster, at(-8), mode=BackupMode.INCREMENTAL, backup_set=full.backup_set)
    complete(incremental, at(-7))

    tenant = cluster.tenants.first()
    assert spans(tenant) == [(at(-17), at(-12)), (at(-7), at(-2))]
    rows = list(RecoverableInterval.objects.filter(tenant=tenant).order_by("start"))
    assert [r.round_id for r in rows] == [first.pk, second.pk]
    assert rows[1].data_task_ids == [incremental.pk]

    # Cleanup deletes the set: neither the full nor the incremental on it restores.
    cleanup = make_cleanup_task(cluster, status="running", ended_at=None, started_at=at(-1))
    BackupSet.objects.filter(pk=full.backup_set_id).update(expired_at=NOW)
    transition(CleanupTask, cleanup.pk, "completed", cause="cleaned", now=NOW)
    assert spans(tenant) == []
    assert not RecoverableInterval.objects.filter(cluster=cluster).exists()


def test_a_logical_backup_restores_to_its_own_point_only(cluster):
    logical = running_backup(cluster, at(-3), backup_method=BackupMethod.LOGICAL,
                             backup_set=make_backup_set(cluster, backup_method=BackupMethod.LOGICAL))
    complete(logical, at(-2))
    tenant = cluster.tenants.first()
    assert spans(tenant) == [(at(-2), at(-2))]
    assert intervals.newest_point(tenant.pk) == at(-2)


def test_a_tenant_level_round_covers_its_tenant_only(cluster):
    sales, hr = cluster.tenants.order_by("name").reverse()
    make_log_task(cluster, tenant=sales, started_at=at(-10), latest_point=at(-5))
    complete(running_backup(cluster, at(-8)), at(-7))
    assert spans(sales) == [(at(-7), at(-5))]
    assert spans(hr) == []


def test_a_set_completed_ahead_of_the_archive_waits_for_its_checkpoint(cluster):
    """The log archive lags a few seconds: a set is complete before the round
    has archived up to its end; it counts once the checkpoint passes it."""
    log = make_log_task(cluster, started_at=at(-10), latest_point=at(-8))
    complete(running_backup(cluster, at(-7)), at(-6))
    tenant = cluster.tenants.first()
    assert spans(tenant) == []
    LogBackupTask.objects.filter(pk=log.pk).update(latest_point=at(-5))
    assert spans(tenant) == [(at(-6), at(-5))]


def test_a_refresh_reads_a_constant_number_of_queries(cluster, django_assert_num_queries):
    make_log_task(cluster, started_at=at(-100), latest_point=at(-1))
    make_data_task(cluster, started_at=at(-90), ended_at=at(-89))
    with django_assert_num_queries(8) as few:
        intervals.refresh(cluster.pk)
    for hours in range(-80, -10, 5):
        make_data_task(cluster, started_at=at(hours), ended_at=at(hours + 1))
    with django_assert_num_queries(len(few.captured_queries)):
        intervals.refresh(cluster.pk)


def test_an_incremental_whose_full_never_completed_restores_nothing(cluster):
    make_log_task(cluster, started_at=at(-10), latest_point=at(-1))
    broken = make_data_task(cluster, started_at=at(-9), status=DataBackupStatus.FAILED)
    complete(running_backup(cluster, at(-6), mode=BackupMode.INCREMENTAL, backup_set=broken.backup_set), at(-5))
    assert spans(cluster.tenants.first()) == []
