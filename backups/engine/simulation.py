"""The simulated backup machinery (SPEC section 4), in one place.

Celery tasks (backups/tasks.py) call these functions; each takes ``now`` so
tests can drive simulated time without sleeping.  Timing scales with
``settings.SIM_SPEED`` (simulated seconds per real second).  Outcomes come from
a ``random.Random`` seeded from ``settings.SIM_SEED`` and the task's identity,
so a seeded run fails the same tasks every time; a data backup's outcome is
planned when it is created (``sim_outcome``) so tests can force it and a
re-delivered message reaches the same end.

Every status change goes through ``transitions.transition``; everything here
is safe to run twice for the same task (a re-delivered message).
"""

import logging
import random
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from clusters.choices import ClusterStatus
from clusters.models import Cluster

from ..choices import BackupMethod, BackupMode, CleanupStatus, DataBackupStatus, LogBackupStatus, PolicyState
from ..kinds import LOG_KINDS
from ..models import BackupPolicy, CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask
from . import dispatch, outcomes, retention
from .outcomes import COMPLETED, DATA_FAILURES
from .retention import expirable_sets, sets_read_by_running_restores  # noqa: F401 - their old home
from .samples import sample_log_delays
from .transitions import IllegalTransition, record_created, transition

log = logging.getLogger(__name__)

# How long simulated work takes.  Every duration below is simulated time; it
# passes SIM_SPEED times faster than the wall clock (``wall``), so at the
# default 60 a full backup of a 2 TB cluster (about five simulated hours)
# runs for five minutes with its progress moving.  The demo history
# (backups/devtools/history.py) takes its durations from these functions at
# the same speed, so a seeded task and a worked one of the same size last
# the same.  Schedules, log checkpoints and the clock itself are wall time.
MB = 2**20
# Bytes per simulated second: a physical backup copies macro blocks, a
# logical one exports rows; a secondary copy moves files between destinations.
THROUGHPUT = 120 * MB
LOGICAL_THROUGHPUT = 50 * MB
COPY_THROUGHPUT = 150 * MB
# Scheduling and the meta phases before the data moves; a backup never takes less.
MIN_DATA_SECONDS = 180
# A copy's own start-up: listing and checking the files of the set.
COPY_SETUP_SECONDS = 60
# A cleanup waits this long to be scheduled ("not started"), then deletes for this long ("running").
CLEANUP_WAIT_SECONDS = 600
CLEANUP_RUN_SECONDS = 2400
# Real seconds between two progress reports of a running data backup (or
# copy, or cleanup): the task re-queues itself instead of holding a worker.
DATA_STEP_SECONDS = 1.0
# Simulated seconds a log backup needs to start or to stop.
LOG_SWITCH_SECONDS = 20
# The archive trails the cluster's clock by this many (real) seconds.
LOG_LAG_SECONDS = 3


def speed():
    return max(float(settings.SIM_SPEED), 0.001)


def wall(seconds):
    """The wall-clock time ``seconds`` of simulated work take at SIM_SPEED."""
    return timedelta(seconds=seconds / speed())


def data_seconds(size_bytes, method=BackupMethod.PHYSICAL):
    """Simulated seconds a data backup of ``size_bytes`` takes, whole."""
    rate = LOGICAL_THROUGHPUT if method == BackupMethod.LOGICAL else THROUGHPUT
    return MIN_DATA_SECONDS + size_bytes / rate


def copy_seconds(size_bytes):
    """Simulated seconds a secondary copy of a ``size_bytes`` backup takes."""
    return COPY_SETUP_SECONDS + size_bytes / COPY_THROUGHPUT


def failure_rate():
    return float(settings.SIM_FAILURE_RATE)


def log_fault_rate():
    return float(settings.SIM_LOG_FAULT_RATE)


def stale_after():
    """Real time without a heartbeat after which the sweeper calls a task lost."""
    return timedelta(seconds=float(settings.SIM_STALE_SECONDS))


def rng(*identity):
    """Deterministic per identity when SIM_SEED is set, truly random otherwise."""
    if settings.SIM_SEED is None:
        return random.Random()
    return random.Random(":".join(str(part) for part in (settings.SIM_SEED, *identity)))




@contextmanager
def failing_on_error(model, pk, running, now):
    """Run a step of running task ``pk``; if it raises, end the task failed
    with the error as its reason, then re-raise (the worker logs it).

    Without this a task whose step raised stayed running until the sweeper
    failed it as "worker lost", hiding what went wrong.  The step's own
    writes roll back with its atomic blocks; the failure is written after.
    """
    try:
        yield
    except Exception as error:
        reason = outcomes.failure(
            "crashed", task=model.KIND, error=f"{type(error).__name__}: {error}"[:500]
        )
        try:
            transition(model, pk, "failed", cause=reason, failure_reason=reason, expect=[running], now=now)
        except IllegalTransition:
            pass  # it ended meanwhile (the sweeper, a duplicate message)
        except Exception:
            log.exception("could not fail %s #%s after an error", model.KIND, pk)
        raise


# --- Where backups go ------------------------------------------------------------


def storage_root(uri, directory):
    """A policy's ``directory`` on the destination at ``uri``: where its backups go."""
    return f"{uri.rstrip('/')}/{directory.strip('/')}"


def data_directory(uri, directory, set_number):
    """Where the data backups of backup set ``set_number`` go (its full and its
    incrementals; a secondary copy: the same path on the secondary destination)."""
    return f"{storage_root(uri, directory)}/data/{set_number}"


def log_directory(uri, directory):
    """Where a policy's log backups archive to (a secondary copy: the same path
    on the secondary destination)."""
    return f"{storage_root(uri, directory)}/clog"


# --- Data backups (SIM-2) ------------------------------------------------------


def data_size(cluster, tenant, r):
    """How much a full backup of ``cluster`` (or of one tenant) copies today:
    what its newest completed full copied, grown a little; a cluster never
    backed up gets a size of its own."""
    fulls = DataBackupTask.objects.filter(cluster=cluster, mode=BackupMode.FULL, status=DataBackupStatus.COMPLETED)
    newest = fulls.filter(tenant=tenant).order_by("-started_at", "-id").values_list("size_bytes", flat=True).first()
    if newest is None and tenant is not None:
        whole = fulls.filter(tenant=None).order_by("-started_at", "-id").values_list("size_bytes", flat=True).first()
        newest = whole and int(whole * r.uniform(0.1, 0.3))
    return int((newest or r.randint(50, 500) * 2**30) * r.uniform(1.0, 1.01))


def plan_data_backup(cluster, mode, policy, *, force_outcome=None, size_bytes=None, tenant=None):
    """Size and fate of a new data backup: (size_bytes, sim_outcome, sim_fail_at)."""
    r = rng("data", cluster.pk, DataBackupTask.objects.filter(cluster=cluster).count())
    if size_bytes is None:
        full = data_size(cluster, tenant, r)
        size_bytes = full if mode == BackupMode.FULL else int(full * r.uniform(0.02, 0.07))
    method = policy.backup_method if policy else BackupMethod.PHYSICAL
    duration = data_seconds(size_bytes, method)
    timeout = policy.data_backup_timeout_minutes * 60 if policy else None
    if force_outcome:
        if force_outcome in (COMPLETED, "complete", "success"):
            return size_bytes, COMPLETED, 100
        key = force_outcome if force_outcome in DATA_FAILURES else "storage_unreachable"
        return size_bytes, key, 40
    if timeout and duration > timeout:
        return size_bytes, "timeout", max(1, min(99, int(timeout * 100 / duration)))
    if r.random() < failure_rate():
        keys = ["storage_unreachable", "disk_full"]
        if mode == BackupMode.FULL:
            keys.append("compaction_needed")
        key = r.choice(keys)
        return size_bytes, key, 0 if key == "compaction_needed" else r.randint(5, 95)
    return size_bytes, COMPLETED, 100


def data_duration(task):
    """Simulated seconds the whole backup takes."""
    return data_seconds(task.size_bytes, task.backup_method)


def failure_reason(key, task):
    """Why data backup ``task`` failed, for its planned outcome ``key`` (one of DATA_FAILURES)."""
    uri = task.policy.destination.uri if task.policy_id else task.storage_directory
    minutes = task.policy.data_backup_timeout_minutes if task.policy_id else 0
    return outcomes.failure(key, uri=uri, minutes=minutes)


def advance_data_backup(pk, now=None):
    """One step of a running data backup: report progress, or finish it.

    Returns the real seconds until the next step, or None when the task is
    no longer running (finished now, or by someone else before).
    """
    now = now or timezone.now()
    task = DataBackupTask.objects.select_related("policy__destination", "cluster").filter(pk=pk).first()
    if task is None or task.status != DataBackupStatus.IN_PROGRESS:
        return None
    with failing_on_error(DataBackupTask, pk, DataBackupStatus.IN_PROGRESS, now):
        return _advance_data_backup(task, now)


def _advance_data_backup(task, now):
    pk = task.pk
    duration = data_duration(task)
    elapsed = max(0.0, (now - task.started_at).total_seconds() * speed())
    progress = min(100, int(elapsed * 100 / duration))
    try:
        if not task.cluster.accepts_backups:
            # Its servers are gone: the backup stops where it stood.
            reason = outcomes.failure("cluster_unavailable", cluster=task.cluster.name)
            transition(
                DataBackupTask, pk, DataBackupStatus.FAILED, cause=reason, failure_reason=reason,
                progress=max(task.progress, min(progress, 99)), now=now,
            )
            return None
        if task.sim_outcome not in ("", COMPLETED) and progress >= task.sim_fail_at:
            reason = failure_reason(task.sim_outcome, task)
            transition(
                DataBackupTask, pk, DataBackupStatus.FAILED, cause=reason, failure_reason=reason,
                progress=task.sim_fail_at, now=now,
            )
            return None
        if progress >= 100:
            with transaction.atomic():
                transition(
                    DataBackupTask, pk, DataBackupStatus.COMPLETED, cause=outcomes.cause("data_finished"), progress=100, now=now
                )
                start_secondary_copy(task, now)
            return None
    except IllegalTransition:
        return None  # someone else (a duplicate message, the sweeper) ended it first
    moved = DataBackupTask.objects.filter(pk=pk, status=DataBackupStatus.IN_PROGRESS).update(
        progress=max(progress, task.progress), updated_at=now
    )
    if not moved:
        return None
    remaining = (duration - elapsed) / speed()
    return max(0.05, min(DATA_STEP_SECONDS, remaining))


def start_secondary_copy(task, now):
    """SIM-5: a completed data backup whose policy asks for it gets a copy."""
    policy = task.policy
    if not (policy and policy.secondary_enabled and policy.secondary_destination_id):
        return None
    copy = SecondaryDataBackupTask.objects.create(
        source=task,
        cluster_id=task.cluster_id,
        tenant_id=task.tenant_id,
        backup_set_id=task.backup_set_id,
        mode=task.mode,
        destination=policy.secondary_destination,
        storage_directory=data_directory(policy.secondary_destination.uri, policy.directory, task.backup_set.number),
        started_at=now,
        status=DataBackupStatus.IN_PROGRESS,
    )
    record_created(copy, cause=outcomes.cause("copy_started", pk=task.pk))
    dispatch.enqueue(dispatch.RUN_SECONDARY_DATA_BACKUP, copy.pk)
    return copy


def advance_secondary_data_backup(pk, now=None):
    """Like ``advance_data_backup`` for a copy (``copy_seconds`` of its source's size)."""
    now = now or timezone.now()
    copy = SecondaryDataBackupTask.objects.select_related("source", "destination").filter(pk=pk).first()
    if copy is None or copy.status != DataBackupStatus.IN_PROGRESS:
        return None
    with failing_on_error(SecondaryDataBackupTask, pk, DataBackupStatus.IN_PROGRESS, now):
        return _advance_secondary_data_backup(copy, now)


def _advance_secondary_data_backup(copy, now):
    pk = copy.pk
    duration = copy_seconds(copy.source.size_bytes)
    elapsed = max(0.0, (now - copy.started_at).total_seconds() * speed())
    try:
        if elapsed >= duration:
            if rng("secondary", pk).random() < failure_rate() / 2:
                reason = outcomes.failure("storage_unreachable", uri=copy.destination.uri)
                transition(SecondaryDataBackupTask, pk, DataBackupStatus.FAILED, cause=reason, failure_reason=reason, now=now)
            else:
                transition(SecondaryDataBackupTask, pk, DataBackupStatus.COMPLETED, cause=outcomes.cause("copy_finished"), now=now)
            return None
    except IllegalTransition:
        return None
    if not SecondaryDataBackupTask.objects.filter(pk=pk, status=DataBackupStatus.IN_PROGRESS).update(updated_at=now):
        return None
    return max(0.05, min(DATA_STEP_SECONDS, (duration - elapsed) / speed()))


def compact(cluster):
    """A major compaction: the cluster reaches its next data version."""
    type(cluster).objects.filter(pk=cluster.pk).update(data_version=F("data_version") + 1)
    cluster.refresh_from_db(fields=["data_version"])


# --- Log backups (SIM-3) -------------------------------------------------------



_AVAILABLE = [status for status in ClusterStatus.values if status != ClusterStatus.UNAVAILABLE]


def log_switch_delay():
    """Real seconds a log backup spends starting or stopping."""
    return LOG_SWITCH_SECONDS / speed()


def finish_log_move(kind, pk, now=None, actor_label="worker", cause=None):
    """Complete what an operator began: starting → in progress, stopping → stopped."""
    model = LOG_KINDS[kind].model
    now = now or timezone.now()
    status = model.objects.filter(pk=pk).values_list("status", flat=True).first()
    try:
        if status == LogBackupStatus.STOPPING:
            transition(model, pk, LogBackupStatus.STOPPED, cause=cause or outcomes.cause("log_stopped"),
                       actor_label=actor_label, expect=[LogBackupStatus.STOPPING], now=now)
        elif status == LogBackupStatus.STARTING:
            with transaction.atomic():
                transition(model, pk, LogBackupStatus.IN_PROGRESS, cause=cause or outcomes.cause("log_running"),
                           actor_label=actor_label, expect=[LogBackupStatus.STARTING], now=now)
                # Nothing is archived on an unavailable cluster: it runs paused (tick_log_backups).
                model.objects.filter(pk=pk, latest_point__isnull=True, cluster__status__in=_AVAILABLE).update(
                    latest_point=now - timedelta(seconds=LOG_LAG_SECONDS)
                )
                if model is LogBackupTask:
                    start_secondary_log(pk, now)
        else:
            return None
    except IllegalTransition:
        return None  # a duplicate message, or the operator changed their mind meanwhile
    return model.objects.filter(pk=pk).values_list("status", flat=True).first()


def start_secondary_log(pk, now):
    """SIM-5: a running log backup whose policy asks for it gets a copy."""
    source = LogBackupTask.objects.select_related("policy__secondary_destination", "policy__destination").get(pk=pk)
    policy = source.policy
    if not (policy and policy.secondary_enabled and policy.secondary_destination_id):
        return None
    if SecondaryLogBackupTask.objects.filter(source=source, status__in=SecondaryLogBackupTask.ALIVE).exists():
        return None
    copy = SecondaryLogBackupTask.objects.create(
        source=source,
        cluster_id=source.cluster_id,
        destination=policy.secondary_destination,
        storage_directory=log_directory(policy.secondary_destination.uri, policy.directory),
        started_at=now,
        status=LogBackupStatus.STARTING,
    )
    record_created(copy, cause=outcomes.cause("log_copy_started", pk=source.pk))
    dispatch.enqueue(dispatch.FINISH_LOG_MOVE, "secondary_log", copy.pk, countdown=log_switch_delay())
    return copy


def tick_log_backups(now=None, interval=None):
    """Advance every running log backup's latest point: one UPDATE per kind.

    A point catches up at SIM_SPEED times real time (a log backup restarted
    after a stop drains its backlog) and never passes ``now - LOG_LAG``.
    The archive of an unavailable cluster pauses, as the database's does when
    its servers are down: it stays in progress, its point stands still and
    its delay grows (the log-delay alert), and it catches up once the cluster
    is back; its secondary copy stops at the point it copies from.  Each
    tick then records the delays it leaves (engine/samples.py) for the
    cluster page's chart.  Returns how many rows moved.
    """
    now = now or timezone.now()
    interval = interval or float(settings.SIM_LOG_TICK_SECONDS)
    step = timedelta(seconds=interval * max(speed(), 1.0))
    head = Value(now - timedelta(seconds=LOG_LAG_SECONDS), output_field=DateTimeField())
    running = LogBackupTask.objects.filter(status=LogBackupStatus.IN_PROGRESS)
    paused = Cluster.objects.filter(status=ClusterStatus.UNAVAILABLE).values("pk")
    moved = running.exclude(cluster_id__in=paused).update(
        latest_point=Least(head, Coalesce(F("latest_point"), F("started_at")) + step, output_field=DateTimeField()),
        updated_at=now,
    )
    source_point = LogBackupTask.objects.filter(pk=OuterRef("source_id")).values("latest_point")[:1]
    moved += SecondaryLogBackupTask.objects.filter(status=LogBackupStatus.IN_PROGRESS).update(
        latest_point=Least(
            Coalesce(Subquery(source_point), head),
            Coalesce(F("latest_point"), F("started_at")) + step,
            output_field=DateTimeField(),
        ),
        updated_at=now,
    )
    sample_log_delays(now)
    inject_log_faults(now)
    return moved


def inject_log_faults(now):
    """SIM-3 faults: now and then (SIM_LOG_FAULT_RATE per tick) a running log
    backup loses its archive log, and a running secondary copy its destination.

    Cheap with thousands of log backups: one COUNT per kind, and rows are read
    only on the rare tick that has a victim.  Returns how many failed.
    """
    rate = log_fault_rate()
    if rate <= 0:
        return 0
    r = rng("log-faults", now.isoformat())
    failed = 0
    for model, uri_field in ((LogBackupTask, "policy__destination__uri"), (SecondaryLogBackupTask, "destination__uri")):
        running = model.objects.filter(status=LogBackupStatus.IN_PROGRESS)
        victims = sum(r.random() < rate for _ in range(running.count()))
        if not victims:
            continue
        for pk, uri in running.order_by("?").values_list("pk", uri_field)[:victims]:
            if model is LogBackupTask:
                reason = outcomes.failure("log_lost")
            else:
                reason = outcomes.failure("storage_unreachable", uri=uri)
            try:
                transition(model, pk, LogBackupStatus.FAILED, cause=reason, failure_reason=reason, now=now)
                failed += 1
            except IllegalTransition:
                pass
    return failed


# --- Cleanup (SIM-4) ------------------------------------------------------------


def cleanup_every():
    """A cleanup per policy every simulated day (at least a minute apart)."""
    return timedelta(seconds=max(60.0, 86400 / speed()))


def schedule_cleanups(now=None):
    """Create a cleanup task for each active policy that is due one."""
    now = now or timezone.now()
    created = []
    recent = CleanupTask.objects.filter(policy=OuterRef("pk"), started_at__gt=now - cleanup_every())
    for policy in BackupPolicy.objects.filter(state=PolicyState.ACTIVE).exclude(Exists(recent)):
        with transaction.atomic():
            cleanup = CleanupTask.objects.create(
                cluster_id=policy.cluster_id, policy=policy, started_at=now, retention_days=policy.retention_days
            )
            record_created(cleanup, cause=outcomes.cause("cleanup_scheduled", days=policy.retention_days))
            dispatch.enqueue(dispatch.RUN_CLEANUP, cleanup.pk)
        created.append(cleanup.pk)
    return created


def cleanup_times(cleanup):
    """When a cleanup starts running and when it ends: it waits
    CLEANUP_WAIT_SECONDS after it was scheduled (its start time), then deletes
    for CLEANUP_RUN_SECONDS (both simulated)."""
    runs_at = cleanup.started_at + wall(CLEANUP_WAIT_SECONDS)
    return runs_at, runs_at + wall(CLEANUP_RUN_SECONDS)


def _step_until(moment, now, step=5.0):
    """Real seconds to the next step: ``moment``, or sooner to report progress."""
    return max(0.05, min(step, (moment - now).total_seconds()))


def run_cleanup(pk, now=None):
    """One step of a cleanup: not started → running once its wait is over,
    running → completed (deleted_sets) or failed once its run is over.

    Returns the real seconds until its next step, or None when it has ended
    (now, or by someone else before).  Each step in between is a heartbeat,
    so the sweeper leaves a waiting or running cleanup alone.
    """
    now = now or timezone.now()
    cleanup = CleanupTask.objects.select_related("policy__destination").filter(pk=pk).first()
    if cleanup is None or cleanup.status not in (CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING):
        return None
    runs_at, ends_at = cleanup_times(cleanup)
    if cleanup.status == CleanupStatus.NOT_STARTED:
        if now < runs_at:
            waiting = CleanupTask.objects.filter(pk=pk, status=CleanupStatus.NOT_STARTED).update(updated_at=now)
            return _step_until(runs_at, now) if waiting else None
        try:
            transition(CleanupTask, pk, CleanupStatus.RUNNING, cause=outcomes.cause("cleanup_started"),
                       expect=[CleanupStatus.NOT_STARTED], now=now)
        except IllegalTransition:
            return None  # already taken by another delivery of this message
    with failing_on_error(CleanupTask, pk, CleanupStatus.RUNNING, now):
        return _run_cleanup(cleanup, now, ends_at)


def _run_cleanup(cleanup, now, ends_at):
    pk = cleanup.pk
    try:
        if cleanup.policy is None:
            reason = outcomes.failure("policy_deleted")
            transition(CleanupTask, pk, CleanupStatus.FAILED, cause=reason, failure_reason=reason, now=now)
            return None
        if now < ends_at:
            running = CleanupTask.objects.filter(pk=pk, status=CleanupStatus.RUNNING).update(updated_at=now)
            return _step_until(ends_at, now) if running else None
        if rng("cleanup", pk).random() < failure_rate() / 2:
            reason = outcomes.failure("storage_unreachable", uri=cleanup.policy.destination.uri)
            transition(CleanupTask, pk, CleanupStatus.FAILED, cause=reason, failure_reason=reason, now=now)
            return None
        policy = cleanup.policy
        with transaction.atomic():
            # The same selection the cleanup preview shows (engine/retention.py).
            doomed = retention.doomed_sets([retention.Due.of(policy, now, cleanup.retention_days)], lock=True)[policy.pk]
            deleted = retention.expire(doomed, now)  # and what they held leaves their destinations
            transition(
                CleanupTask, pk, CleanupStatus.COMPLETED, expect=[CleanupStatus.RUNNING],
                cause=outcomes.cause("cleanup_finished", count=deleted), deleted_sets=deleted, now=now,
            )
    except IllegalTransition:
        return None  # the sweeper gave up on it meanwhile: nothing was written
    return None


# --- Lost tasks ------------------------------------------------------------------


def _clock(moment):
    """A moment as the sweeper's texts name it (local time, with its zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def sweep_lost_tasks(now=None, stale=None):
    """Find tasks whose worker vanished and end or resume them, saying why.

    Running data backups (and copies, and cleanups) whose heartbeat
    (updated_at) is older than ``stale`` are failed; a log backup stuck
    starting or stopping is finished, since that move is cheap and safe.
    Returns a dict of what it did, by kind.
    """
    now = now or timezone.now()
    stale = stale or stale_after()
    cutoff = now - stale
    done = {"failed": [], "finished": [], "requeued": []}
    def lost(updated_at):
        return outcomes.failure("worker_lost", time=_clock(updated_at))

    for model, running in (
        (DataBackupTask, DataBackupStatus.IN_PROGRESS),
        (SecondaryDataBackupTask, DataBackupStatus.IN_PROGRESS),
        (CleanupTask, CleanupStatus.RUNNING),
    ):
        for pk, updated_at in model.objects.filter(status=running, updated_at__lt=cutoff).values_list("pk", "updated_at"):
            reason = lost(updated_at)
            try:
                transition(model, pk, "failed", cause=reason, failure_reason=reason, actor_label="sweeper",
                           expect=[running], now=now)
                done["failed"].append((model.KIND, pk))
            except IllegalTransition:
                pass  # it moved on by itself meanwhile

    for kind, model in ((value, log_kind.model) for value, log_kind in LOG_KINDS.items()):
        stuck = model.objects.filter(
            status__in=[LogBackupStatus.STARTING, LogBackupStatus.STOPPING], updated_at__lt=cutoff
        ).values_list("pk", "updated_at")
        for pk, updated_at in stuck:
            cause = outcomes.cause("sweeper_finished", time=_clock(updated_at))
            if finish_log_move(kind, pk, now=now, actor_label="sweeper", cause=cause):
                done["finished"].append((kind, pk))

    for pk in CleanupTask.objects.filter(status=CleanupStatus.NOT_STARTED, updated_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        CleanupTask.objects.filter(pk=pk, status=CleanupStatus.NOT_STARTED).update(updated_at=now)
        dispatch.enqueue(dispatch.RUN_CLEANUP, pk)
        done["requeued"].append(("cleanup", pk))
    return done
