"""Backups on an unavailable cluster: refused when an operator asks, failed
with the reason when beat asks, stopped where they stood when the cluster goes
away mid-run, and a log archive that pauses (its point stands, its delay grows)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backups.choices import BackupMode, LogBackupStatus
from backups.engine import services, simulation
from backups.engine.outcomes import cause_of, failure_of
from backups.engine.services import ActionRefused
from backups.models import BackupSet, DataBackupTask, LogBackupTask, TaskEvent
from clusters.choices import ClusterStatus
from clusters.models import Cluster
from tests import factories as f

pytestmark = pytest.mark.django_db
REFUSAL = "Cluster {} is unavailable: no backup can run there until it is back."


@pytest.fixture(autouse=True)
def _quiet_simulation(settings):
    settings.SIM_SPEED = 60
    settings.SIM_SEED = "7"
    settings.SIM_FAILURE_RATE = 0
    settings.SIM_LOG_FAULT_RATE = 0


@pytest.fixture
def cluster():
    cluster = f.make_cluster(status=ClusterStatus.UNAVAILABLE)
    f.make_host(cluster, role="leader")
    return cluster


def go_down(cluster):
    Cluster.objects.filter(pk=cluster.pk).update(status=ClusterStatus.UNAVAILABLE)


@pytest.mark.parametrize("mode", [BackupMode.FULL, BackupMode.INCREMENTAL])
def test_an_instant_backup_of_an_unavailable_cluster_is_refused_and_writes_nothing(cluster, admin_user, mode):
    f.make_policy(cluster)
    with pytest.raises(ActionRefused) as refused:
        services.instant_backup(cluster, None, mode, admin_user)
    assert (refused.value.message, refused.value.field) == (REFUSAL.format(cluster.name), "cluster")
    assert not DataBackupTask.objects.exists() and not BackupSet.objects.exists() and not TaskEvent.objects.exists()


def test_the_same_backup_starts_once_the_cluster_is_running(cluster, admin_user):
    f.make_policy(cluster)
    Cluster.objects.filter(pk=cluster.pk).update(status=ClusterStatus.RUNNING)
    cluster.refresh_from_db()
    assert services.instant_backup(cluster, None, BackupMode.FULL, admin_user).status == "in_progress"


def test_a_cluster_in_maintenance_still_takes_backups(admin_user):
    cluster = f.make_cluster(status=ClusterStatus.MAINTENANCE)
    f.make_policy(cluster)
    assert services.instant_backup(cluster, None, BackupMode.FULL, admin_user).status == "in_progress"


def test_start_of_a_log_backup_of_an_unavailable_cluster_is_refused(cluster, admin_user):
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPED)
    with pytest.raises(ActionRefused, match=REFUSAL.format(cluster.name)):
        services.start_log_backup("log", log.pk, admin_user)
    log.refresh_from_db()
    assert log.status == "stopped" and not TaskEvent.objects.exists()


def test_stop_of_a_log_backup_of_an_unavailable_cluster_still_works(cluster, admin_user):
    log = f.make_log_task(cluster)
    services.stop_log_backup("log", log.pk, admin_user)
    assert LogBackupTask.objects.get(pk=log.pk).status == "stopping"


def test_a_scheduled_run_on_an_unavailable_cluster_fails_at_once_saying_why(cluster):
    policy = f.make_policy(cluster, schedule_days={str(day): "full" for day in range(1, 8)})
    now = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
    result = services.run_scheduled_backup(policy.pk, now=now)
    task = DataBackupTask.objects.get()
    reason = f"The backup job failed to start: cluster {cluster.name} is unavailable."
    assert result == f"data backup #{task.pk} failed to start: {reason}"
    assert (task.status, failure_of(task), task.trigger, task.progress) == ("failed", reason, "schedule", 0)
    assert task.ended_at == task.started_at
    assert [(e.new_status, cause_of(e), e.actor_label) for e in task.events.order_by("id")] == [
        ("in_progress", f"Scheduled by policy #{policy.pk}.", "beat"),
        ("failed", reason, "beat"),
    ]


def test_a_running_data_backup_fails_when_its_cluster_becomes_unavailable(admin_user):
    cluster = f.make_cluster()
    f.make_policy(cluster)
    task = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=600 * 2**30)
    simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(seconds=30))
    task.refresh_from_db()
    assert task.status == "in_progress" and task.progress > 0
    go_down(cluster)
    assert simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(seconds=40)) is None
    stood = task.progress
    task.refresh_from_db()
    assert task.status == "failed" and task.progress >= stood
    assert failure_of(task) == f"Cluster {cluster.name} became unavailable: the backup could not go on."


def test_the_log_archive_of_an_unavailable_cluster_pauses_and_catches_up_when_it_is_back():
    up, down = f.make_cluster(), f.make_cluster()
    now = timezone.now()
    point = now - timedelta(seconds=10)
    logs = {c.pk: f.make_log_task(c, latest_point=point) for c in (up, down)}
    copy = f.make_secondary_log_task(logs[down.pk], latest_point=point - timedelta(seconds=60))
    go_down(down)
    later = now + timedelta(minutes=5)
    simulation.tick_log_backups(now=later, interval=5)
    for log in logs.values():
        log.refresh_from_db()
    assert logs[up.pk].latest_point > point
    assert logs[down.pk].status == "in_progress" and logs[down.pk].latest_point == point  # paused: the delay grows
    copy.refresh_from_db()
    assert copy.latest_point == point  # the copy drains what was archived, and no more
    Cluster.objects.filter(pk=down.pk).update(status=ClusterStatus.RUNNING)
    simulation.tick_log_backups(now=later + timedelta(seconds=5), interval=5)
    logs[down.pk].refresh_from_db()
    assert logs[down.pk].latest_point > point


def test_a_policy_on_an_unavailable_cluster_starts_no_log_backup(cluster, admin_user):
    policy = f.make_policy(cluster, log_backup_enabled=True)
    assert services.ensure_log_backup(policy) is None
    assert not LogBackupTask.objects.exists()


def test_a_start_that_completes_after_the_cluster_went_away_archives_nothing(cluster, admin_user):
    up = f.make_cluster()
    logs = [f.make_log_task(c, status=LogBackupStatus.STARTING, latest_point=None) for c in (cluster, up)]
    for log in logs:
        assert simulation.finish_log_move("log", log.pk) == "in_progress"
        log.refresh_from_db()
    assert logs[0].latest_point is None  # paused before its first point
    assert logs[1].latest_point is not None
