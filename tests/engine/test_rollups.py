"""Daily rollups (engine/rollups.py): every move that ends a task counts it, in
the move's transaction, so a rollup always equals a recount of the rows."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups.choices import CleanupStatus, DataBackupStatus, TaskKind
from backups.engine import rollups
from backups.engine.rollups import ROLLED, rebuild_rollups, recount
from backups.engine.transitions import IllegalTransition, transition
from backups.kinds import KINDS
from backups.models import CleanupTask, DailyRollup, DataBackupTask, RestoreTask
from tests import factories as f
from tests.engine.test_race import path  # noqa: F401 - the fixture: both ways a move is written

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def stored():
    """{(day, cluster, kind, outcome): (count, bytes, duration)} as the rollups hold it."""
    return {
        (r.day, r.cluster_id, r.kind, r.outcome): (r.count, r.bytes_written, r.duration)
        for r in DailyRollup.objects.all()
    }


def recounted():
    """The same, counted from the task rows."""
    out = {}
    for value in ROLLED:
        for day, cluster, kind, outcome, count, written, took in recount(KINDS[value].model):
            out[(day, cluster, kind, outcome)] = (count, written, took)
    return out


@pytest.fixture
def shanghai(settings):
    # A day in the console's time zone is not a UTC day: 16:00 UTC is tomorrow there.
    settings.TIME_ZONE = "Asia/Shanghai"


def test_a_finished_data_backup_is_counted_on_its_local_day(db, shanghai):
    cluster = f.make_cluster()
    task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=BASE, size_bytes=5)
    transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", now=BASE + timedelta(hours=5))
    row = DailyRollup.objects.get()
    # 17:00 UTC is 01:00 the next day in Shanghai.
    assert (str(row.day), row.cluster_id, row.kind, row.outcome) == ("2026-03-02", cluster.pk, "data", "completed")
    assert (row.count, row.bytes_written, row.duration) == (1, 5, timedelta(hours=5))


def test_a_move_that_rolls_back_counts_nothing(db):
    cluster = f.make_cluster()
    task = f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING, started_at=BASE)
    with pytest.raises(RuntimeError), transaction.atomic():
        transition(CleanupTask, task.pk, CleanupStatus.COMPLETED, cause="done", now=BASE + timedelta(minutes=1))
        raise RuntimeError("the caller's transaction fails after the move")
    assert not DailyRollup.objects.exists()


def test_log_backups_are_not_rolled_up():
    # A log backup stops and starts again under one row: "ended on a day" is not the row's.
    assert set(ROLLED) == {TaskKind.DATA, TaskKind.CLEANUP, TaskKind.SECONDARY_DATA, TaskKind.RESTORE}
    assert ROLLED[TaskKind.DATA] == {DataBackupStatus.COMPLETED, DataBackupStatus.FAILED}
    assert ROLLED[TaskKind.CLEANUP] == {CleanupStatus.COMPLETED, CleanupStatus.FAILED}


def test_rebuild_recounts_rows_written_without_the_engine(db, shanghai):
    cluster = f.make_cluster()
    f.make_data_task(cluster, started_at=BASE, ended_at=BASE + timedelta(minutes=30), size_bytes=7)
    f.make_data_task(cluster, started_at=BASE, ended_at=BASE + timedelta(minutes=10), size_bytes=3,
                     status=DataBackupStatus.FAILED)
    f.make_cleanup_task(cluster, started_at=BASE, status=CleanupStatus.NOT_STARTED)  # not ended: not counted
    assert rebuild_rollups() == 2
    assert stored() == recounted()
    day = BASE.date()
    assert stored()[(day, cluster.pk, "data", "completed")] == (1, 7, timedelta(minutes=30))
    assert rebuild_rollups() == 2  # a second rebuild replaces, never adds


# --- A random sequence of moves ------------------------------------------------------

CLUSTERS = 3
STATUSES = {
    TaskKind.DATA: list(DataBackupStatus),
    TaskKind.CLEANUP: list(CleanupStatus),
    TaskKind.RESTORE: list(DataBackupStatus),
}

creates = st.tuples(st.just("create"), st.sampled_from(sorted(STATUSES)), st.integers(0, CLUSTERS - 1),
                    st.integers(0, 3 * 24 * 60))
moves = st.tuples(st.just("move"), st.integers(0, 30), st.integers(0, 4), st.integers(0, 2 * 24 * 60),
                  st.integers(0, 2**40))


@pytest.fixture
def estate(db, shanghai):
    clusters = [f.make_cluster() for _ in range(CLUSTERS)]
    return clusters, f.make_tenant(clusters[0]), f.make_cluster()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(creates, moves), min_size=1, max_size=40))
def test_every_rollup_equals_a_recount_after_random_moves(estate, steps):
    clusters, tenant, target = estate
    with transaction.atomic():
        tasks = []
        for step in steps:
            if step[0] == "create":
                _, kind, n, minutes = step
                started = BASE + timedelta(minutes=minutes)
                cluster = clusters[n]
                if kind == TaskKind.DATA:
                    if DataBackupTask.objects.filter(cluster=cluster, status=DataBackupStatus.IN_PROGRESS).exists():
                        continue
                    task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=started)
                elif kind == TaskKind.CLEANUP:
                    task = f.make_cleanup_task(cluster, status=CleanupStatus.NOT_STARTED, started_at=started)
                else:
                    task = f.make_restore_task(cluster, source_tenant=tenant, target_cluster=target, started_at=started)
                tasks.append(task)
            elif tasks:
                _, index, status, minutes, size = step
                task = tasks[index % len(tasks)]
                statuses = STATUSES[task.KIND]
                fields = {"size_bytes": size} if task.KIND == TaskKind.DATA else {}
                if task.KIND == TaskKind.RESTORE:
                    fields = {"finished_bytes": size % (task.total_bytes + 1)}
                to = statuses[status % len(statuses)]
                if to == "failed":
                    fields["failure_reason"] = "broken"
                try:
                    transition(type(task), task.pk, to, cause="test", now=task.started_at + timedelta(minutes=minutes),
                               **fields)
                except IllegalTransition:
                    pass
        assert stored() == recounted()
        # And a rebuild from the rows gives the same rollups.
        before = stored()
        rebuild_rollups()
        assert stored() == before
        transaction.set_rollback(True)


# --- Two workers at once (PostgreSQL) ------------------------------------------------


@pytest.mark.parametrize("model", [CleanupTask, RestoreTask])
def test_two_workers_ending_tasks_of_one_day_cluster_and_kind_count_two(path, model):
    cluster = f.make_cluster()
    if model is CleanupTask:
        tasks = [f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING, started_at=BASE) for _ in range(2)]
        to = CleanupStatus.COMPLETED
    else:
        tenant, target = f.make_tenant(cluster), f.make_cluster()
        tasks = [f.make_restore_task(cluster, source_tenant=tenant, target_cluster=target, started_at=BASE)
                 for _ in range(2)]
        to = DataBackupStatus.COMPLETED
    barrier = threading.Barrier(2)
    errors = []

    def finish(pk):
        try:
            with transaction.atomic():
                barrier.wait()
                transition(model, pk, to, cause="done", now=BASE + timedelta(minutes=5))
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(task.pk,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    row = DailyRollup.objects.get()
    assert (row.count, row.duration) == (2, timedelta(minutes=10))
    assert stored() == recounted()


def test_counting_is_one_upsert(db, django_assert_num_queries):
    cluster = f.make_cluster()
    task = f.make_cleanup_task(cluster, status=CleanupStatus.COMPLETED, started_at=BASE)
    with django_assert_num_queries(2) as captured:
        rollups.count_finished(CleanupTask, task.pk, "default")
    assert "ON CONFLICT" in captured.captured_queries[1]["sql"]
