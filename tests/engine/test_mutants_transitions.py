"""What the state machine promises beyond its happy paths (backups/engine/transitions.py),
written to kill mutants the rest of the suite let live (bench/mutation.sh).

The race tests put a competing mover between the portable path's read and its
conditional UPDATE (Django's execute_wrapper), which is what a second worker
does; they force that path, as tests/test_transitions.py does for SQLite.
"""

from contextlib import contextmanager

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from backups.choices import DataBackupStatus, LogBackupStatus
from backups.engine import transitions
from backups.engine.transitions import IllegalTransition, record_created, transition
from backups.models import DataBackupTask, LogBackupTask, TaskEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


@contextmanager
def competing_mover(model, pk, next_status):
    """Before each conditional UPDATE of ``pk``, another worker sets its status
    to ``next_status(current)``: the move always loses the race."""
    table = model._meta.db_table
    busy = []

    def wrapper(execute, sql, params, many, context):
        if not busy and sql.startswith(f'UPDATE "{table}"') and "status" in sql:
            busy.append(True)
            try:
                current = model.objects.filter(pk=pk).values_list("status", flat=True).get()
                model.objects.filter(pk=pk).update(status=next_status(current))
            finally:
                busy.clear()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


@pytest.fixture
def portable(monkeypatch):
    monkeypatch.setattr(transitions, "_plain", lambda model, values: False)


def test_a_move_that_loses_the_race_is_refused_with_what_won(portable):
    log = f.make_log_task(f.make_cluster())
    with competing_mover(LogBackupTask, log.pk, lambda current: LogBackupStatus.FAILED):
        with pytest.raises(IllegalTransition, match=rf"^Log backup #{log.pk} is failed, so it cannot be stopped\.$"):
            transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop")
    log.refresh_from_db()
    assert log.status == "failed"
    assert not TaskEvent.objects.exists()


def test_a_move_that_never_settles_gives_up_and_writes_nothing(portable):
    """Another worker flips the task between two statuses the move may leave,
    every time: the move stops retrying instead of writing over it."""
    log = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STARTING)
    flip = {LogBackupStatus.STARTING: LogBackupStatus.IN_PROGRESS, LogBackupStatus.IN_PROGRESS: LogBackupStatus.STARTING}
    with competing_mover(LogBackupTask, log.pk, flip.__getitem__):
        with pytest.raises(IllegalTransition, match=r", so it cannot be stopped\.$"):
            transition(LogBackupTask, log.pk, LogBackupStatus.STOPPING, cause="stop")
    log.refresh_from_db()
    assert log.status in ("starting", "in_progress")
    assert not TaskEvent.objects.exists()


def test_a_move_touches_its_own_task_only():
    moved, sibling = (f.make_log_task(f.make_cluster()) for _ in range(2))
    transition(LogBackupTask, moved.pk, LogBackupStatus.STOPPING, cause="stop")
    moved.refresh_from_db()
    sibling.refresh_from_db()
    assert (moved.status, sibling.status) == ("stopping", "in_progress")
    assert list(TaskEvent.objects.values_list("object_id", flat=True)) == [moved.pk]


def test_expect_narrows_the_legal_sources_but_never_widens_them():
    log = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED)
    with pytest.raises(IllegalTransition, match=r"is stopped and cannot become failed\.$"):
        transition(LogBackupTask, log.pk, LogBackupStatus.FAILED, cause="x", failure_reason="x",
                   expect=[LogBackupStatus.STOPPED])
    log.refresh_from_db()
    assert log.status == "stopped" and not TaskEvent.objects.exists()


def test_failing_without_a_reason_keeps_the_reason_already_recorded():
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS, failure_reason="disk slow")
    transition(DataBackupTask, task.pk, DataBackupStatus.FAILED, cause="gave up")
    task.refresh_from_db()
    assert (task.status, task.failure_reason) == ("failed", "disk slow")


def test_a_long_cause_is_cut_to_the_255_characters_an_event_holds():
    cause = "".join(f"{n:03}" for n in range(100))  # 300 characters, each prefix different
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause=cause)
    assert TaskEvent.objects.get().cause == cause[:255]


# --- record_created: the event of a task's birth ------------------------------------


def test_a_birth_event_says_who_why_and_when():
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS)
    event = record_created(task, cause="scheduled")
    event.refresh_from_db()
    assert (event.old_status, event.new_status, event.cause) == ("", "in_progress", "scheduled")
    assert (event.actor_id, event.actor_label) == (None, "worker")
    assert event.created_at == task.started_at and event.task == task and event.cluster_id == task.cluster_id


def test_a_birth_event_of_an_operator_names_them(admin_user):
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS)
    event = record_created(task, cause="instant " + "x" * 300, actor=admin_user, actor_label="beat")
    event.refresh_from_db()
    assert (event.actor_id, event.actor_label) == (admin_user.pk, "operator")
    assert event.cause == ("instant " + "x" * 300)[:255]


def test_a_birth_event_of_an_anonymous_user_names_nobody():
    task = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS)
    event = record_created(task, cause="x", actor=AnonymousUser())
    event.refresh_from_db()
    assert (event.actor_id, event.actor_label) == (None, "operator")
