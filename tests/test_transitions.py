"""The state machine of every task kind (SIM-6, OV-4a): backups/transitions.py."""

import pytest

from backups.choices import CleanupStatus, DataBackupStatus, LogBackupStatus, TaskKind
from backups.models import CleanupTask, DataBackupTask, LogBackupTask, TaskEvent
from backups.transitions import MOVES, IllegalTransition, sources, transition
from tests import factories as f

pytestmark = pytest.mark.django_db

LOG_MOVES = {
    ("starting", "in_progress"),
    ("starting", "stopping"),
    ("starting", "failed"),
    ("in_progress", "stopping"),
    ("in_progress", "failed"),
    ("stopping", "stopped"),
    ("stopping", "failed"),
    ("stopped", "starting"),
}


def legal(kind):
    return {(src, to) for src, targets in MOVES[kind].items() for to in targets}


def test_log_moves_are_the_specs():
    assert legal(TaskKind.LOG) == LOG_MOVES
    assert legal(TaskKind.SECONDARY_LOG) == LOG_MOVES


def test_data_and_cleanup_moves():
    assert legal(TaskKind.DATA) == {("in_progress", "completed"), ("in_progress", "failed")}
    assert legal(TaskKind.SECONDARY_DATA) == legal(TaskKind.DATA)
    assert legal(TaskKind.CLEANUP) == {("not_started", "running"), ("running", "completed"), ("running", "failed")}


def test_it_completes_a_data_backup_and_records_the_event():
    cluster = f.make_cluster()
    task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS)
    left = transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", progress=100)
    task.refresh_from_db()
    assert left == "in_progress"
    assert task.status == "completed" and task.ended_at is not None and task.progress == 100
    event = TaskEvent.objects.get(object_id=task.pk)
    assert (event.old_status, event.new_status, event.cause, event.actor_label) == ("in_progress", "completed", "done", "worker")
    assert event.cluster_id == cluster.pk


def test_it_refuses_to_fail_a_completed_backup_and_writes_nothing():
    task = f.make_data_task(f.make_cluster())
    with pytest.raises(IllegalTransition, match=rf"Data backup #{task.pk} is completed and cannot become failed\."):
        transition(DataBackupTask, task.pk, DataBackupStatus.FAILED, cause="x", failure_reason="x")
    assert TaskEvent.objects.count() == 0
    task.refresh_from_db()
    assert task.status == "completed"


def test_stopping_twice_says_already_stopping():
    task = f.make_log_task(f.make_cluster())
    transition(LogBackupTask, task.pk, LogBackupStatus.STOPPING, cause="stop")
    with pytest.raises(IllegalTransition, match=rf"^Log backup #{task.pk} is already stopping\.$"):
        transition(LogBackupTask, task.pk, LogBackupStatus.STOPPING, cause="stop")
    assert TaskEvent.objects.count() == 1


def test_it_refuses_to_start_a_running_log_backup():
    task = f.make_log_task(f.make_cluster())
    with pytest.raises(IllegalTransition, match=r"is in progress, so it cannot be started\."):
        transition(LogBackupTask, task.pk, LogBackupStatus.STARTING, cause="start")


def test_a_restarted_log_backup_has_not_ended():
    task = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED)
    assert task.ended_at is not None
    transition(LogBackupTask, task.pk, LogBackupStatus.STARTING, cause="start")
    task.refresh_from_db()
    assert task.status == "starting" and task.ended_at is None


def test_expect_narrows_the_sources():
    task = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STARTING)
    with pytest.raises(IllegalTransition):
        transition(LogBackupTask, task.pk, LogBackupStatus.FAILED, cause="x", expect=[LogBackupStatus.STOPPING])


def test_cleanup_runs_then_completes():
    cleanup = f.make_cleanup_task(f.make_cluster(), status=CleanupStatus.NOT_STARTED)
    transition(CleanupTask, cleanup.pk, CleanupStatus.RUNNING, cause="go")
    transition(CleanupTask, cleanup.pk, CleanupStatus.COMPLETED, cause="done", deleted_sets=2)
    cleanup.refresh_from_db()
    assert cleanup.status == "completed" and cleanup.deleted_sets == 2 and cleanup.ended_at
    assert list(cleanup.events.values_list("new_status", flat=True).order_by("id")) == ["running", "completed"]


def test_unknown_task_is_refused_clearly():
    with pytest.raises(IllegalTransition, match=r"Log backup #999999 does not exist\."):
        transition(LogBackupTask, 999999, LogBackupStatus.STOPPING, cause="stop")


def test_sources():
    assert sources(TaskKind.LOG, "stopping") == {"starting", "in_progress"}
    assert sources(TaskKind.LOG, "starting") == {"stopped"}
