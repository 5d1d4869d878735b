"""seed_demo and the demo generator in backups/devtools/ (issue 2): a deterministic, idempotent demo, and
bulk top-ups per task kind.  On PostgreSQL (`make test`) the bulk rows go in
through COPY and every constraint of backups/models.py is checked by the
database itself as they land."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from backups.choices import BackupMethod, BackupMode, CleanupStatus, DataBackupStatus, LogBackupStatus, TaskKind, Trigger
from backups.devtools import bulkload, delays, estate, fill, history
from backups.engine import outcomes, simulation
from backups.kinds import KINDS, LOG_KINDS
from backups.models import (
    TASK_MODELS,
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    LogDelaySample,
    RestoreDrillPolicy,
    RestoreDrillRun,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
    TaskEvent,
)
from backups.timerange import Window
from clusters.models import Cluster, Host, Tenant
from tests.factories import make_cluster
from tests.services import require_postgres

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
SEEDED = [Cluster, Tenant, Host, StorageDestination, BackupPolicy, BackupSet, TaskEvent, LogDelaySample, *TASK_MODELS.values()]

# How a foreign key is written in a fingerprint: by natural key, never by id
# (ids depend on the sequences, which a rolled-back test does not reset).
NATURAL = {
    "Cluster": "name", "Tenant": "name", "Host": "ip", "StorageDestination": "name", "BackupSet": "number",
    "BackupPolicy": "cluster__name", "DataBackupTask": "started_at", "LogBackupTask": "started_at",
    "User": "username", "ContentType": "model", "PeriodicTask": "name",
}
# Ids and auto timestamps; created_at is auto on clusters, tenants and policies
# but chosen by the generator on backup sets and events.
SKIP = {"id", "object_id", "updated_at"}


def skipped(model, field):
    return field.name in SKIP or (field.name == "created_at" and model not in (BackupSet, TaskEvent))


def without_ids(value):
    """An event's cause names tasks and policies by id, as the engine's do: in
    its values ({"pk": 12}: "Copy of data backup #12."), or in a text."""
    if isinstance(value, dict):
        return {key: "#id" if key == "pk" else without_ids(item) for key, item in value.items()}
    # A drill's scratch tenant is named for its run: drill_<id>.
    return re.sub(r"#\d+", "#id", re.sub(r"\bdrill_\d+", "drill_#id", value)) if isinstance(value, str) else value


def fingerprint():
    digest = hashlib.sha256()
    for model in SEEDED:
        lookups = []
        for field in model._meta.concrete_fields:
            if skipped(model, field):
                continue
            if field.is_relation:
                lookups.append(f"{field.name}__{NATURAL[field.related_model.__name__]}")
            else:
                lookups.append(field.name)
        rows = sorted((tuple(without_ids(value) for value in row) for row in model.objects.values_list(*lookups)),
                      key=repr)
        digest.update(f"{model.__name__}:{len(rows)}:{rows!r}".encode())
    return digest.hexdigest()


def wipe():
    """Back to an empty database (children first: tasks protect sets and hosts)."""
    for model in (RestoreDrillPolicy, SecondaryDataBackupTask, SecondaryLogBackupTask, DataBackupTask, LogBackupTask, CleanupTask,
                  TaskEvent, BackupSet, BackupPolicy, Host, Tenant, Cluster, StorageDestination):
        model.objects.all().delete()
    get_user_model().objects.all().delete()


def counts():
    return {model.__name__: model.objects.count() for model in SEEDED}


def seed(**options):
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_same_seed_gives_the_same_rows_and_another_seed_other_rows():
    seed(seed=7, now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 600), seed=7, now=NOW)
    first = fingerprint()
    wipe()
    seed(seed=7, now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 600), seed=7, now=NOW)
    assert fingerprint() == first
    wipe()
    seed(seed=8, now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 600), seed=8, now=NOW)
    assert fingerprint() != first


@pytest.mark.django_db
def test_a_second_run_adds_nothing():
    seed(now=NOW)
    before, print_before = counts(), fingerprint()
    out = seed(now=NOW + timedelta(hours=5))
    assert "nothing added" in out
    assert counts() == before
    assert fingerprint() == print_before


@pytest.mark.django_db
def test_reset_rebuilds_the_history_from_another_seed():
    seed(seed=1, now=NOW)
    first = fingerprint()
    seed(seed=2, now=NOW, reset=True)
    assert fingerprint() != first
    wipe()
    seed(seed=2, now=NOW)
    second = fingerprint()
    seed(seed=2, now=NOW, reset=True)
    assert fingerprint() == second


@pytest.mark.django_db
def test_if_empty_leaves_an_existing_estate_alone():
    make_cluster(name="mine")
    out = seed(if_empty=True)
    assert "nothing to do" in out
    assert list(Cluster.objects.values_list("name", flat=True)) == ["mine"]
    assert not DataBackupTask.objects.exists()


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database():
    seed(if_empty=True)
    assert Cluster.objects.count() == len(estate.DEMO_CLUSTERS)


# Several "now"s: around the scheduled runs, the cleanups and midnight.
@pytest.mark.django_db
@pytest.mark.parametrize("now", [NOW, NOW.replace(hour=0, minute=1), NOW.replace(hour=1, minute=45),
                                 NOW.replace(hour=4, minute=20), NOW.replace(hour=23, minute=59), None])
def test_every_status_of_every_list_occurs_in_the_30_day_history(admin_client, now):
    """What an operator sees: each list of the registry (backups/kinds.py), over
    the last 30 days, filtered by each of its statuses, shows at least one row."""
    seed(now=now)
    end = now or timezone.now()
    for kind in KINDS.values():
        assert set(kind.model.objects.values_list("status", flat=True)) == set(kind.model.Status.values), kind.value
        window = kind.model.objects.filter(Window(end - timedelta(days=30), end).q())
        for status in kind.model.Status.values:
            assert window.filter(status=status).exists(), (kind.value, status)
            if now is None:  # the lists' windows are the real clock's
                body = admin_client.get(reverse(kind.list_view), {"range": "30d", "status": status}).content.decode()
                assert "match these filters" not in body, (kind.value, status)


def _in_progress():
    return {
        "data": dict(DataBackupTask.objects.filter(status="in_progress").values_list("pk", "progress")),
        "secondary_data": set(SecondaryDataBackupTask.objects.filter(status="in_progress").values_list("pk", flat=True)),
        "cleanup": dict(CleanupTask.objects.filter(status__in=["not_started", "running"]).values_list("pk", "status")),
    }


@pytest.mark.django_db
def test_just_after_seeding_work_is_in_progress_and_moves_when_the_simulation_steps(settings):
    """A first `make run`: data backups early in their run, a copy and cleanups
    live; stepping the simulation 30 s later (its own step functions, the
    clock moved, nobody sleeping) moves their progress, and none ends at once."""
    settings.SIM_SPEED = 60
    settings.SIM_FAILURE_RATE = 0
    now = NOW  # hours from any scheduled run: the live tasks are the demo's own
    seed(now=now)
    live = _in_progress()
    assert len(live["data"]) >= 2 and live["secondary_data"]
    assert set(live["cleanup"].values()) == {"not_started", "running"}
    assert all(progress < 40 for progress in live["data"].values())  # minutes of work left
    later = now + timedelta(seconds=30)
    for pk in live["data"]:
        assert simulation.advance_data_backup(pk, now=later) is not None  # still running: a next step
    for pk in live["secondary_data"]:
        assert simulation.advance_secondary_data_backup(pk, now=later) is not None
    for pk in live["cleanup"]:
        simulation.run_cleanup(pk, now=later)
    moved = _in_progress()
    assert set(moved["data"]) == set(live["data"])
    assert all(moved["data"][pk] > live["data"][pk] for pk in live["data"]), (live["data"], moved["data"])
    assert moved["secondary_data"] == live["secondary_data"]
    # The waiting cleanup started; the running one goes on or has finished.
    waiting = next(pk for pk, status in live["cleanup"].items() if status == "not_started")
    assert CleanupTask.objects.get(pk=waiting).status == "running"
    # A minute of simulated time per second: ten minutes on, the running backups have ended.
    for pk in live["data"]:
        simulation.advance_data_backup(pk, now=now + timedelta(minutes=10))
    assert not DataBackupTask.objects.filter(pk__in=live["data"], status="in_progress").exists()


@pytest.mark.django_db
def test_a_seeded_backup_lasts_what_the_worker_makes_a_backup_of_its_size_last(settings):
    settings.SIM_SPEED = 60
    seed(now=NOW)
    for task in DataBackupTask.objects.filter(status="completed"):
        wall = simulation.wall(simulation.data_seconds(task.size_bytes, task.backup_method))
        assert abs((task.ended_at - task.started_at) - wall) < timedelta(seconds=1), task.pk
    for copy in SecondaryDataBackupTask.objects.filter(status__in=["completed", "failed"]).select_related("source"):
        wall = simulation.wall(simulation.copy_seconds(copy.source.size_bytes))
        assert abs((copy.ended_at - copy.started_at) - wall) < timedelta(seconds=1), copy.pk
    for cleanup in CleanupTask.objects.filter(status__in=["completed", "failed"]):
        assert cleanup.ended_at == simulation.cleanup_times(cleanup)[1]
    # A full backup takes minutes of wall time at 60x (hours simulated), as one
    # an operator starts does; no copy takes longer than a few times its source.
    fulls = DataBackupTask.objects.filter(status="completed", mode="full", tenant=None)
    longest = max(t.ended_at - t.started_at for t in fulls)
    assert timedelta(minutes=1) < longest < timedelta(minutes=10)
    for copy in SecondaryDataBackupTask.objects.filter(status="completed").select_related("source"):
        source = copy.source
        assert copy.ended_at - copy.started_at < 2 * (source.ended_at - source.started_at) + timedelta(seconds=2)


@pytest.mark.django_db
def test_a_new_full_backup_of_a_seeded_cluster_is_sized_like_its_history(settings):
    settings.SIM_FAILURE_RATE = 0
    seed(now=NOW)
    cluster = Cluster.objects.get(name="ob-prod-hz-01")
    last = DataBackupTask.objects.filter(cluster=cluster, mode="full", tenant=None, status="completed").latest("started_at")
    size, outcome, _fail_at = simulation.plan_data_backup(cluster, BackupMode.FULL, BackupPolicy.objects.get(cluster=cluster))
    assert last.size_bytes <= size <= last.size_bytes * 1.01 + 1 and outcome == "completed"


@pytest.mark.django_db
def test_a_logical_cluster_of_the_demo_can_take_a_logical_backup_that_succeeds(settings, admin_user):
    from backups.engine import services

    settings.SIM_FAILURE_RATE = 0
    seed(now=NOW)
    ready = []
    for cluster in Cluster.objects.filter(policies__backup_method=BackupMethod.LOGICAL, policies__state="active"):
        try:
            services.check_data_backup(cluster, None, BackupMode.FULL, services.active_policy(cluster))
        except services.ActionRefused:
            continue
        ready.append(cluster)
    assert ready, "every logical cluster already has a backup of its current data version"
    task = services.start_data_backup(ready[0], None, BackupMode.FULL, trigger=Trigger.INSTANT, actor=admin_user)
    assert simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(days=1)) is None
    task.refresh_from_db()
    assert (task.status, task.backup_method, task.data_version) == ("completed", "logical", ready[0].data_version)


@pytest.mark.django_db
@pytest.mark.parametrize("now", [NOW, NOW.replace(hour=2, minute=3), None])
def test_the_demo_is_believable(now):
    seed(now=now)
    now = now or estate.default_now()
    assert Cluster.objects.count() == 6
    assert set(Cluster.objects.values_list("db_version", flat=True)) == {"4.2.1", "4.3.0", "3.1.4"}
    assert StorageDestination.objects.values("kind").distinct().count() == 2
    assert BackupPolicy.objects.filter(backup_method=BackupMethod.LOGICAL).exists()
    assert BackupPolicy.objects.filter(secondary_enabled=True).exists()
    for cluster in Cluster.objects.all():
        assert 1 <= cluster.tenants.count() <= 4
        assert 3 <= cluster.hosts.count() <= 6
        assert BackupPolicy.objects.filter(cluster=cluster, state="active").count() == 1
        # 30 days of data backups, nothing in the future, the running one the newest.
        tasks = list(DataBackupTask.objects.filter(cluster=cluster).order_by("started_at"))
        assert len(tasks) >= 28
        assert tasks[0].started_at >= now - timedelta(days=30)
        assert all(t.started_at < now and (t.ended_at is None or t.ended_at <= now) for t in tasks)
        running = [t for t in tasks if t.status == DataBackupStatus.IN_PROGRESS]
        assert len(running) <= 1
        if running:
            assert running[0] == tasks[-1]
        # Backups of one cluster do not overlap.
        for earlier, later in zip(tasks, tasks[1:]):
            assert earlier.ended_at <= later.started_at
    physical = DataBackupTask.objects.filter(backup_method=BackupMethod.PHYSICAL)
    assert physical.filter(mode=BackupMode.INCREMENTAL).count() > physical.filter(mode=BackupMode.FULL).count()
    # Every incremental sits on a set whose full backup completed before it started.
    for task in physical.filter(mode=BackupMode.INCREMENTAL, tenant=None):
        full = task.backup_set.data_tasks.get(mode=BackupMode.FULL)
        assert full.status == DataBackupStatus.COMPLETED and full.ended_at <= task.started_at
    # Logical: full only, data versions rise with time.
    for cluster in Cluster.objects.filter(policies__backup_method=BackupMethod.LOGICAL):
        versions = list(DataBackupTask.objects.filter(cluster=cluster).exclude(status="failed")
                        .order_by("started_at").values_list("data_version", flat=True))
        assert versions == sorted(set(versions))
        # At the newest backup's version, or one past it: compacted since.
        assert cluster.data_version in (max(versions), max(versions) + 1)
    # Sizes and durations go together.
    for task in DataBackupTask.objects.filter(status=DataBackupStatus.COMPLETED):
        assert task.size_bytes > 0 and task.progress == 100
        assert task.storage_directory.startswith(f"{task.policy.destination.uri}/{task.cluster.name}/data/")
    # Failures say why, most naming the destination that let the backup down.
    failures = {outcomes.failure_of(task) for task in DataBackupTask.objects.filter(status="failed")}
    uris = set(StorageDestination.objects.values_list("uri", flat=True))
    assert "" not in failures and any(uri in reason for reason in failures for uri in uris)
    # Secondary copies: of completed backups of secondary-enabled policies, same set.
    for copy in SecondaryDataBackupTask.objects.select_related("source__policy"):
        assert copy.source.status == DataBackupStatus.COMPLETED
        assert copy.source.policy.secondary_enabled
        assert copy.backup_set_id == copy.source.backup_set_id
        assert copy.destination_id == copy.source.policy.secondary_destination_id
        assert copy.started_at >= copy.source.ended_at
    # One live log backup per cluster with log backup on; a couple lag past the threshold.
    live = LogBackupTask.objects.filter(status__in=LogBackupTask.ALIVE)
    assert live.count() == BackupPolicy.objects.filter(log_backup_enabled=True).count()
    lags = {t.cluster.name: now - t.latest_point for t in live if t.latest_point}
    late = [name for name, lag in lags.items() if lag > timedelta(seconds=300)]
    assert len(late) == 2
    assert all(timedelta(0) < lag < timedelta(days=2) for lag in lags.values())
    assert SecondaryLogBackupTask.objects.filter(
        source__policy__secondary_enabled=False).count() == 0
    # Nothing starts after now: the worker runs whatever it finds not started.
    for model in TASK_MODELS.values():
        assert not model.objects.filter(started_at__gt=now).exists(), model
    # Cleanup: daily, today's due on one cluster at least, it expired old sets.
    due = CleanupTask.objects.filter(status="not_started")
    assert due.exists() and not due.exclude(ended_at=None).exists()
    assert BackupSet.objects.exclude(expired_at=None).exists()
    # The live tasks say how they came to be.
    for task in live:
        assert task.events.filter(old_status="", actor_label="seed").exists()


# --- What the demo writes is what the engine writes ----------------------------------------

D, L, C = DataBackupStatus, LogBackupStatus, CleanupStatus


# What the engine writes as the cause of each move (kind, new status): the codes
# of backups/engine/outcomes.py, and for a data backup started with no cause of
# its own its trigger's label (services.start_data_backup), stored as "text"
# (a translation, said again when read).  A move to "failed" says the task's
# failure reason.
ENGINE_CAUSES = {
    (TaskKind.DATA, D.IN_PROGRESS): {"instant_requested", "scheduled", "scheduled_full", "text"},
    (TaskKind.DATA, D.COMPLETED): {"data_finished"},
    (TaskKind.SECONDARY_DATA, D.IN_PROGRESS): {"copy_started"},
    (TaskKind.SECONDARY_DATA, D.COMPLETED): {"copy_finished"},
    (TaskKind.LOG, L.STARTING): {"log_started", "start_requested"},
    (TaskKind.SECONDARY_LOG, L.STARTING): {"log_copy_started", "start_requested"},
    **{(kind, L.IN_PROGRESS): {"log_running", "sweeper_finished"} for kind in LOG_KINDS},
    **{(kind, L.STOPPING): {"stop_requested"} for kind in LOG_KINDS},
    **{(kind, L.STOPPED): {"log_stopped", "sweeper_finished"} for kind in LOG_KINDS},
    (TaskKind.CLEANUP, C.NOT_STARTED): {"cleanup_scheduled"},
    (TaskKind.CLEANUP, C.RUNNING): {"cleanup_started"},
    (TaskKind.CLEANUP, C.COMPLETED): {"cleanup_finished"},
}
TRIGGER_LABELS = {outcomes.stored(label)[1]["msgid"] for label in Trigger.labels}


def engine_failure(task):
    """The reason the engine gives when it fails ``task`` as the demo says it failed
    (simulation.py: a planned data outcome, a destination that does not answer, a log fault)."""
    if isinstance(task, DataBackupTask):
        if task.sim_outcome == "cluster_unavailable_at_start":  # a run on the unavailable cluster
            return outcomes.failure(task.sim_outcome, cluster=task.cluster.name)
        if task.sim_outcome == outcomes.COMPLETED:  # planned to complete: the cluster went away under it
            assert not task.cluster.accepts_backups
            return outcomes.failure("cluster_unavailable", cluster=task.cluster.name)
        assert task.sim_outcome in outcomes.DATA_FAILURES
        return simulation.failure_reason(task.sim_outcome, task)
    if isinstance(task, LogBackupTask):
        return outcomes.failure("log_lost")
    destination = task.policy.destination if isinstance(task, CleanupTask) else task.destination
    return outcomes.failure("storage_unreachable", uri=destination.uri)


@pytest.mark.django_db
def test_every_cause_and_failure_reason_the_demo_writes_is_one_the_engine_writes():
    """As codes and values, never text: a seeded history reads the same as a
    worked one, in either language."""
    seed(now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 1500), now=NOW)
    kind_of = {ContentType.objects.get_for_model(model).pk: kind for kind, model in TASK_MODELS.items()}
    events = TaskEvent.objects.filter(actor_label=history.ACTOR).values_list(
        "content_type", "new_status", "cause_code", "cause_params", "cause")
    seen = set()
    for content_type, status, code, params, text in events:
        kind = kind_of[content_type]
        assert text == "", (kind, status, text)
        if status == "failed":
            continue  # checked below: the task's own failure reason
        assert code in ENGINE_CAUSES[kind, status], (kind, status, code)
        if code == "text":
            assert params["msgid"] in TRIGGER_LABELS, params
        else:
            assert set(params) == outcomes._placeholders(code), (code, params)
        seen.add((kind, status))
    assert seen == set(ENGINE_CAUSES)  # and the demo shows every move the engine makes
    for kind, model in TASK_MODELS.items():
        failed = model.objects.filter(status="failed")
        assert failed.filter(cluster__name__startswith=fill.FLEET_PREFIX).exists(), kind
        assert failed.exclude(cluster__name__startswith=fill.FLEET_PREFIX).exists(), kind
        for task in failed:
            assert task.failure_reason == "" and task.failure_code in outcomes.FAILURES, (kind, task.failure_reason)
            assert outcomes.Said(task.failure_code, task.failure_params) == engine_failure(task), kind
        # The seeded events of the failures say the same.
        failed_events = TaskEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(model), new_status="failed", actor_label=history.ACTOR
        )
        reasons = {pk: (code, params) for pk, code, params in failed.values_list("pk", "failure_code", "failure_params")}
        assert failed_events.exists(), kind
        for pk, code, params in failed_events.values_list("object_id", "cause_code", "cause_params"):
            assert (code, params) == reasons[pk], kind


@pytest.mark.django_db
def test_every_seeded_storage_directory_follows_the_engines_layout():
    seed(now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 1500), now=NOW)
    for task in DataBackupTask.objects.select_related("policy__destination", "backup_set"):
        policy = task.policy
        assert task.storage_directory == simulation.data_directory(
            policy.destination.uri, policy.directory, task.backup_set.number
        )
    for copy in SecondaryDataBackupTask.objects.select_related("destination", "source__policy", "backup_set"):
        assert copy.storage_directory == simulation.data_directory(
            copy.destination.uri, copy.source.policy.directory, copy.backup_set.number
        )
    for task in LogBackupTask.objects.select_related("policy__destination"):
        assert task.storage_directory == simulation.log_directory(task.policy.destination.uri, task.policy.directory)
    for copy in SecondaryLogBackupTask.objects.select_related("destination", "source__policy"):
        assert copy.storage_directory == simulation.log_directory(copy.destination.uri, copy.source.policy.directory)
    # One layout per cluster: a cluster's log backups share one directory per destination.
    for cluster in Cluster.objects.all():
        assert LogBackupTask.objects.filter(cluster=cluster).values("storage_directory").distinct().count() <= 1


# --- The live tasks go to the simulated worker ---------------------------------------------

LIVE = {
    "backups.tasks.run_data_backup": (DataBackupTask, "data", [DataBackupStatus.IN_PROGRESS]),
    "backups.tasks.run_secondary_data_backup": (SecondaryDataBackupTask, "secondary_data", [DataBackupStatus.IN_PROGRESS]),
    "backups.tasks.run_cleanup": (CleanupTask, "cleanup", [CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING]),
    "backups.tasks.run_restore": (RestoreTask, "restore", [DataBackupStatus.IN_PROGRESS]),
}
MOVING = [LogBackupStatus.STARTING, LogBackupStatus.STOPPING]


def sent_messages():
    """(task name, args, has a countdown) of each message on the in-memory broker
    the suite routes Celery to (tests/conftest.py), taking them off it."""
    from backup_console.celery import app

    sent = []
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue(app.conf.task_default_queue)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                break
            sent.append((message.headers["task"], tuple(message.payload[0]), message.headers.get("eta") is not None))
            message.ack()
        queue.close()
    return sent


def live_tasks():
    """What the worker must carry: (task name, args, has a countdown) per live row."""
    expected = []
    for name, (model, _kind, statuses) in LIVE.items():
        expected += [(name, (pk,), False) for pk in model.objects.filter(status__in=statuses).values_list("pk", flat=True)]
    for kind, model in (("log", LogBackupTask), ("secondary_log", SecondaryLogBackupTask)):
        expected += [
            ("backups.tasks.finish_log_move", (kind, pk), True)
            for pk in model.objects.filter(status__in=MOVING).values_list("pk", flat=True)
        ]
    return sorted(expected)


@pytest.mark.django_db
def test_the_live_tasks_are_handed_to_the_worker_after_commit(django_capture_on_commit_callbacks):
    sent_messages()  # whatever other tests left on the broker
    with django_capture_on_commit_callbacks() as callbacks:
        out = seed()
        assert sent_messages() == []  # nothing before the rows are committed
    for callback in callbacks:
        callback()
    expected = live_tasks()
    kinds = {name for name, _args, _countdown in expected}
    assert kinds == {*LIVE, "backups.tasks.finish_log_move"}  # every kind of live task is there
    assert sorted(sent_messages()) == expected
    # The history's own live tasks; the restores seeded after it say so apart.
    history_live = [message for message in expected if message[0] != "backups.tasks.run_restore"]
    assert f"{len(history_live)} live tasks handed to the worker" in out
    assert "demo restores created: " in out


@pytest.mark.django_db
def test_a_second_run_queues_nothing_and_a_reset_queues_again(django_capture_on_commit_callbacks):
    seed(now=NOW)
    sent_messages()
    with django_capture_on_commit_callbacks(execute=True):
        seed(now=NOW)
    assert sent_messages() == []
    with django_capture_on_commit_callbacks(execute=True):
        seed(now=NOW, reset=True)
    assert sorted(sent_messages()) == live_tasks()


@pytest.mark.django_db
def test_the_worker_carries_the_live_tasks_to_their_end(settings, django_capture_on_commit_callbacks):
    """Run each queued message as the worker would: every live task reaches an
    end of the simulation's own, none is left for the sweeper ("Worker lost")."""
    from backup_console.celery import app

    app.loader.import_default_modules()  # registers backups.tasks, as a worker does when it starts
    settings.SIM_SPEED = 10**9  # whatever ran since the seeded start is enough to finish
    settings.SIM_FAILURE_RATE = 0
    sent_messages()
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    messages = sent_messages()
    assert messages
    for name, args, _countdown in messages:
        app.tasks[name](*args)
    for name, args, _countdown in messages:
        if name == "backups.tasks.finish_log_move":
            model = LOG_KINDS[args[0]].model
            status = model.objects.get(pk=args[1]).status
            assert status in (LogBackupStatus.IN_PROGRESS, LogBackupStatus.STOPPED), (name, args, status)
        else:
            model = LIVE[name][0]
            task = model.objects.get(pk=args[0])
            assert task.status == "completed", (name, args, task.status, task.failure_reason)
            assert task.ended_at >= task.started_at


@pytest.mark.django_db
def test_tasks_tops_every_kind_up_and_a_second_call_adds_nothing():
    out = seed(now=NOW, tasks=2000, batch_size=700)
    assert "rows/s" in out
    after_first = {kind: model.objects.count() for kind, model in fill.FILL_MODELS.items()}
    assert all(n >= 2000 for n in after_first.values()), after_first
    # "at least N": the kinds with copies may overshoot a little, not double.
    assert all(n < 2600 for n in after_first.values()), after_first
    assert fill.fill(dict.fromkeys(TaskKind, 2000), now=NOW)["rows"] == 0
    out = seed(now=NOW, tasks=2000)
    assert "nothing added" in out
    assert {kind: model.objects.count() for kind, model in fill.FILL_MODELS.items()} == after_first
    # A bigger target reuses what is there and inserts only the difference.
    result = fill.fill({TaskKind.CLEANUP: 2500}, now=NOW + timedelta(days=1))
    assert result[TaskKind.CLEANUP] == 2500 - after_first[TaskKind.CLEANUP]
    assert CleanupTask.objects.count() == 2500


@pytest.mark.django_db
def test_bulk_rows_respect_the_constraints_and_stay_spread_out_in_time():
    fill.fill(dict.fromkeys(TaskKind, 3000), now=NOW, batch_size=1000)
    fill.fill(dict.fromkeys(TaskKind, 5000), now=NOW, batch_size=1000)  # a second, older window
    fleet = Q(cluster__name__startswith=fill.FLEET_PREFIX)
    for kind, model in TASK_MODELS.items():
        rows = model.objects.filter(fleet)
        # Finished, ended after they started, failures explained.
        assert not rows.filter(ended_at=None).exists(), kind
        assert not rows.filter(ended_at__lt=F("started_at")).exists(), kind
        assert not rows.filter(status="failed", failure_code="", failure_reason="").exists(), kind
        assert not rows.filter(started_at__gt=NOW).exists(), kind
        # Time-range filters stay realistic: a day holds a few thousand rows, not all.
        day = rows.filter(started_at__gte=NOW - timedelta(days=1), started_at__lt=NOW).count()
        assert 0 < day <= 3000, (kind, day)
        assert rows.filter(started_at__lt=NOW - timedelta(days=2)).exists(), kind
    data = DataBackupTask.objects.filter(fleet)
    # Logical: full only and one per data version; physical sets: one full, first.
    assert not data.filter(backup_method="logical", mode="incremental").exists()
    assert not data.filter(backup_method="logical").exclude(status="failed").values("cluster", "data_version") \
        .annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not BackupSet.objects.filter(fleet).annotate(
        fulls=Count("data_tasks", filter=Q(data_tasks__mode="full"))).exclude(fulls=1).exists()
    assert not data.filter(mode="incremental", started_at__lt=F("backup_set__created_at")).exists()
    assert data.filter(mode="incremental").exists()
    assert BackupSet.objects.filter(fleet).values("cluster", "number").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    # A cluster's data backups never overlap.
    for cluster_id in data.values_list("cluster", flat=True).distinct()[:5]:
        spans = list(data.filter(cluster_id=cluster_id).order_by("started_at").values_list("started_at", "ended_at"))
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    copies = SecondaryDataBackupTask.objects.filter(fleet)
    assert not copies.exclude(source__status="completed").exists()
    assert not copies.exclude(backup_set=F("source__backup_set")).exists()
    assert not copies.filter(started_at__lt=F("source__ended_at")).exists()
    assert not SecondaryLogBackupTask.objects.filter(fleet).exclude(cluster=F("source__cluster")).exists()
    # Every status a finished row can have shows up.
    assert set(data.values_list("status", flat=True)) == {"completed", "failed"}
    assert set(LogBackupTask.objects.filter(fleet).values_list("status", flat=True)) == {"stopped", "failed"}
    # Django's own view of the constraints agrees with the database's, on a sample.
    for model in TASK_MODELS.values():
        for task in model.objects.filter(fleet).order_by("?")[:20]:
            task.validate_constraints()
    # Ids came from the sequences, so the console can go on inserting.
    DataBackupTask.objects.create(
        cluster=data[0].cluster, backup_set=data[0].backup_set, mode="incremental", backup_method="physical",
        data_version=1, storage_directory="/x", started_at=NOW, status="failed", failure_reason="x", ended_at=NOW,
    )


@pytest.mark.django_db
def test_the_demo_user_can_log_in(client):
    seed(now=NOW)
    seed(now=NOW)
    assert get_user_model().objects.filter(username="demo").count() == 1
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser and user.is_staff
    assert client.login(username="demo", password="demo")


@pytest.mark.django_db
def test_a_bad_now_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", "--now", "yesterday", stdout=StringIO())


def index_definitions(model):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [model._meta.db_table])
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_big_top_up_rebuilds_every_index_it_set_aside(monkeypatch):
    require_postgres()  # the bulk load sets indexes aside on PostgreSQL only
    before = index_definitions(CleanupTask)
    assert any(name == "cleanup_start" for name, _ in before)
    seen_during = []
    write = bulkload.Writer.write

    def watching(self, batch):  # what the table has while the rows go in
        seen_during.append({name for name, _ in index_definitions(CleanupTask)})
        return write(self, batch)

    monkeypatch.setattr(bulkload, "BULK_LOAD_ROWS", 1000)
    # An empty table, whatever statistics earlier tests left in pg_class (ANALYZE outlives a rollback).
    monkeypatch.setattr(bulkload, "_estimated_rows", lambda models: 0)
    monkeypatch.setattr(bulkload.Writer, "write", watching)
    result = fill.fill({TaskKind.CLEANUP: 3000}, now=NOW, batch_size=1000)
    assert result[TaskKind.CLEANUP] == 3000
    assert seen_during and "cleanup_start" not in seen_during[-1]  # set aside during the load
    assert any(name.endswith("_pkey") for name in seen_during[-1])  # unique ones stay
    assert index_definitions(CleanupTask) == before  # and all back, as they were


@pytest.mark.django_db
def test_an_interrupted_big_top_up_keeps_its_indexes_and_adds_nothing(monkeypatch):
    require_postgres()  # the bulk load sets indexes aside on PostgreSQL only
    before = index_definitions(CleanupTask)
    calls = []

    def failing(self, batch):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return write(self, batch)

    write = bulkload.Writer.write
    monkeypatch.setattr(bulkload, "BULK_LOAD_ROWS", 1000)
    monkeypatch.setattr(bulkload, "_estimated_rows", lambda models: 0)  # an empty table (see above)
    monkeypatch.setattr(bulkload.Writer, "write", failing)
    with pytest.raises(KeyboardInterrupt):
        fill.fill({TaskKind.CLEANUP: 3000}, now=NOW, batch_size=1000)
    assert index_definitions(CleanupTask) == before
    assert CleanupTask.objects.count() == 0


@pytest.mark.django_db
def test_a_big_top_up_with_a_row_pointing_nowhere_is_refused_whole(monkeypatch):
    """The load runs with the foreign-key triggers off (as a superuser, which
    the tests are) and checks every key after: a row pointing at a policy
    that does not exist rolls the whole load back."""
    from django.db import IntegrityError

    require_postgres()
    before = index_definitions(CleanupTask)
    write = bulkload.Writer.write

    def pointing_nowhere(self, batch):
        rows = batch.get(CleanupTask)
        if rows:
            rows[-1]["policy_id"] = 10**12
        return write(self, batch)

    monkeypatch.setattr(bulkload, "BULK_LOAD_ROWS", 1000)
    monkeypatch.setattr(bulkload, "_estimated_rows", lambda models: 0)  # an empty table (see above)
    monkeypatch.setattr(bulkload.Writer, "write", pointing_nowhere)
    with pytest.raises(IntegrityError, match="policy_id = 1000000000000 points at no"):
        fill.fill({TaskKind.CLEANUP: 3000}, now=NOW, batch_size=1000)
    assert CleanupTask.objects.count() == 0
    assert index_definitions(CleanupTask) == before


@pytest.mark.django_db
def test_a_small_top_up_of_a_big_table_keeps_its_indexes(monkeypatch):
    from django.db import connection

    require_postgres()  # the bulk load sets indexes aside on PostgreSQL only
    monkeypatch.setattr(bulkload, "BULK_LOAD_ROWS", 1000)
    fill.fill({TaskKind.CLEANUP: 3000}, now=NOW, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CleanupTask._meta.db_table}")
    seen_during = []
    write = bulkload.Writer.write

    def watching(self, batch):
        seen_during.append({name for name, _ in index_definitions(CleanupTask)})
        return write(self, batch)

    monkeypatch.setattr(bulkload.Writer, "write", watching)
    fill.fill({TaskKind.CLEANUP: 4500}, now=NOW + timedelta(days=1), batch_size=1000)  # 1,500 more: less than the table
    assert CleanupTask.objects.count() == 4500
    assert seen_during and all("cleanup_start" in names for names in seen_during)


@pytest.mark.django_db
def test_the_demo_has_a_drill_policy_and_past_drills_that_succeeded_and_failed():
    out = seed(now=NOW)
    policy = RestoreDrillPolicy.objects.get()
    assert policy.periodic_task.enabled and policy.periodic_task.task == "backups.tasks.run_scheduled_drill"
    runs = list(RestoreDrillRun.objects.select_related("restore_task"))
    assert f"demo restore drills created: {len(runs)}" in out
    statuses = {run.status for run in runs}
    assert statuses == {"succeeded", "failed"}
    for run in runs:
        assert run.restore_task.status == ("completed" if run.status == "succeeded" else "failed")
        assert (run.recovery_seconds is not None) == (run.status == "succeeded")
        assert (run.check_code == "drill_checked") == (run.status == "succeeded")
        assert run.failure_code == run.restore_task.failure_code
    # Kept 48 hours: older scratch tenants were removed, the newest is still there.
    kept = [run for run in runs if run.status == "succeeded" and run.removed_at is None]
    removed = [run for run in runs if run.removed_at is not None]
    assert kept and removed and all(run.scratch_tenant is None for run in removed)
    assert all(run.scratch_tenant.name == run.scratch_tenant_name for run in kept)
    assert "nothing added" in seed(now=NOW) and RestoreDrillRun.objects.count() == len(runs)
    seed(now=NOW, reset=True)
    assert RestoreDrillRun.objects.count() == len(runs) and RestoreDrillPolicy.objects.count() == 1


@pytest.mark.django_db
def test_the_seeded_log_rounds_come_with_the_delay_samples_a_tick_would_have_written(admin_client):
    """The demo's and the fleet's log rounds have hourly delay samples for the
    last 90 days (the cluster page's delay chart is not empty on a first
    ``make run``): one per hour in which a round of the cluster ran, none in
    the hours between rounds, and an hour the engine sampled keeps its value."""
    seed(now=NOW)
    fill.fill(dict.fromkeys(TaskKind, 600), now=NOW)
    samples = list(LogDelaySample.objects.values_list("cluster_id", "hour", "delay_seconds"))
    assert samples
    rounds = {}
    for cluster_id, start, end in LogBackupTask.objects.values_list("cluster_id", "started_at", "ended_at"):
        rounds.setdefault(cluster_id, []).append((start, end or NOW))
    since = NOW - timedelta(days=delays.DAYS)
    for cluster_id, hour, seconds in samples:
        assert since - timedelta(hours=1) < hour < NOW and hour.minute == 0
        assert any(start < hour + timedelta(hours=1) and hour < end for start, end in rounds[cluster_id]), (cluster_id, hour)
        assert 0 < seconds <= 1500
    expected = {(cluster_id, hour) for cluster_id, spans in rounds.items()
                for hour in delays.hours_running([(s, None if e == NOW else e) for s, e in spans], since, NOW)}
    assert {(cluster_id, hour) for cluster_id, hour, _ in samples} == expected
    assert {cluster_id for cluster_id, _, _ in samples} >= set(Cluster.objects.filter(name__startswith=fill.FLEET_PREFIX)
                                                               .values_list("pk", flat=True))
    # What the engine wrote stays.
    cluster_id, hour, _ = samples[0]
    LogDelaySample.objects.filter(cluster_id=cluster_id, hour=hour).update(delay_seconds=7)
    assert delays.backfill([cluster_id], NOW) == 0
    assert LogDelaySample.objects.get(cluster_id=cluster_id, hour=hour).delay_seconds == 7
