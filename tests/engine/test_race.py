"""SIM-6 on PostgreSQL: many operators press the same button at once; exactly
one transition happens and the others are told why not."""

import threading
from functools import partial

import pytest
from django.db import connection

from backups.choices import CleanupStatus, LogBackupStatus
from backups.engine import services, transitions
from backups.engine.transitions import IllegalTransition, transition
from backups.models import CleanupTask, LogBackupTask, TaskEvent
from tests import factories as f
from tests.services import require_postgres

THREADS = 16


def press_at_once(action, *args):
    """Run ``action(*args)`` in THREADS threads released together; each has its own connection."""
    barrier = threading.Barrier(THREADS)
    results = []
    lock = threading.Lock()

    def press():
        try:
            barrier.wait()
            outcome = ("ok", action(*args))
        except (IllegalTransition, services.ActionRefused) as refused:
            outcome = ("refused", str(refused))
        except Exception as error:
            outcome = ("error", repr(error))
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=press) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def operator(transactional_db, admin_user):
    require_postgres()
    return admin_user


@pytest.fixture(params=["one_statement", "step_by_step"])
def path(request, transactional_db, monkeypatch):
    """Both ways transitions.transition writes a move (see test_transitions.py)."""
    require_postgres()
    if request.param == "step_by_step":
        monkeypatch.setattr(transitions, "_plain", lambda model, values: False)
    return request.param


def test_sixteen_stops_one_transition(operator):
    log = f.make_log_task(f.make_cluster())
    results = press_at_once(services.stop_log_backup, "log", log.pk, operator)
    assert sorted(kind for kind, _ in results) == ["ok"] + ["refused"] * (THREADS - 1), results
    assert {text for kind, text in results if kind == "refused"} == {f"Log backup #{log.pk} is already stopping."}
    assert LogBackupTask.objects.get(pk=log.pk).status == LogBackupStatus.STOPPING
    assert TaskEvent.objects.filter(object_id=log.pk).count() == 1


def test_sixteen_starts_one_transition(operator):
    log = f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED)
    results = press_at_once(services.start_log_backup, "log", log.pk, operator)
    assert sorted(kind for kind, _ in results) == ["ok"] + ["refused"] * (THREADS - 1), results
    assert {text for kind, text in results if kind == "refused"} == {f"Log backup #{log.pk} is already starting."}
    assert TaskEvent.objects.filter(object_id=log.pk).count() == 1


def test_sixteen_secondary_stops_one_transition(operator):
    copy = f.make_secondary_log_task(f.make_log_task(f.make_cluster()))
    results = press_at_once(services.stop_log_backup, "secondary_log", copy.pk, operator)
    assert [kind for kind, _ in results].count("ok") == 1, results
    assert TaskEvent.objects.filter(object_id=copy.pk).count() == 1


def test_sixteen_instant_backups_one_starts(operator):
    cluster = f.make_cluster()
    f.make_policy(cluster)
    results = press_at_once(services.instant_backup, cluster, None, "full", operator)
    assert [kind for kind, _ in results].count("ok") == 1, results
    assert all("already running" in text for kind, text in results if kind == "refused"), results
    assert cluster.backup_sets.count() == 1


def test_sixteen_workers_one_takes_the_cleanup(path):
    cleanup = f.make_cleanup_task(f.make_cluster(), status=CleanupStatus.NOT_STARTED)
    results = press_at_once(partial(transition, cause="go"), CleanupTask, cleanup.pk, CleanupStatus.RUNNING)
    assert sorted(results) == [("ok", "not_started")] + [("refused", f"Cleanup #{cleanup.pk} is already running.")] * (
        THREADS - 1), results
    assert list(TaskEvent.objects.filter(object_id=cleanup.pk).values_list("old_status", "new_status")) == [
        ("not_started", "running")]


def test_racing_moves_record_what_each_moved_from(path):
    """Half the threads stop a log backup, half fail it: a stop that wins
    leaves it stopping, from which it may still fail.  Each winner's event
    must name the status it really left, so the events chain up."""
    cluster = f.make_cluster()
    for _round in range(4):
        log = f.make_log_task(cluster)
        barrier = threading.Barrier(THREADS)
        left = []

        def move(to):
            try:
                barrier.wait()
                left.append(transition(LogBackupTask, log.pk, to, cause=to, failure_reason="lost"))
            except IllegalTransition:
                pass
            finally:
                connection.close()

        threads = [threading.Thread(target=move, args=(LogBackupStatus.STOPPING if n % 2 else LogBackupStatus.FAILED,))
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        events = list(TaskEvent.objects.filter(object_id=log.pk).order_by("id").values_list("old_status", "new_status"))
        chain = ["in_progress"] + [new for _old, new in events]
        assert [old for old, _new in events] == chain[:-1], events
        assert chain[-1] == LogBackupTask.objects.get(pk=log.pk).status == "failed"
        assert sorted(left) == sorted(old for old, _new in events)
        log.delete()
