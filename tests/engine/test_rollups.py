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


# --- Storage: what lands on a destination and what cleanup frees there ---------------

# Each step happens a number of minutes after the one before (moves come in time order).
storage_steps = st.lists(st.one_of(
    # A data backup of cluster n (its policy's destination: n % 2) ends completed or failed, of a size.
    st.tuples(st.just("backup"), st.integers(0, CLUSTERS - 1), st.booleans(), st.integers(1, 2**40), st.integers(0, 2 * 24 * 60)),
    # The k-th completed backup is copied to the other destination.
    st.tuples(st.just("copy"), st.integers(0, 30), st.integers(0, 2 * 24 * 60)),
    # Cleanup deletes the set of the k-th completed backup.
    st.tuples(st.just("expire"), st.integers(0, 30), st.integers(0, 2 * 24 * 60)),
    # Cluster n's policy moves to the other destination (its backups stay where they landed).
    st.tuples(st.just("move"), st.integers(0, CLUSTERS - 1), st.integers(0, 2 * 24 * 60)),
), min_size=1, max_size=30)


def held_oracle(destinations, days):
    """What each destination holds at the end of each day, from the rows with
    no rollup: every completed backup on the destination it was written to
    (its policy's then) and copy on its own, from the (local) day it ended until the day before its set was
    deleted — the cluster page's rule, counted the slow way."""
    from backups.engine.rollups import day_of
    from backups.models import SecondaryDataBackupTask

    spans = [(t.destination_id, day_of(t.ended_at), t.backup_set.expired_at, t.size_bytes)
             for t in DataBackupTask.objects.filter(status=DataBackupStatus.COMPLETED).select_related("policy", "backup_set")]
    spans += [(c.destination_id, day_of(c.ended_at), c.backup_set.expired_at, c.source.size_bytes)
              for c in SecondaryDataBackupTask.objects.filter(status=DataBackupStatus.COMPLETED).select_related("source", "backup_set")]
    return {d.pk: [sum(size for dest, added, expired, size in spans
                       if dest == d.pk and added <= day and (expired is None or day_of(expired) > day)) for day in days]
            for d in destinations}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=storage_steps)
def test_storage_rollups_equal_a_recount_and_the_held_bytes_the_rows_say(db, shanghai, steps):
    from backups.engine import retention
    from backups.models import StorageRollup

    with transaction.atomic():
        destinations = [f.make_destination(), f.make_destination()]
        clusters = [f.make_cluster() for _ in range(CLUSTERS)]
        policies = [f.make_policy(c, destination=destinations[n % 2]) for n, c in enumerate(clusters)]
        completed, clock = [], BASE
        for step in steps:
            clock += timedelta(minutes=step[-1])
            if step[0] == "backup":
                _, n, ok, size, _minutes = step
                task = f.make_data_task(clusters[n], policy=policies[n], status=DataBackupStatus.IN_PROGRESS, started_at=clock)
                clock += timedelta(minutes=40)
                to = DataBackupStatus.COMPLETED if ok else DataBackupStatus.FAILED
                transition(DataBackupTask, task.pk, to, cause="test", now=clock, size_bytes=size,
                           **({} if ok else {"failure_reason": "broken"}))
                if ok:
                    completed.append(DataBackupTask.objects.get(pk=task.pk))
            elif completed and step[0] == "copy":
                source = completed[step[1] % len(completed)]
                other = destinations[1] if source.destination_id == destinations[0].pk else destinations[0]
                copy = f.make_secondary_data_task(source, destination=other, status=DataBackupStatus.IN_PROGRESS, started_at=clock)
                transition(type(copy), copy.pk, DataBackupStatus.COMPLETED, cause="test", now=clock + timedelta(minutes=1))
                clock += timedelta(minutes=1)
            elif completed and step[0] == "expire":
                task = completed[step[1] % len(completed)]
                if type(task.backup_set).objects.filter(pk=task.backup_set_id, expired_at__isnull=True).exists():
                    retention.expire([task.backup_set_id], clock)
            elif step[0] == "move":
                policy = policies[step[1]]
                policy.destination = destinations[1] if policy.destination_id == destinations[0].pk else destinations[0]
                policy.save()
        kept = {(r.destination_id, r.day): (r.added_bytes, r.freed_bytes) for r in StorageRollup.objects.all()}
        assert kept == {key: value for key, value in rollups.recount_storage().items() if value != (0, 0)}
        days = [BASE.date() + timedelta(days=n) for n in range(-1, 80)]
        assert rollups.storage_used([d.pk for d in destinations], days) == held_oracle(destinations, days)
        rollups.rebuild_rollups()  # and a rebuild from the rows gives the same rollups
        assert {(r.destination_id, r.day): (r.added_bytes, r.freed_bytes) for r in StorageRollup.objects.all()} == kept
        transaction.set_rollback(True)
