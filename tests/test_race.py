"""SIM-6 on PostgreSQL: many operators press the same button at once; exactly
one transition happens and the others are told why not."""

import threading

import pytest
from django.db import connection

from backups import services
from backups.choices import LogBackupStatus
from backups.models import LogBackupTask, TaskEvent
from backups.transitions import IllegalTransition
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
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
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
