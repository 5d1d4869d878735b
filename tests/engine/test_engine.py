"""The simulated machinery and the services, driven in-process with explicit
``now`` (backups/engine/simulation.py, backups/engine/services.py).  The same paths under a
real worker process are in tests/system/test_worker.py."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask

from backups.choices import BackupMethod, BackupMode, CleanupStatus, LogBackupStatus, PolicyState, Trigger
from backups.engine import outcomes, schedules, services, simulation
from backups.engine.outcomes import cause_of, failure_of
from backups.engine.services import ActionRefused
from backups.models import (
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    TaskEvent,
)
from tests import factories as f

pytestmark = pytest.mark.django_db
GB = 2**30


@pytest.fixture(autouse=True)
def _quiet_simulation(settings):
    settings.SIM_SPEED = 60
    settings.SIM_SEED = "7"
    settings.SIM_FAILURE_RATE = 0
    settings.SIM_LOG_FAULT_RATE = 0


def finish(task, after=timedelta(days=1)):
    """Advance a data backup far enough in simulated time to end it."""
    assert simulation.advance_data_backup(task.pk, now=task.started_at + after) is None
    task.refresh_from_db()
    return task


@pytest.fixture
def cluster():
    cluster = f.make_cluster()
    f.make_host(cluster, role="leader")
    return cluster


@pytest.fixture
def policy(cluster):
    policy = f.make_policy(cluster, log_backup_enabled=True)
    policy.refresh_from_db()  # run_at as a time, not the factory's string
    return policy


def test_instant_full_backup_runs_to_completion(cluster, policy, admin_user):
    task = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=6 * GB)
    assert (task.status, task.trigger, task.requested_by, task.backup_method) == ("in_progress", "instant", admin_user, "physical")
    assert task.backup_set.number == 1 and task.data_version == cluster.data_version
    # 6 GiB at 120 MiB/s after 180 s of set-up is 231 simulated seconds: 3.85 real seconds at 60x.
    delay = simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(seconds=1))
    task.refresh_from_db()
    assert task.status == "in_progress" and task.progress == 25 and 0 < delay <= 1
    task = finish(task, after=timedelta(seconds=4))
    assert task.status == "completed" and task.progress == 100 and task.ended_at
    events = list(task.events.order_by("id").values_list("old_status", "new_status", "actor_id"))
    assert events == [("", "in_progress", admin_user.pk), ("in_progress", "completed", None)]


def test_a_step_after_the_end_does_nothing(cluster, policy, admin_user):
    task = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user))
    assert simulation.advance_data_backup(task.pk) is None
    assert task.events.count() == 2


def test_forced_failure_shows_its_reason(cluster, policy, admin_user):
    task = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user, force_outcome="fail"))
    assert task.status == "failed"
    assert "Storage destination unreachable" in failure_of(task) and policy.destination.uri in failure_of(task)
    assert task.progress == 40


def test_a_backup_longer_than_the_timeout_fails_with_timeout(cluster, admin_user):
    f.make_policy(cluster, data_backup_timeout_minutes=1)
    task = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=100 * GB))
    assert task.status == "failed" and failure_of(task).startswith("Timed out after 1 minutes")


def test_seeded_outcomes_repeat(settings, cluster, policy):
    settings.SIM_FAILURE_RATE = 0.5
    plans = [simulation.plan_data_backup(cluster, "full", policy) for _ in range(2)]
    assert plans[0] == plans[1]


def test_incremental_joins_the_full_backups_set(cluster, policy, admin_user):
    full = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user))
    incremental = services.instant_backup(cluster, None, BackupMode.INCREMENTAL, admin_user)
    assert incremental.backup_set_id == full.backup_set_id
    assert BackupSet.objects.count() == 1


def test_second_full_backup_starts_a_new_set(cluster, policy, admin_user):
    first = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user))
    second = services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    assert second.backup_set.number == first.backup_set.number + 1


def test_completed_backup_starts_its_secondary_copy(cluster, admin_user):
    secondary = f.make_destination(kind="object", uri="oss://copies/")
    policy = f.make_policy(cluster, secondary_enabled=True, secondary_destination=secondary)
    task = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user, size_bytes=GB))
    copy = SecondaryDataBackupTask.objects.get(source=task)
    assert copy.status == "in_progress" and copy.backup_set_id == task.backup_set_id
    # The engine's one layout (the demo writes it too): the same path on each destination.
    number = task.backup_set.number
    assert task.storage_directory == simulation.data_directory(policy.destination.uri, policy.directory, number)
    assert copy.storage_directory == simulation.data_directory("oss://copies/", policy.directory, number)
    assert copy.storage_directory == f"oss://copies/{cluster.name}/data/{number}"
    assert simulation.advance_secondary_data_backup(copy.pk, now=copy.started_at + timedelta(hours=1)) is None
    copy.refresh_from_db()
    assert copy.status == "completed"


def test_no_secondary_copy_without_the_policy_asking(cluster, policy, admin_user):
    finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user))
    assert not SecondaryDataBackupTask.objects.exists()


# --- Refusals of the service (the forms show the same messages: test_actions) ---


def test_refuses_without_an_active_policy(cluster, admin_user):
    with pytest.raises(ActionRefused, match="has no active backup policy"):
        services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    assert DataBackupTask.objects.count() == 0 and BackupSet.objects.count() == 0


def test_refuses_incremental_without_full(cluster, policy, admin_user):
    f.make_data_task(cluster, status="failed")  # a failed full is no base
    with pytest.raises(ActionRefused, match="needs a completed full backup") as refused:
        services.instant_backup(cluster, None, BackupMode.INCREMENTAL, admin_user)
    assert refused.value.field == "mode"
    assert DataBackupTask.objects.count() == 1


def test_refuses_incremental_on_an_expired_set(cluster, policy, admin_user):
    f.make_data_task(cluster, backup_set=f.make_backup_set(cluster, expired_at=timezone.now()))
    with pytest.raises(ActionRefused, match="needs a completed full backup"):
        services.instant_backup(cluster, None, BackupMode.INCREMENTAL, admin_user)


def test_refuses_incremental_for_another_tenant(cluster, policy, admin_user):
    tenant = f.make_tenant(cluster)
    f.make_data_task(cluster)  # cluster-wide full only
    with pytest.raises(ActionRefused, match="needs a completed full backup"):
        services.instant_backup(cluster, tenant, BackupMode.INCREMENTAL, admin_user)


def test_refuses_a_second_running_backup(cluster, policy, admin_user):
    running = services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    with pytest.raises(ActionRefused, match=f"already running data backup #{running.pk}"):
        services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    assert DataBackupTask.objects.count() == 1 and BackupSet.objects.count() == 1


def test_refuses_logical_incremental(cluster, admin_user):
    f.make_policy(cluster, backup_method=BackupMethod.LOGICAL)
    with pytest.raises(ActionRefused, match="Logical backups are full backups only"):
        services.instant_backup(cluster, None, BackupMode.INCREMENTAL, admin_user)


def test_refuses_second_logical_backup_of_a_data_version(cluster, admin_user):
    f.make_policy(cluster, backup_method=BackupMethod.LOGICAL)
    first = finish(services.instant_backup(cluster, None, BackupMode.FULL, admin_user))
    with pytest.raises(ActionRefused, match=f"already has a logical backup \\(#{first.pk}\\)"):
        services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    simulation.compact(cluster)
    assert services.instant_backup(cluster, None, BackupMode.FULL, admin_user).data_version == first.data_version + 1


def test_the_database_constraint_backs_the_check(cluster, policy, admin_user, monkeypatch):
    """Even if the friendly check is raced past, the constraint refuses cleanly."""
    services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    monkeypatch.setattr(services, "check_data_backup", lambda *args: None)
    with pytest.raises(ActionRefused, match="already running a data backup"):
        services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    assert DataBackupTask.objects.count() == 1


# --- Log backups (SIM-3) ---------------------------------------------------------


def test_stop_then_worker_finishes(cluster, admin_user):
    log = f.make_log_task(cluster)
    assert services.stop_log_backup("log", log.pk, admin_user) == f"Log backup #{log.pk} is stopping."
    log.refresh_from_db()
    assert log.status == "stopping"
    assert simulation.finish_log_move("log", log.pk) == "stopped"
    assert simulation.finish_log_move("log", log.pk) is None  # a re-delivered message
    log.refresh_from_db()
    assert log.status == "stopped" and log.ended_at
    assert list(log.events.order_by("id").values_list("new_status", "actor_label")) == [
        ("stopping", "operator"),
        ("stopped", "worker"),
    ]


def test_start_then_worker_finishes(cluster, admin_user):
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPED)
    services.start_log_backup("log", log.pk, admin_user)
    assert simulation.finish_log_move("log", log.pk) == "in_progress"
    log.refresh_from_db()
    assert log.status == "in_progress" and log.ended_at is None


def test_start_refused_while_another_log_backup_of_the_cluster_runs(cluster, admin_user):
    old = f.make_log_task(cluster, status=LogBackupStatus.STOPPED)
    f.make_log_task(cluster)
    with pytest.raises(ActionRefused, match="already has a running log backup"):
        services.start_log_backup("log", old.pk, admin_user)
    old.refresh_from_db()
    assert old.status == "stopped" and TaskEvent.objects.count() == 0


def _ancient_and_current(cluster):
    """A log backup stopped three weeks ago and the cluster's newer, current one."""
    now = timezone.now()
    ancient = f.make_log_task(cluster, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=22),
                              ended_at=now - timedelta(days=21))
    current = f.make_log_task(cluster, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=2),
                              ended_at=now - timedelta(hours=5))
    return ancient, current


def test_start_refused_on_a_log_backup_that_is_not_the_clusters_current(cluster, admin_user):
    ancient, current = _ancient_and_current(cluster)
    with pytest.raises(ActionRefused) as refused:
        services.start_log_backup("log", ancient.pk, admin_user)
    assert str(refused.value) == (
        f"Log backup #{ancient.pk} is not the cluster's current log backup (#{current.pk} is): start that one."
    )
    ancient.refresh_from_db()
    assert ancient.status == "stopped" and TaskEvent.objects.count() == 0
    services.start_log_backup("log", current.pk, admin_user)
    assert LogBackupTask.objects.get(pk=current.pk).status == "starting"


def test_a_newer_log_backup_of_another_cluster_does_not_matter(cluster, admin_user):
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPED, started_at=timezone.now() - timedelta(days=22))
    f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED)
    services.start_log_backup("log", log.pk, admin_user)
    assert LogBackupTask.objects.get(pk=log.pk).status == "starting"


def test_secondary_start_refused_unless_the_newest_copy_of_the_current_log_backup(cluster, admin_user):
    ancient, current = _ancient_and_current(cluster)
    now = timezone.now()
    of_ancient = f.make_secondary_log_task(ancient, status=LogBackupStatus.STOPPED)
    older = f.make_secondary_log_task(current, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=2))
    newest = f.make_secondary_log_task(current, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=1))
    for stale in (of_ancient, older):
        with pytest.raises(ActionRefused) as refused:
            services.start_log_backup("secondary_log", stale.pk, admin_user)
        assert str(refused.value) == (
            f"Secondary log backup #{stale.pk} is not the current copy of the cluster's log backup "
            f"(#{newest.pk} is): start that one."
        )
        assert SecondaryLogBackupTask.objects.get(pk=stale.pk).status == "stopped"
    assert TaskEvent.objects.count() == 0
    services.start_log_backup("secondary_log", newest.pk, admin_user)
    assert SecondaryLogBackupTask.objects.get(pk=newest.pk).status == "starting"


def test_secondary_start_refused_when_the_current_log_backup_has_no_copy(cluster, admin_user):
    ancient, current = _ancient_and_current(cluster)
    copy = f.make_secondary_log_task(ancient, status=LogBackupStatus.STOPPED)
    with pytest.raises(ActionRefused) as refused:
        services.start_log_backup("secondary_log", copy.pk, admin_user)
    assert str(refused.value) == (
        f"Secondary log backup #{copy.pk} copies log backup #{ancient.pk}, which is not the cluster's current "
        f"log backup (#{current.pk} is)."
    )


def test_tick_advances_every_running_log_backup_in_one_update(cluster, django_assert_num_queries):
    now = timezone.now()
    running = [f.make_log_task(c, latest_point=now - timedelta(hours=1)) for c in [cluster] + [f.make_cluster() for _ in range(3)]]
    stopped = f.make_log_task(f.make_cluster(), status="stopped", latest_point=now - timedelta(hours=1))
    # Log backups, their secondary copies, then the delays they leave read
    # and sampled in one upsert (engine/samples.py): however many there are.
    with django_assert_num_queries(4):
        simulation.tick_log_backups(now=now, interval=5)
    for log in running:
        log.refresh_from_db()
        # 5 real seconds at 60x archive 300 simulated seconds of backlog.
        assert log.latest_point == now - timedelta(hours=1) + timedelta(seconds=300)
    stopped.refresh_from_db()
    assert stopped.latest_point == now - timedelta(hours=1)
    simulation.tick_log_backups(now=now + timedelta(days=1), interval=5)
    running[0].refresh_from_db()
    assert running[0].latest_point <= now + timedelta(days=1) - timedelta(seconds=simulation.LOG_LAG_SECONDS)


def test_caught_up_log_backup_keeps_a_small_delay(cluster):
    now = timezone.now()
    log = f.make_log_task(cluster, latest_point=now - timedelta(seconds=8))
    simulation.tick_log_backups(now=now, interval=5)
    log.refresh_from_db()
    assert log.latest_point == now - timedelta(seconds=simulation.LOG_LAG_SECONDS)


def test_secondary_log_follows_its_source(cluster, admin_user):
    now = timezone.now()
    copy = f.make_secondary_log_task(f.make_log_task(cluster, latest_point=now - timedelta(seconds=5)), latest_point=now - timedelta(hours=2))
    simulation.tick_log_backups(now=now, interval=5)
    copy.refresh_from_db()
    assert copy.latest_point == now - timedelta(hours=2) + timedelta(seconds=300)


def test_log_faults_fail_running_log_backups_and_their_copies(settings, cluster):
    settings.SIM_LOG_FAULT_RATE = 1
    log = f.make_log_task(cluster)
    copy = f.make_secondary_log_task(log)
    simulation.tick_log_backups()
    log.refresh_from_db()
    copy.refresh_from_db()
    assert log.status == "failed" and "Archive log lost" in failure_of(log)
    # A copy fails as a data copy does: its destination does not answer.
    assert copy.status == "failed" and (copy.failure_code, copy.failure_params) == outcomes.failure("storage_unreachable", uri=copy.destination.uri)
    assert cause_of(copy.events.get(new_status="failed")) == failure_of(copy)


def test_a_policy_with_log_backup_starts_one_with_a_secondary_copy(cluster, admin_user):
    secondary = f.make_destination(kind="object", uri="oss://copies")
    policy = f.make_policy(cluster, secondary_enabled=True, secondary_destination=secondary)
    log = services.ensure_log_backup(policy)
    assert log.status == "starting"
    assert log.storage_directory == simulation.log_directory(policy.destination.uri, policy.directory)
    assert services.ensure_log_backup(policy) is None  # one is alive already
    simulation.finish_log_move("log", log.pk)
    copy = log.secondary_copies.get()
    assert copy.status == "starting"
    assert copy.storage_directory == simulation.log_directory("oss://copies", policy.directory)
    assert simulation.finish_log_move("secondary_log", copy.pk) == "in_progress"


# --- Cleanup (SIM-4) -----------------------------------------------------------


def _set_with_full(cluster, days_ago, incrementals=()):
    now = timezone.now()
    backup_set = f.make_backup_set(cluster, created_at=now - timedelta(days=days_ago))
    f.make_data_task(cluster, backup_set=backup_set, started_at=now - timedelta(days=days_ago))
    for inc_days_ago in incrementals:
        f.make_data_task(cluster, backup_set=backup_set, mode="incremental", started_at=now - timedelta(days=inc_days_ago))
    return backup_set


def test_cleanup_expires_sets_older_than_the_window_but_keeps_the_anchor(cluster):
    policy = f.make_policy(cluster, retention_days=7)
    oldest = _set_with_full(cluster, 30, incrementals=[27])
    old = _set_with_full(cluster, 20, incrementals=[17])
    anchor = _set_with_full(cluster, 10, incrementals=[8, 6])  # its incrementals reach into the window
    recent = _set_with_full(cluster, 2)
    assert set(simulation.expirable_sets(policy, timezone.now())) == {oldest.pk, old.pk}
    cleanup = f.make_cleanup_task(cluster, policy=policy, status=CleanupStatus.NOT_STARTED, retention_days=7)
    assert simulation.run_cleanup(cleanup.pk) is None  # scheduled hours ago: waited and ran long since
    cleanup.refresh_from_db()
    assert cleanup.status == "completed"
    assert cleanup.deleted_sets == 2 and cleanup.ended_at
    assert set(BackupSet.objects.filter(expired_at__isnull=False).values_list("pk", flat=True)) == {oldest.pk, old.pk}
    assert not BackupSet.objects.get(pk=anchor.pk).expired_at and not BackupSet.objects.get(pk=recent.pk).expired_at
    assert simulation.run_cleanup(cleanup.pk) is None  # a re-delivered message deletes nothing more


def test_cleanup_keeps_a_set_whose_incremental_is_inside_the_window(cluster):
    policy = f.make_policy(cluster, retention_days=7)
    old = _set_with_full(cluster, 20, incrementals=[3])  # newest task in the window
    _set_with_full(cluster, 10)
    assert simulation.expirable_sets(policy, timezone.now()) == []
    assert old.pk


def test_cleanup_never_deletes_the_only_set(cluster):
    policy = f.make_policy(cluster, retention_days=1)
    _set_with_full(cluster, 100)
    assert simulation.expirable_sets(policy, timezone.now()) == []


def test_a_cleanup_waits_then_runs_for_a_while_with_a_heartbeat_then_completes(cluster):
    policy = f.make_policy(cluster)
    now = timezone.now()
    cleanup = f.make_cleanup_task(cluster, policy=policy, status=CleanupStatus.NOT_STARTED, started_at=now)
    runs_at, ends_at = simulation.cleanup_times(cleanup)
    # At 60x: ten simulated minutes of waiting, forty of deleting.
    assert (runs_at - now, ends_at - runs_at) == (timedelta(seconds=10), timedelta(seconds=40))

    def step(at):
        delay = simulation.run_cleanup(cleanup.pk, now=at)
        cleanup.refresh_from_db()
        return delay, cleanup.status, cleanup.updated_at

    assert step(now + timedelta(seconds=4)) == (5.0, "not_started", now + timedelta(seconds=4))
    assert step(now + timedelta(seconds=8)) == (2.0, "not_started", now + timedelta(seconds=8))
    assert step(runs_at) == (5.0, "running", runs_at)
    assert step(ends_at - timedelta(seconds=1)) == (1.0, "running", ends_at - timedelta(seconds=1))
    assert step(ends_at) == (None, "completed", ends_at)
    assert cleanup.ended_at == ends_at
    assert list(cleanup.events.order_by("id").values_list("new_status", "created_at")) == [
        ("running", runs_at), ("completed", ends_at),
    ]


def test_cleanups_are_scheduled_per_active_policy_once_a_simulated_day(cluster):
    policy = f.make_policy(cluster)
    f.make_policy(f.make_cluster(), state=PolicyState.PAUSED)
    first = simulation.schedule_cleanups()
    assert CleanupTask.objects.get(pk__in=first).policy == policy
    assert simulation.schedule_cleanups() == []


# --- A worker that meets an unexpected error ------------------------------------------------
# It must not leave its task running for the sweeper to call "worker lost":
# the task ends failed with the error, and the error goes on to the worker's log.


def test_a_cleanup_that_raises_ends_failed_with_the_error(cluster):
    policy = f.make_policy(cluster)
    _set_with_full(cluster, 30)
    _set_with_full(cluster, 2)
    cleanup = f.make_cleanup_task(cluster, policy=policy, status=CleanupStatus.NOT_STARTED)
    # A retention no date arithmetic can take, written around every validation.
    CleanupTask.objects.filter(pk=cleanup.pk).update(retention_days=1_000_000)
    with translation.override("en"), pytest.raises(OverflowError):
        simulation.run_cleanup(cleanup.pk)
    cleanup.refresh_from_db()
    assert cleanup.status == "failed" and cleanup.ended_at
    assert failure_of(cleanup).startswith("Cleanup task failed on an unexpected error: OverflowError: ")
    assert cause_of(cleanup.events.latest("id")) == failure_of(cleanup)
    assert not BackupSet.objects.filter(expired_at__isnull=False).exists()
    assert simulation.sweep_lost_tasks(now=timezone.now() + timedelta(hours=1))["failed"] == []


def test_a_data_backup_that_raises_ends_failed_with_the_error(cluster, admin_user, monkeypatch):
    f.make_policy(cluster, secondary_enabled=True, secondary_destination=f.make_destination())
    task = services.instant_backup(cluster, None, BackupMode.FULL, admin_user)

    def refuse(task, now):
        raise RuntimeError("copy refused")

    monkeypatch.setattr(simulation, "start_secondary_copy", refuse)
    with translation.override("en"), pytest.raises(RuntimeError):
        simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(days=1))
    task.refresh_from_db()
    assert task.status == "failed"
    assert failure_of(task) == "Data backup task failed on an unexpected error: RuntimeError: copy refused"


def test_a_secondary_copy_that_raises_ends_failed_with_the_error(cluster, monkeypatch):
    copy = f.make_secondary_data_task(f.make_data_task(cluster), status="in_progress")

    def broken(size_bytes):
        raise ValueError("no size")

    monkeypatch.setattr(simulation, "copy_seconds", broken)
    with translation.override("en"), pytest.raises(ValueError):
        simulation.advance_secondary_data_backup(copy.pk)
    copy.refresh_from_db()
    assert copy.status == "failed" and failure_of(copy).endswith("ValueError: no size")


# --- Lost tasks ---------------------------------------------------------------------


def test_sweeper_fails_a_data_backup_whose_worker_vanished(cluster, policy, admin_user):
    task = services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    later = timezone.now() + timedelta(minutes=5)
    assert simulation.sweep_lost_tasks(now=later)["failed"] == [("data", task.pk)]
    task.refresh_from_db()
    assert task.status == "failed" and failure_of(task).startswith("Worker lost: no progress since")
    assert task.events.latest("id").actor_label == "sweeper"
    assert simulation.advance_data_backup(task.pk) is None  # the old chain, if it ever wakes, stops


def test_sweeper_leaves_healthy_tasks_alone(cluster, policy, admin_user):
    services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    f.make_log_task(cluster)
    assert simulation.sweep_lost_tasks() == {"failed": [], "finished": [], "requeued": []}


def test_sweeper_finishes_a_stuck_stop(cluster, admin_user):
    log = f.make_log_task(cluster)
    services.stop_log_backup("log", log.pk, admin_user)
    done = simulation.sweep_lost_tasks(now=timezone.now() + timedelta(minutes=5))
    assert done["finished"] == [("log", log.pk)]
    log.refresh_from_db()
    event = log.events.latest("id")
    assert log.status == "stopped" and event.actor_label == "sweeper" and "worker moving it was lost" in cause_of(event)


# Every branch of the sweeper: (what is lost, the task as the lost worker left it,
# what the sweeper reports, the status it ends in, the cause it records).
STALE = timedelta(minutes=1)


def _lost_data(cluster):
    return DataBackupTask, f.make_data_task(cluster, status="in_progress")


def _lost_copy(cluster):
    return SecondaryDataBackupTask, f.make_secondary_data_task(f.make_data_task(cluster), status="in_progress")


def _lost_cleanup(cluster):
    return CleanupTask, f.make_cleanup_task(cluster, status="running")


def _log_stuck(status):
    return lambda cluster: (LogBackupTask, f.make_log_task(cluster, status=status))


def _secondary_log_stuck(status):
    return lambda cluster: (SecondaryLogBackupTask, f.make_secondary_log_task(f.make_log_task(cluster), status=status))


SWEEPER_BRANCHES = {
    "running data backup": (_lost_data, "failed", "failed", "Worker lost: no progress since"),
    "running secondary data copy": (_lost_copy, "failed", "failed", "Worker lost: no progress since"),
    "running cleanup": (_lost_cleanup, "failed", "failed", "Worker lost: no progress since"),
    "log backup stuck starting": (_log_stuck("starting"), "finished", "in_progress", "Finished by the sweeper"),
    "log backup stuck stopping": (_log_stuck("stopping"), "finished", "stopped", "Finished by the sweeper"),
    "secondary log stuck starting": (_secondary_log_stuck("starting"), "finished", "in_progress", "Finished by the sweeper"),
    "secondary log stuck stopping": (_secondary_log_stuck("stopping"), "finished", "stopped", "Finished by the sweeper"),
}


@pytest.mark.parametrize("branch", SWEEPER_BRANCHES)
def test_the_sweeper_ends_or_finishes_every_kind_of_lost_task(cluster, branch):
    make, bucket, status, cause = SWEEPER_BRANCHES[branch]
    model, task = make(cluster)
    task.refresh_from_db()
    kind = model.KIND
    # Not yet stale (its last heartbeat exactly at the cutoff): left alone.
    assert simulation.sweep_lost_tasks(now=task.updated_at + STALE, stale=STALE) == {"failed": [], "finished": [], "requeued": []}
    assert model.objects.get(pk=task.pk).status == task.status

    later = task.updated_at + STALE + timedelta(microseconds=1)
    done = simulation.sweep_lost_tasks(now=later, stale=STALE)
    assert done == {"failed": [], "finished": [], "requeued": [], bucket: [(kind, task.pk)]}
    task.refresh_from_db()
    event = task.events.latest("id")
    assert (task.status, event.new_status, event.actor_label) == (status, status, "sweeper")
    assert cause_of(event).startswith(cause)
    if status == "failed":
        assert failure_of(task).startswith(cause) and task.ended_at == later
    # Done once: the next sweep finds nothing more to do.
    assert simulation.sweep_lost_tasks(now=later + STALE * 2, stale=STALE)[bucket] == []


def test_the_sweeper_requeues_a_cleanup_that_was_never_sent(cluster, policy, monkeypatch, django_capture_on_commit_callbacks):
    from backups.engine import dispatch

    sent = []
    monkeypatch.setattr(dispatch, "publish", lambda name, args, countdown=None: sent.append((name, args)))
    cleanup = f.make_cleanup_task(cluster, policy=policy, status="not_started")
    cleanup.refresh_from_db()
    later = cleanup.updated_at + STALE + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        done = simulation.sweep_lost_tasks(now=later, stale=STALE)
    assert done == {"failed": [], "finished": [], "requeued": [("cleanup", cleanup.pk)]}
    assert sent == [(dispatch.RUN_CLEANUP, (cleanup.pk,))]
    cleanup.refresh_from_db()
    # Still not started (a worker runs it), with a fresh heartbeat: not sent again at once.
    assert (cleanup.status, cleanup.updated_at) == ("not_started", later)
    with django_capture_on_commit_callbacks(execute=True):
        assert simulation.sweep_lost_tasks(now=later + timedelta(seconds=1), stale=STALE)["requeued"] == []
    assert len(sent) == 1
    # What the re-sent message runs: the cleanup, to its end.
    assert simulation.run_cleanup(cleanup.pk) is None
    assert CleanupTask.objects.get(pk=cleanup.pk).status == "completed"


def test_every_dispatched_name_is_a_registered_celery_task():
    """The engine names the tasks it queues (backups.engine.dispatch); each
    name must be one the worker knows, or the message is dropped unrun."""
    import backups.tasks  # noqa: F401 - registers the tasks
    from backup_console.celery import app
    from backups.engine import dispatch

    assert dispatch.TASK_NAMES
    missing = [name for name in dispatch.TASK_NAMES if name not in app.tasks]
    assert not missing, missing
    assert {name for name in vars(dispatch).values() if isinstance(name, str) and name.startswith("backups.tasks.")} == set(dispatch.TASK_NAMES)


# --- Scheduled backups (SIM-1) -------------------------------------------------------


def _at(day, hour=2):
    return datetime(2026, 6, day, hour, 0, tzinfo=UTC)  # 2026-06-01 is a Monday


def test_todays_mode():
    policy = f.make_policy(f.make_cluster(), schedule_days={"1": "full", "4": "incremental"})
    assert services.todays_mode(policy, _at(1)) == "full"
    assert services.todays_mode(policy, _at(4)) == "incremental"
    assert services.todays_mode(policy, _at(2)) is None
    policy.schedule_kind, policy.schedule_days = "monthly", {"2": "full"}
    assert services.todays_mode(policy, _at(2)) == "full"


def test_scheduled_run_starts_todays_backup(cluster, policy):
    assert services.run_scheduled_backup(policy.pk, now=_at(1)).startswith("started")
    task = DataBackupTask.objects.get()
    assert (task.trigger, task.mode, task.policy) == (Trigger.SCHEDULE, "full", policy)
    assert task.events.get().actor_label == "beat"


def test_a_redelivered_beat_message_starts_nothing_more(cluster):
    now = timezone.now()
    due = (timezone.localtime(now) - timedelta(minutes=5)).time()
    policy = f.make_policy(cluster, schedule_days={str(day): "full" for day in range(1, 8)}, run_at=due)
    assert services.run_scheduled_backup(policy.pk, now=now).startswith("started")
    finish(DataBackupTask.objects.get())
    again = services.run_scheduled_backup(policy.pk, now=now + timedelta(seconds=30))
    assert again == "already started for this scheduled time"
    assert DataBackupTask.objects.count() == 1


def test_scheduled_incremental_without_a_base_takes_a_full(cluster, policy):
    services.run_scheduled_backup(policy.pk, now=_at(4))
    assert DataBackupTask.objects.get().mode == "full"


def test_paused_policy_starts_nothing(cluster, policy):
    services.pause_policy(policy.pk, AnonymousUser())
    assert services.run_scheduled_backup(policy.pk, now=_at(1)) == "policy gone or paused"
    assert not DataBackupTask.objects.exists()


def test_scheduled_logical_backup_follows_compaction(cluster):
    policy = f.make_policy(cluster, backup_method=BackupMethod.LOGICAL)
    f.make_data_task(cluster, backup_method="logical", data_version=cluster.data_version)
    services.run_scheduled_backup(policy.pk, now=_at(1))
    cluster.refresh_from_db()
    assert DataBackupTask.objects.latest("id").data_version == cluster.data_version == 2


# --- Beat entries ----------------------------------------------------------------------


def test_weekly_policy_gets_a_crontab_on_its_days(cluster):
    policy = f.make_policy(cluster, schedule_days={"1": "full", "4": "incremental", "7": "incremental"}, run_at=time(2, 30))
    entry = schedules.sync_periodic_task(policy)
    assert entry.enabled and entry.task == "backups.tasks.run_scheduled_backup" and entry.args == f"[{policy.pk}]"
    cron = entry.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month) == ("30", "2", "0,1,4", "*")
    policy.refresh_from_db()
    assert policy.periodic_task == entry


def test_monthly_policy_gets_days_of_month(cluster):
    policy = f.make_policy(cluster, schedule_kind="monthly", schedule_days={"1": "full", "15": "incremental"}, run_at=time(3))
    cron = schedules.sync_periodic_task(policy).crontab
    assert (cron.day_of_week, cron.day_of_month) == ("*", "1,15")


def test_pause_and_resume_disable_and_enable_the_beat_entry(cluster, policy):
    schedules.sync_periodic_task(policy)
    assert "paused" in services.pause_policy(policy.pk, AnonymousUser())
    assert PeriodicTask.objects.get(pk=policy.periodic_task_id).enabled is False
    with pytest.raises(ActionRefused, match="already paused"):
        services.pause_policy(policy.pk, AnonymousUser())
    services.resume_policy(policy.pk, AnonymousUser())
    assert PeriodicTask.objects.get(pk=policy.periodic_task_id).enabled is True
    policy.refresh_from_db()
    assert policy.state == "active"


def test_resume_refused_when_another_policy_took_over(cluster, policy):
    services.pause_policy(policy.pk, AnonymousUser())
    f.make_policy(cluster)
    with pytest.raises(ActionRefused, match="already has an active backup policy"):
        services.resume_policy(policy.pk, AnonymousUser())
    policy.refresh_from_db()
    assert policy.state == "paused"


def test_policies_made_elsewhere_get_their_beat_entry(cluster):
    made_in_admin = f.make_policy(cluster)
    paused = f.make_policy(f.make_cluster(), state=PolicyState.PAUSED)
    assert set(schedules.reconcile_periodic_tasks()) == {made_in_admin.pk, paused.pk}
    assert PeriodicTask.objects.get(pk=BackupPolicy.objects.get(pk=paused.pk).periodic_task_id).enabled is False
    assert schedules.reconcile_periodic_tasks() == []
    BackupPolicy.objects.filter(pk=made_in_admin.pk).update(state=PolicyState.PAUSED)  # an admin bulk action
    assert schedules.reconcile_periodic_tasks() == [made_in_admin.pk]
