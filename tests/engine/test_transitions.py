"""The state machine of every task kind (SIM-6, OV-4a): backups/engine/transitions.py."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from backups.choices import CleanupStatus, DataBackupStatus, LogBackupStatus, TaskKind
from backups.engine import transitions
from backups.engine.transitions import MOVES, IllegalTransition, sources, transition
from backups.models import CleanupTask, DataBackupTask, LogBackupTask, TaskEvent
from tests import factories as f
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["one_statement", "step_by_step"])
def path(request, monkeypatch):
    """Every test runs on both ways of writing a move: PostgreSQL's one
    statement and the portable read-UPDATE-INSERT (SQLite's), which must agree."""
    if request.param == "one_statement":
        require_postgres()
    else:
        monkeypatch.setattr(transitions, "_plain", lambda model, values: False)
    return request.param

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


def test_an_id_no_column_can_hold_does_not_exist_either():
    with pytest.raises(IllegalTransition, match=rf"^Log backup #{10**25} does not exist\.$"):
        transition(LogBackupTask, 10**25, LogBackupStatus.STOPPING, cause="stop")


def test_sources():
    assert sources(TaskKind.LOG, "stopping") == {"starting", "in_progress"}
    assert sources(TaskKind.LOG, "starting") == {"stopped"}


def test_fields_are_written_with_the_move_and_the_event_says_who(admin_user):
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS, progress=10)
    left = transition(DataBackupTask, task.pk, DataBackupStatus.FAILED, cause="disk gone", actor=admin_user,
                      failure_reason="disk gone", progress=42)
    task.refresh_from_db()
    assert left == "in_progress"
    assert (task.status, task.failure_reason, task.progress) == ("failed", "disk gone", 42)
    assert task.ended_at is not None and task.updated_at == task.ended_at
    event = TaskEvent.objects.get(object_id=task.pk)
    assert (event.old_status, event.new_status, event.actor_id, event.actor_label) == (
        "in_progress", "failed", admin_user.pk, "operator")
    assert event.created_at == task.ended_at and event.task == task


def test_a_move_to_a_live_status_clears_the_end_and_the_failure_reason():
    task = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED, failure_reason="old")
    transition(LogBackupTask, task.pk, LogBackupStatus.STARTING, cause="start")
    task.refresh_from_db()
    assert (task.status, task.ended_at, task.failure_reason) == ("starting", None, "")


def test_an_expression_in_fields_is_written_too():
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS, progress=50)
    transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", progress=F("progress") + 50)
    task.refresh_from_db()
    assert (task.status, task.progress) == ("completed", 100)


def test_a_database_error_leaves_the_callers_transaction_usable():
    cluster = f.make_cluster()
    f.make_log_task(cluster)  # the cluster's live log backup
    stopped = f.make_log_task(cluster, status=LogBackupStatus.STOPPED)
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            transition(LogBackupTask, stopped.pk, LogBackupStatus.STARTING, cause="start")
        assert LogBackupTask.objects.filter(cluster=cluster).count() == 2
    assert LogBackupTask.objects.get(pk=stopped.pk).status == "stopped"
    assert not TaskEvent.objects.filter(object_id=stopped.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_commits_the_move_and_its_event_together(path):
    """No test transaction around it: what a worker does.  On PostgreSQL that
    is one statement, one round trip; the portable way is a transaction."""
    cleanup = f.make_cleanup_task(f.make_cluster(), status=CleanupStatus.NOT_STARTED)
    with CaptureQueriesContext(connection) as queries:
        transition(CleanupTask, cleanup.pk, CleanupStatus.RUNNING, cause="go")
    statements = [q["sql"] for q in queries.captured_queries if "django_content_type" not in q["sql"]]
    if path == "one_statement":
        assert len(statements) == 1 and statements[0].startswith("WITH "), statements
    else:
        assert statements[0].startswith("BEGIN") and statements[-1] == "COMMIT", statements
    transition(CleanupTask, cleanup.pk, CleanupStatus.COMPLETED, cause="done", deleted_sets=3)
    cleanup.refresh_from_db()
    assert (cleanup.status, cleanup.deleted_sets) == ("completed", 3) and cleanup.ended_at
    assert list(cleanup.events.order_by("id").values_list("old_status", "new_status")) == [
        ("not_started", "running"), ("running", "completed")]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_refusals_say_why_and_write_nothing():
    cluster = f.make_cluster()
    stopping = f.make_log_task(cluster, status=LogBackupStatus.STOPPING)
    done = f.make_data_task(cluster)
    refusals = [
        (LogBackupTask, stopping.pk, LogBackupStatus.STOPPING, f"Log backup #{stopping.pk} is already stopping."),
        (LogBackupTask, stopping.pk, LogBackupStatus.STARTING,
         f"Log backup #{stopping.pk} is stopping, so it cannot be started."),
        (DataBackupTask, done.pk, DataBackupStatus.FAILED, f"Data backup #{done.pk} is completed and cannot become failed."),
        (LogBackupTask, 999999, LogBackupStatus.STOPPING, "Log backup #999999 does not exist."),
    ]
    for model, pk, to, message in refusals:
        with pytest.raises(IllegalTransition) as refused:
            transition(model, pk, to, cause="x", failure_reason="x")
        assert str(refused.value) == message
    assert not TaskEvent.objects.exists()
    assert LogBackupTask.objects.get(pk=stopping.pk).status == "stopping"
    assert DataBackupTask.objects.get(pk=done.pk).failure_reason == ""
