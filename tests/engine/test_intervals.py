"""The stored recoverable intervals follow the moves that change them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.choices import BackupMethod, BackupMode, DataBackupStatus, LogBackupStatus
from backups.engine import intervals
from backups.engine.transitions import transition
from backups.models import BackupSet, CleanupTask, DataBackupTask, LogBackupTask, RecoverableInterval, SecondaryDataBackupTask, SecondaryLogBackupTask
from tests.factories import (
    make_backup_set,
    make_cleanup_task,
    make_cluster,
    make_data_task,
    make_destination,
    make_log_task,
    make_secondary_data_task,
    make_secondary_log_task,
    make_tenant,
)

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


def test_a_round_started_again_carries_its_interval_live_again(cluster):
    """Stopped, then started again (the same row, which drains its backlog):
    its interval follows the checkpoint again, without waiting for the next backup."""
    log = make_log_task(cluster, started_at=at(-10), latest_point=at(-5))
    complete(running_backup(cluster, at(-8)), at(-7))
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop", now=at(-4))
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-4))
    tenant = cluster.tenants.first()
    assert RecoverableInterval.objects.get(tenant=tenant).end == at(-5)
    transition(LogBackupTask, log.pk, LogBackupStatus.STARTING, cause="start", now=at(-3))
    assert RecoverableInterval.objects.get(tenant=tenant).end is None
    LogBackupTask.objects.filter(pk=log.pk).update(latest_point=at(-1))
    assert spans(tenant) == [(at(-7), at(-1))]


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
    with django_assert_num_queries(10) as few:  # two of them read the secondary copies and their rounds
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


# --- Secondary destinations: copies of the sets with the secondary log copies' own rounds ---


@pytest.fixture
def copies_to():
    return make_destination(name="oss-copies", kind="object", uri="oss://bucket/copies")


def copy_of(task, destination, when):
    """A secondary copy of ``task`` to ``destination``, completed by the state machine at ``when``."""
    copy = make_secondary_data_task(task, destination=destination, started_at=when - timedelta(minutes=30),
                                    status=DataBackupStatus.IN_PROGRESS)
    transition(SecondaryDataBackupTask, copy.pk, DataBackupStatus.COMPLETED, cause="copied", now=when)
    return copy


def test_the_secondary_destination_keeps_a_tenant_recoverable_across_a_gap_of_the_primary(cluster, copies_to):
    """The primary round stopped at -20 and the next one began at -10: a gap
    in the primary archive.  The secondary log copy's round went on without
    one, and the set was copied there: the tenant stays recoverable through
    the gap, from the secondary destination."""
    first = make_log_task(cluster, started_at=at(-30), latest_point=at(-20))
    full = running_backup(cluster, at(-28))
    complete(full, at(-27))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPING, cause="stop", now=at(-20))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-20))
    make_log_task(cluster, started_at=at(-10), latest_point=at(-1))
    copying = make_secondary_log_task(first, destination=copies_to, started_at=at(-29), latest_point=at(-2))
    tenant = cluster.tenants.first()
    assert spans(tenant) == [(at(-27), at(-20))]  # the set is not on the secondary destination yet

    copy_of(full, copies_to, at(-26))  # completing the copy rewrites the intervals
    assert spans(tenant) == [(at(-27), at(-2))]
    secondary = RecoverableInterval.objects.get(tenant=tenant, destination=copies_to)
    assert secondary.end is None and secondary.secondary_round_id == copying.pk and secondary.round_id is None
    assert secondary.data_task_ids == [full.pk]

    # Inside the primary's gap the restore reads the secondary destination;
    # where both reach, the primary.
    through = intervals.can_restore(tenant.pk, at(-15))
    assert through.recoverable and through.interval.destination == copies_to.pk
    assert through.interval.set_ids == (full.pk,) and through.interval.round_ids == (copying.pk,)
    before = intervals.can_restore(tenant.pk, at(-24))
    assert before.interval.destination is None and before.interval.round_ids == (first.pk,)
    assert intervals.newest_point(tenant.pk) == at(-2)

    # The secondary log copy fails: its round closes, and the gap reopens after its checkpoint.
    transition(SecondaryLogBackupTask, copying.pk, LogBackupStatus.FAILED, cause="lost", failure_reason="storage unreachable",
               now=at(-1))
    assert RecoverableInterval.objects.get(tenant=tenant, destination=copies_to).end == at(-2)
    SecondaryLogBackupTask.objects.filter(pk=copying.pk).update(latest_point=at(0))  # a failed round archives no more
    assert spans(tenant) == [(at(-27), at(-2))]


def test_a_set_copied_counts_only_with_the_secondary_rounds_and_the_whole_chain_copied(cluster, copies_to):
    """Each destination restores alone: a copy with the primary's round is no
    interval, and an incremental's copy needs the copy of its full there."""
    log = make_log_task(cluster, started_at=at(-30), latest_point=at(-1))
    full = make_data_task(cluster, started_at=at(-28), ended_at=at(-27))
    incremental = make_data_task(cluster, started_at=at(-18), ended_at=at(-17), mode=BackupMode.INCREMENTAL,
                                 backup_set=full.backup_set)
    copy_log = make_secondary_log_task(log, destination=copies_to, started_at=at(-20), latest_point=at(-3))
    copy_of(incremental, copies_to, at(-16))  # its full was never copied
    tenant = cluster.tenants.first()
    assert not RecoverableInterval.objects.filter(tenant=tenant, destination=copies_to).exists()
    assert spans(tenant) == [(at(-27), at(-1))]

    # Stopping the primary round leaves only what the secondary destination gives: nothing, its full is missing.
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop", now=at(-1))
    transition(LogBackupTask, log.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-1))
    copy_of(full, copies_to, at(-26))
    # The copy of the full is there now, but the secondary round began after the full started: it carries
    # the incremental only, from its restore point.
    (row,) = RecoverableInterval.objects.filter(tenant=tenant, destination=copies_to)
    assert (row.start, row.end, row.secondary_round_id) == (at(-17), None, copy_log.pk)
    assert row.data_task_ids == [incremental.pk]

    # An operator stops the secondary log copy: its interval's end freezes, and starting it again lets it follow.
    transition(SecondaryLogBackupTask, copy_log.pk, LogBackupStatus.STOPPING, cause="stop", now=at(0))
    transition(SecondaryLogBackupTask, copy_log.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(0))
    assert RecoverableInterval.objects.get(tenant=tenant, destination=copies_to).end == at(-3)
    transition(SecondaryLogBackupTask, copy_log.pk, LogBackupStatus.STARTING, cause="start", now=at(0))
    assert RecoverableInterval.objects.get(tenant=tenant, destination=copies_to).end is None


def test_only_the_newest_closed_interval_of_a_destination_is_read_for_the_rpo(cluster):
    """Three rounds, each stopped, each with its full: three closed intervals
    per tenant, the older two superseded. The fleet's RPO (newest_points)
    reads the rest and agrees with the recovery page's rule, also while a set
    waits for the archive to reach it and once it has."""
    for start in (-40, -30, -20):
        log = make_log_task(cluster, started_at=at(start), latest_point=at(start + 5))
        complete(running_backup(cluster, at(start + 1)), at(start + 2))
        transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop", now=at(start + 5))
        transition(LogBackupTask, log.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(start + 5))
    tenants = list(cluster.tenants.all())
    for tenant in tenants:
        rows = list(RecoverableInterval.objects.filter(tenant=tenant).order_by("start").values_list("end", "superseded"))
        assert rows == [(at(-35), True), (at(-25), True), (at(-15), False)]

    def agrees(expected):
        newest = intervals.newest_points(RecoverableInterval.objects.filter(cluster=cluster))
        assert newest == {t.pk: intervals.newest_point(t.pk) for t in tenants} == {t.pk: expected for t in tenants}

    agrees(at(-15))
    live = make_log_task(cluster, started_at=at(-10), latest_point=at(-9))
    complete(running_backup(cluster, at(-9)), at(-8))  # ahead of the archive: not yet recoverable
    agrees(at(-15))
    LogBackupTask.objects.filter(pk=live.pk).update(latest_point=at(-1))
    agrees(at(-1))
