"""The sweeper (backups.engine.simulation.sweep_lost_tasks) in detail: which
tasks it calls lost, what it writes and says, and what it leaves alone;
written to kill mutants the rest of the suite let live (bench/mutation.sh)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backups.engine import dispatch
from backups.engine.outcomes import cause_of, failure_of
from backups.engine.simulation import sweep_lost_tasks
from backups.models import CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask
from tests import factories as f

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The last heartbeat of the lost tasks: 03:04:05 UTC is 11:04:05 in Shanghai (CST).
BEAT = datetime(2026, 1, 2, 11, 4, 5, tzinfo=SHANGHAI)
STALE = timedelta(minutes=10)
NOW = BEAT + STALE + timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # the times in messages are local, with their zone
    settings.SIM_STALE_SECONDS = 600


def beat(task, at=BEAT):
    """Set a task's heartbeat (updated_at is auto_now, so not through save())."""
    type(task).objects.filter(pk=task.pk).update(updated_at=at)
    return task


@pytest.fixture
def sweep(monkeypatch, django_capture_on_commit_callbacks):
    """sweep_lost_tasks, returning what it did and the worker messages it sent (on commit)."""

    def sweep(**kwargs):
        sent = []
        monkeypatch.setattr(dispatch, "publish", lambda name, args, countdown=None: sent.append((name, args)))
        with django_capture_on_commit_callbacks(execute=True):
            done = sweep_lost_tasks(**kwargs)
        return done, sent

    return sweep


def test_lost_running_tasks_of_every_kind_fail_saying_since_when():
    cluster = f.make_cluster()
    data = beat(f.make_data_task(cluster, status="in_progress", started_at=BEAT - timedelta(hours=1)))
    copy = beat(f.make_secondary_data_task(f.make_data_task(f.make_cluster(), started_at=BEAT - timedelta(hours=3)),
                                           status="in_progress", started_at=BEAT - timedelta(hours=1)))
    cleanup = beat(f.make_cleanup_task(cluster, status="running", started_at=BEAT - timedelta(hours=1)))

    done = sweep_lost_tasks(now=NOW)

    assert done == {"failed": [("data", data.pk), ("secondary_data", copy.pk), ("cleanup", cleanup.pk)],
                    "finished": [], "requeued": []}
    reason = "Worker lost: no progress since 2026-01-02 11:04:05 CST."
    for task in (data, copy, cleanup):
        task.refresh_from_db()
        event = task.events.get()
        assert (task.status, failure_of(task), task.ended_at, task.updated_at) == ("failed", reason, NOW, NOW)
        assert (event.old_status, cause_of(event), event.actor_label, event.created_at) == (
            "running" if task is cleanup else "in_progress", reason, "sweeper", NOW)


def test_a_task_is_lost_only_once_its_heartbeat_is_older_than_the_stale_time():
    cluster = f.make_cluster()
    on_the_edge = beat(f.make_data_task(cluster, status="in_progress", started_at=BEAT - timedelta(hours=1)),
                       at=NOW - STALE)
    assert sweep_lost_tasks(now=NOW)["failed"] == []  # SIM_STALE_SECONDS, exactly: not yet
    assert sweep_lost_tasks(now=NOW, stale=STALE - timedelta(seconds=1))["failed"] == [("data", on_the_edge.pk)]


def test_stuck_log_moves_are_finished_saying_since_when():
    cluster = f.make_cluster()
    started = BEAT - timedelta(days=1)
    stopping = beat(f.make_log_task(cluster, status="stopping", started_at=started))
    source = f.make_log_task(f.make_cluster(), status="stopped", started_at=started, ended_at=BEAT)
    starting_copy = beat(f.make_secondary_log_task(source, status="starting"))

    done = sweep_lost_tasks(now=NOW)

    assert done == {"failed": [], "finished": [("log", stopping.pk), ("secondary_log", starting_copy.pk)],
                    "requeued": []}
    cause = "Finished by the sweeper: the worker moving it was lost (no progress since 2026-01-02 11:04:05 CST)."
    for task, status in ((stopping, "stopped"), (starting_copy, "in_progress")):
        task.refresh_from_db()
        event = task.events.get()
        assert (task.status, cause_of(event), event.actor_label, event.created_at) == (status, cause, "sweeper", NOW)


def test_log_moves_in_time_and_settled_log_backups_are_left_alone():
    fresh = [f.make_log_task(f.make_cluster(), status=status) for status in ("starting", "stopping")]
    settled = [beat(f.make_log_task(f.make_cluster(), status=status)) for status in ("in_progress", "stopped")]
    for task in fresh:
        beat(task, at=NOW - timedelta(seconds=30))

    assert sweep_lost_tasks(now=NOW) == {"failed": [], "finished": [], "requeued": []}
    assert [LogBackupTask.objects.get(pk=t.pk).status for t in fresh + settled] == [
        "starting", "stopping", "in_progress", "stopped"]
    assert not any(t.events.exists() for t in fresh + settled)


def test_a_cleanup_never_started_is_queued_again(sweep):
    cluster = f.make_cluster()
    waiting = beat(f.make_cleanup_task(cluster, status="not_started"))
    just_queued = beat(f.make_cleanup_task(f.make_cluster(), status="not_started"), at=NOW - timedelta(seconds=30))

    done, published = sweep(now=NOW)

    assert done == {"failed": [], "finished": [], "requeued": [("cleanup", waiting.pk)]}
    assert published == [(dispatch.RUN_CLEANUP, (waiting.pk,))]
    waiting.refresh_from_db()
    just_queued.refresh_from_db()
    assert (waiting.status, waiting.updated_at) == ("not_started", NOW)  # not lost again at the next sweep
    assert (just_queued.status, just_queued.updated_at) == ("not_started", NOW - timedelta(seconds=30))


def test_finished_tasks_however_old_are_not_touched_nor_walked(sweep):
    def sweep_queries():
        with CaptureQueriesContext(connection) as queries:
            assert sweep(now=NOW) == ({"failed": [], "finished": [], "requeued": []}, [])
        return len(queries)

    alone = sweep_queries()
    cluster = f.make_cluster()
    old = BEAT - timedelta(days=30)
    finished = [
        *(f.make_data_task(cluster, status=s, started_at=old) for s in ("completed", "failed")),
        *(f.make_cleanup_task(cluster, status=s, started_at=old) for s in ("completed", "failed")),
        f.make_log_task(cluster, status="stopped"),
        f.make_log_task(cluster, status="failed"),
    ]
    for task in finished:
        beat(task, at=old)

    assert sweep_queries() == alone  # one query per kind, however long the history
    for task in finished:
        task.refresh_from_db()
        assert task.updated_at == old and not task.events.exists()
    assert not DataBackupTask.objects.filter(failure_code="worker_lost").exists()
    assert CleanupTask.objects.filter(status="not_started").count() == 0
    assert not SecondaryDataBackupTask.objects.exists() and not SecondaryLogBackupTask.objects.exists()
