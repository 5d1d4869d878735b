"""Acceptance with a real Celery worker (and beat) process on Redis and
PostgreSQL: every state the console shows is reached by the worker."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backups import tasks
from backups.choices import BackupMode, LogBackupStatus, PolicyState
from backups.engine import schedules, services, simulation
from backups.engine.outcomes import cause_of, failure_of
from backups.models import CleanupTask, DataBackupTask, LogBackupTask
from tests import factories as f
from tests.worker import SPEED, WORKER_DB_APP, celery_cluster, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.worker


def task_row(page, pk):
    """The HTML of one task's row of a list page."""
    match = re.search(rf'<tr data-task="{pk}">.*?</tr>', page, re.S)
    assert match, f"no row for task {pk}"
    return match.group(0)


def status_of(model, pk):
    return model.objects.filter(pk=pk).values_list("status", flat=True).first()


def reaches(model, pk, status, timeout=30):
    wait_until(lambda: status_of(model, pk) == status, timeout, message=f"{model.__name__} #{pk} to be {status}")
    return model.objects.get(pk=pk)


@pytest.fixture
def cluster(celery_cluster):
    cluster = f.make_cluster()
    f.make_host(cluster, role="leader")
    return cluster


def test_data_backups_run_on_the_worker(celery_cluster, cluster, admin_user, client):
    celery_cluster.worker()
    f.make_policy(cluster)
    full = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=2**30)
    assert full.status == "in_progress"
    full = reaches(DataBackupTask, full.pk, "completed")
    assert full.progress == 100 and full.ended_at
    assert list(full.events.order_by("id").values_list("new_status", "actor_label")) == [
        ("in_progress", "operator"),
        ("completed", "worker"),
    ]
    # Its own row of the data list shows it completed, in its backup set.
    client.force_login(admin_user)
    response = client.get(reverse("backups:data_list"), {"cluster": cluster.pk})
    assert [(row.pk, row.status) for row in response.context["rows"]] == [(full.pk, "completed")]
    row = task_row(response.content.decode(), full.pk)
    assert re.search(rf"<td[^>]*>{full.backup_set.number}</td>", row), row  # (a column phones leave out)
    assert re.search(r'class="[^"]*status-badge[^"]*"[^>]*>\s*Completed\s*<', row), row

    incremental = services.instant_backup(cluster, None, BackupMode.INCREMENTAL, admin_user)
    incremental = reaches(DataBackupTask, incremental.pk, "completed")
    assert incremental.backup_set_id == full.backup_set_id

    failing = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, force_outcome="fail")
    failing = reaches(DataBackupTask, failing.pk, "failed")
    assert failure_of(failing).startswith("Storage destination unreachable")
    assert cause_of(failing.events.latest("id")) == failure_of(failing)


def test_log_backup_stop_and_start_are_finished_by_the_worker(celery_cluster, cluster, admin_user):
    celery_cluster.worker()
    log = f.make_log_task(cluster)
    services.stop_log_backup("log", log.pk, admin_user)
    assert status_of(LogBackupTask, log.pk) == "stopping"
    log = reaches(LogBackupTask, log.pk, "stopped")
    assert log.ended_at
    services.start_log_backup("log", log.pk, admin_user)
    assert status_of(LogBackupTask, log.pk) == "starting"
    log = reaches(LogBackupTask, log.pk, "in_progress")
    assert log.ended_at is None
    assert list(log.events.order_by("id").values_list("new_status", flat=True)) == [
        "stopping", "stopped", "starting", "in_progress",
    ]


def test_the_ticker_keeps_log_delay_small(celery_cluster, cluster):
    celery_cluster.worker()
    log = f.make_log_task(cluster, latest_point=timezone.now() - timezone.timedelta(minutes=30))  # one tick of backlog
    tasks.tick_log_backups.delay()
    wait_until(
        lambda: LogBackupTask.objects.get(pk=log.pk).latest_point > timezone.now() - timezone.timedelta(seconds=30),
        message="the log backup to catch up",
    )


def test_beat_runs_a_due_policy_and_pausing_stops_it(celery_cluster, cluster, admin_user):
    """Beat is already running when the policy is made, paused and resumed: it
    follows every change without a restart.  The policy's beat entry is the
    real one (task, args, enabled); only its crontab is swapped for a 2-second
    interval so the test need not wait for a wall-clock minute (the crontab
    itself is tested in test_engine and was checked by hand)."""
    worker = celery_cluster.worker()
    beat = celery_cluster.beat()
    policy = f.make_policy(cluster, schedule_days={str(day): "full" for day in range(1, 8)}, run_at="00:00")
    policy.refresh_from_db()

    def every_two_seconds():
        entry = PeriodicTask.objects.get(pk=policy.periodic_task_id)
        entry.crontab = None
        entry.interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
        entry.save()

    def scheduled():
        return DataBackupTask.objects.filter(policy=policy, trigger="schedule")

    schedules.sync_periodic_task(policy)
    policy.refresh_from_db()
    every_two_seconds()
    first = wait_until(scheduled().first, timeout=40, message="beat to start a scheduled backup")
    assert first.events.first().actor_label == "beat"
    reaches(DataBackupTask, first.pk, "completed")

    entry = PeriodicTask.objects.get(pk=policy.periodic_task_id).name
    mark = len(beat.log)
    services.pause_policy(policy.pk, admin_user)
    assert PeriodicTask.objects.get(pk=policy.periodic_task_id).enabled is False
    wait_until(lambda: "Schedule changed." in beat.log[mark:], message="beat to notice the pause")

    def runs_sent():
        return beat.log.count(f"Sending due task {entry} ")

    def runs_done():
        return len(re.findall(r"Task backups\.tasks\.run_scheduled_backup\[[^\]]+\] succeeded", worker.log))

    # Let the runs beat sent before the pause finish, then forget them: only
    # the pause now stands between beat and a new backup.
    assert runs_sent() >= 1  # the log says what beat sent (the first run above)
    wait_until(lambda: runs_done() >= runs_sent(), message="the runs sent before the pause to finish")
    DataBackupTask.objects.filter(policy=policy).delete()
    mark = len(beat.log)
    # Five turns of beat's 1-second loop: more than two periods of the 2-second entry.
    wait_until(lambda: beat.log[mark:].count("beat: Waking up") >= 5, message="beat to go round its loop")
    assert f"Sending due task {entry} " not in beat.log[mark:]
    assert runs_done() == runs_sent()
    assert not DataBackupTask.objects.filter(policy=policy).exists()

    services.resume_policy(policy.pk, admin_user)
    every_two_seconds()
    wait_until(scheduled().exists, timeout=40, message="beat to run the resumed policy")
    assert type(policy).objects.get(pk=policy.pk).state == PolicyState.ACTIVE


def test_a_killed_worker_leaves_nothing_stuck(celery_cluster, cluster, admin_user):
    """SIGKILL mid data backup; the sweeper (run by a second worker) fails it with the reason."""
    first = celery_cluster.worker(pool="prefork")
    f.make_policy(cluster)
    # About a minute of real time at SIM_SPEED: still running when the worker dies.
    task = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=int(60 * SPEED * simulation.THROUGHPUT))
    wait_until(lambda: DataBackupTask.objects.get(pk=task.pk).progress > 0, message="the backup to report progress")
    first.kill()
    assert status_of(DataBackupTask, task.pk) == "in_progress"

    celery_cluster.worker(SIM_STALE_SECONDS=3)
    # The sweeper calls it lost once its last heartbeat is older than 3 s.
    heartbeat = DataBackupTask.objects.get(pk=task.pk).updated_at
    wait_until(lambda: timezone.now() - heartbeat > timedelta(seconds=3.2), message="the heartbeat to go stale")
    tasks.sweep_lost_tasks.delay()
    task = reaches(DataBackupTask, task.pk, "failed")
    assert failure_of(task).startswith("Worker lost: no progress since")
    event = task.events.latest("id")
    assert (event.old_status, event.new_status, event.actor_label) == ("in_progress", "failed", "sweeper")
    assert not DataBackupTask.objects.filter(status="in_progress").exists()
    assert not LogBackupTask.objects.filter(status__in=[LogBackupStatus.STARTING, LogBackupStatus.STOPPING]).exists()


def test_a_worker_keeps_its_database_connection_from_task_to_task(celery_cluster, cluster):
    """Celery's Django fixup alone opens a new connection for every task; the
    worker keeps one for CONN_MAX_AGE instead (backup_console/celery.py)."""
    celery_cluster.worker(pool="prefork", concurrency=1, CONN_MAX_AGE=60)

    def worker_backends():
        with connection.cursor() as cursor:
            # The worker's sessions (named by tests/worker.py), not this process's other threads'.
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                           [connection.settings_dict["NAME"], WORKER_DB_APP])
            return {pid for (pid,) in cursor.fetchall()}

    seen = set()
    for _ in range(3):
        cleanup = f.make_cleanup_task(cluster, status="not_started")  # no policy: it runs, then fails
        tasks.run_cleanup.delay(cleanup.pk)
        reaches(CleanupTask, cleanup.pk, "failed")
        # No sleep needed: a connection closed after each task would show as
        # no backend here (looked at after the close) or as a new one on the
        # next round (looked at before it), and either fails below.
        backends = worker_backends()
        assert backends, "the worker holds no database connection between tasks"
        seen |= backends
    assert len(seen) == 1, seen


def test_a_cleanup_never_sent_to_a_worker_is_requeued_by_the_sweeper_and_run(celery_cluster, cluster):
    """The cleanup was written but its message never published (the broker
    died in between): the sweeper, run on the worker, sends it again, and the
    worker runs it to the end."""
    worker = celery_cluster.worker()
    policy = f.make_policy(cluster)
    cleanup = f.make_cleanup_task(cluster, policy=policy, status="not_started", started_at=timezone.now())
    stale = timezone.now() - timedelta(minutes=10)
    CleanupTask.objects.filter(pk=cleanup.pk).update(updated_at=stale)
    tasks.sweep_lost_tasks.delay()
    cleanup = reaches(CleanupTask, cleanup.pk, "completed")
    assert list(cleanup.events.order_by("id").values_list("old_status", "new_status", "actor_label")) == [
        ("not_started", "running", "worker"),
        ("running", "completed", "worker"),
    ]
    assert cleanup.updated_at > stale
    assert re.search(r"Task backups\.tasks\.run_cleanup\[[^\]]+\] succeeded", worker.log)
