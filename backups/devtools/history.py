"""The demo (``manage.py seed_demo``): ``build(seed, now)`` creates the estate
(estate.py) and, for each of its six clusters, 30 days of history up to
``now`` for all five task kinds, with a TaskEvent row per state change
(actor_label "seed").  A few hundred tasks; builds in about a second.  The
same seed and ``now`` give the same rows (see estate.py).

Idempotence.  A demo cluster's history is generated only while the cluster has
no task and no backup set at all: a cluster the console has already run for is
left alone, so running ``seed_demo`` twice adds nothing.  ``build(reset=True)``
deletes the demo clusters' history first and rebuilds it (to try another seed).

What the rows say is the engine's own.  Event causes and failure reasons are
the codes of backups/engine/outcomes.py, stored as the engine stores them
(a failed data backup's reason is ``simulation.failure_reason`` of its planned
outcome; ``_stored`` turns a task's reason into its columns when it is saved),
and storage directories come from the engine's path helpers
(``simulation.data_directory``/``log_directory``): a seeded task and one the
workers ran look alike in the console.  Data backups carry the simulated
worker's plan (``sim_outcome``/``sim_fail_at``): finished rows the outcome
they had, running ones "completed" and their planned size, as the engine's
own rows do.

Durations.  Every seeded task lasts what the simulated worker would make it
last at the current SIM_SPEED (``simulation.data_seconds``, ``copy_seconds``,
``cleanup_times``, through ``simulation.wall``), so a seeded full backup and
one an operator starts now take the same minutes for the same size.

The live tasks.  Each demo cluster has a few tasks that are alive at ``now``
(estate.DEMO_CLUSTERS says which): a full backup early in its run, a secondary
copy of a backup that has just completed, a cleanup waiting to run and one
running, log backups starting or stopping.  ``build`` hands each to the
simulated worker once the rows are committed, through the same Celery tasks
backups/engine/services.py queues (``run_data_backup``,
``run_secondary_data_backup``, ``finish_log_move``, ``run_cleanup``), so the
worker carries them on, progress moving, instead of the sweeper failing them as
"Worker lost" a minute after ``make run`` starts.  Queuing is a side effect,
not data: the rows stay the same, and only history created by this call is
queued.  No seeded row starts after ``now``: the engine runs whatever it finds
not started, so a cleanup dated tomorrow would end before it began.

An unavailable cluster went down when its log archive paused (its lag): its
archive stands still since, and its scheduled runs since then failed to start,
as services.start_data_backup fails them.
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django_celery_beat.models import PeriodicTask

from clusters.models import Tenant

from ..choices import BackupMethod, BackupMode, CleanupStatus, DataBackupStatus, LogBackupStatus, Trigger
from ..engine import dispatch, outcomes, simulation
from ..engine.outcomes import COMPLETED, DATA_FAILURES
from ..engine.rollups import rebuild_rollups
from ..engine.simulation import data_directory, log_directory
from ..models import (
    TASK_MODELS,
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
    TaskEvent,
)
from . import delays
from .estate import (
    DEFAULT_SEED,
    DEMO_CLUSTERS,
    GB,
    default_now,
    ensure_cluster,
    ensure_demo_user,
    ensure_destinations,
    planned_failure,
    seeded_rng,
    unreachable,
)

ACTOR = "seed"
HISTORY_DAYS = 30
# The scheduled history stops this long before now on a cluster with a live
# backup (or copy) of its own, so the live one never overlaps a scheduled run.
LIVE_ROOM = timedelta(minutes=20)

S = LogBackupStatus


def build(seed=DEFAULT_SEED, now=None, reset=False):
    """Create the demo estate and any missing history; return rows created per model."""
    now = now or default_now()
    created = {}
    with transaction.atomic():
        user = ensure_demo_user()
        destinations = ensure_destinations()
        estate = [(spec, *ensure_cluster(spec, destinations)) for spec in DEMO_CLUSTERS]
        if reset:
            clear_history([cluster for _, cluster, _ in estate])
        for spec, cluster, policy in estate:
            if _has_history(cluster):
                continue
            history = ClusterHistory(spec, cluster, policy, user, seed, now)
            history.generate()
            for label, count in history.save().items():
                created[label] = created.get(label, 0) + count
            queued = history.queue_live_tasks()
            if queued:
                created["live tasks handed to the worker"] = created.get("live tasks handed to the worker", 0) + queued
        # The history went in without the engine: count it into the daily
        # rollups, and give its log rounds the delay samples a tick writes.
        if created or reset:
            rebuild_rollups()
            created["log delay samples"] = delays.backfill([cluster.pk for _, cluster, _ in estate], now, seed)
    return created


def _has_history(cluster):
    if BackupSet.objects.filter(cluster=cluster).exists():
        return True
    return any(model.objects.filter(cluster=cluster).exists() for model in TASK_MODELS.values())


def clear_history(clusters):
    """Delete every task, event, backup set and delay sample of these clusters (and the
    tenants their restores made, and the restore drills there)."""
    drill_policies = RestoreDrillPolicy.objects.filter(target_cluster__in=clusters)
    PeriodicTask.objects.filter(pk__in=drill_policies.values("periodic_task")).delete()
    RestoreDrillRun.objects.filter(Q(source_cluster__in=clusters) | Q(target_cluster__in=clusters)).delete()
    drill_policies.delete()
    restored = RestoreTask.objects.filter(Q(cluster__in=clusters) | Q(target_cluster__in=clusters))
    made = list(restored.exclude(new_tenant=None).values_list("new_tenant_id", flat=True))
    restored.delete()
    Tenant.objects.filter(pk__in=made).delete()
    for model in (SecondaryDataBackupTask, SecondaryLogBackupTask, DataBackupTask, LogBackupTask, CleanupTask):
        model.objects.filter(cluster__in=clusters).delete()
    TaskEvent.objects.filter(cluster__in=clusters).delete()
    BackupSet.objects.filter(cluster__in=clusters).delete()
    LogDelaySample.objects.filter(cluster__in=clusters).delete()


class ClusterHistory:
    """Thirty days of one demo cluster, generated oldest first.

    The rows are the engine's in all but their origin: what a task's events
    and failure say, and where its files go, come from backups/engine/.
    """

    def __init__(self, spec, cluster, policy, user, seed, now):
        self.spec, self.cluster, self.policy, self.user, self.now = spec, cluster, policy, user, now
        self.dest = policy.destination
        self.sec_dest = policy.secondary_destination if policy.secondary_enabled else None
        self.rng = seeded_rng(seed, spec.name)
        self.tenants = list(cluster.tenants.order_by("name"))
        self.hosts = list(cluster.hosts.order_by("ip", "port"))
        self.start = now - timedelta(days=HISTORY_DAYS)
        # An unavailable cluster went down when its log archive paused.
        self.down_since = now - timedelta(seconds=spec.log_lag_seconds) if not cluster.accepts_backups else None
        self.base_version = self.rng.randrange(200, 900)
        self.next_number = self.rng.randrange(1, 40)
        self.sets, self.data, self.copies, self.logs, self.log_copies, self.cleanups = [], [], [], [], [], []

    def generate(self):
        self._data_backups()
        self._secondary_copies()
        self._log_backups()
        self._cleanups()

    # - data backups -

    def _day_start(self, day):
        return (self.start + timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)

    def _version(self, at):
        return self.base_version + (at - self.start).days

    def _new_set(self, at, tenant=None):
        backup_set = BackupSet(cluster=self.cluster, tenant=tenant, number=self.next_number,
                               backup_method=self.spec.method, created_at=at)
        self.next_number += 1
        self.sets.append(backup_set)
        return backup_set

    def _size(self, at, mode, tenant=None):
        """What a data backup started at ``at`` copies: the cluster grows a little every day."""
        spec, rng = self.spec, self.rng
        days_in = max(0, (at - self.start).days)
        full_size = spec.base_gb * GB * (1 + 0.004 * days_in) * rng.uniform(0.97, 1.03)
        if tenant is not None:
            full_size *= rng.uniform(0.1, 0.3)
        return int(full_size if mode == BackupMode.FULL else full_size * rng.uniform(0.02, 0.07))

    def _run(self, at, mode, backup_set, trigger, tenant=None, fail=False, version=None, running=False, size=None,
             succeed=False):
        """One data backup starting at `at` (still running now if `running`); returns the task (not saved).

        It lasts what the simulated worker would make it last at this SIM_SPEED
        (simulation.data_seconds, passed through simulation.wall)."""
        spec, rng = self.spec, self.rng
        size = size or self._size(at, mode, tenant)
        seconds = simulation.data_seconds(size, spec.method)
        task = DataBackupTask(
            cluster=self.cluster, tenant=tenant, policy=self.policy, destination=self.dest, backup_set=backup_set, mode=mode,
            backup_method=spec.method, data_version=version or self._version(at),
            storage_directory=data_directory(self.dest.uri, self.policy.directory, backup_set.number),
            started_at=at, trigger=trigger, requested_by=self.user if trigger == Trigger.INSTANT else None,
        )
        timeout = self.policy.data_backup_timeout_minutes * 60
        if self.down_since is not None and at >= self.down_since:
            self._fail_to_start(task)
        elif not succeed and (fail or seconds > timeout or rng.random() < 0.07):
            self._fail(task, size, seconds, "timeout" if seconds > timeout else None)
        else:
            task.status, task.sim_outcome, task.progress = DataBackupStatus.COMPLETED, COMPLETED, 100
            task.size_bytes = size
            task.ended_at = at + simulation.wall(seconds)
        if self.down_since is not None and task.started_at < self.down_since < (task.ended_at or self.now):
            # The cluster went away under it: the worker fails it where it stood.
            task.status, task.sim_outcome = DataBackupStatus.FAILED, COMPLETED
            task.ended_at = self.down_since
            task.progress = min(99, int(100 * (self.down_since - at) / simulation.wall(seconds)))
            task.failure_reason = outcomes.failure("cluster_unavailable", cluster=self.cluster.name)
        if running or task.ended_at >= self.now:
            # Still running now: the newest task of the cluster (runs never overlap).
            # The simulated worker takes over from here and completes it; like the
            # engine's own rows, the task carries its planned size, from which the
            # worker reckons its duration (backups.engine.simulation.data_duration).
            task.status, task.sim_outcome, task.sim_fail_at = DataBackupStatus.IN_PROGRESS, COMPLETED, 100
            task.failure_reason = ""
            task.progress = min(99, int(100 * (self.now - at) / simulation.wall(seconds)))
            task.size_bytes = size
            task.ended_at = None
        self.data.append(task)
        return task

    def _fail(self, task, size, seconds, outcome=None):
        """End ``task`` as the simulated worker ends a backup planned to fail:
        at its planned progress, saying the engine's reason for the outcome."""
        rng = self.rng
        task.status, task.sim_outcome = DataBackupStatus.FAILED, outcome or planned_failure(rng, task.mode)
        task.failure_reason = simulation.failure_reason(task.sim_outcome, task)
        if task.sim_outcome == "timeout":
            elapsed = self.policy.data_backup_timeout_minutes * 60
            task.progress = min(99, int(elapsed * 100 / seconds))
        elif task.sim_outcome == "compaction_needed":
            task.progress = elapsed = 0  # found at the first step, before anything was copied
        else:
            task.progress = rng.randrange(3, 95)
            elapsed = seconds * task.progress / 100
        task.sim_fail_at = task.progress
        task.size_bytes = int(size * task.progress / 100)
        task.ended_at = task.started_at + simulation.wall(elapsed)

    def _fail_to_start(self, task):
        """A run on the unavailable cluster: created and failed at once, as
        services.start_data_backup does for beat (an operator is refused)."""
        task.status, task.sim_outcome, task.sim_fail_at = DataBackupStatus.FAILED, "cluster_unavailable_at_start", 0
        task.failure_reason = outcomes.failure("cluster_unavailable_at_start", cluster=self.cluster.name)
        task.progress, task.size_bytes, task.ended_at = 0, 0, task.started_at

    def _data_backups(self):
        """A scheduled backup a day (a failed full retried in a new set), now and
        then an operator's full of one tenant, and the live ones the spec asks for.
        The last LIVE_ROOM before now is left to the live ones."""
        spec, rng = self.spec, self.rng
        physical = spec.method == BackupMethod.PHYSICAL
        cutoff = self.now - LIVE_ROOM if spec.force_data_running or spec.force_copy_running else self.now
        current = None  # the cluster-wide set incrementals go into
        busy_until = self.start
        runs = 0
        for day in range(HISTORY_DAYS + 1):
            midnight = self._day_start(day)
            at = midnight.replace(hour=spec.run_at[0], minute=spec.run_at[1]) + timedelta(seconds=rng.randrange(0, 90))
            if at < self.start or at >= cutoff or at < busy_until:
                continue
            full = not physical or current is None or at.isoweekday() == spec.full_weekday
            mode = BackupMode.FULL if full else BackupMode.INCREMENTAL
            backup_set = self._new_set(at) if full else current
            task = self._run(at, mode, backup_set, Trigger.SCHEDULE, fail=runs == 5)
            runs += 1
            busy_until = task.ended_at or self.now
            if task.status == DataBackupStatus.COMPLETED and full:
                current = backup_set
            if task.status == DataBackupStatus.FAILED and full and task.sim_outcome in DATA_FAILURES:
                # The system retries a failed full two hours later, in a new set.
                retry_at = task.ended_at + timedelta(hours=2)
                if retry_at < cutoff and (self.down_since is None or retry_at < self.down_since):
                    backup_set = self._new_set(retry_at)
                    retry = self._run(retry_at, mode, backup_set, Trigger.SYSTEM, version=task.data_version)
                    busy_until = retry.ended_at or self.now
                    if retry.status == DataBackupStatus.COMPLETED:
                        current = backup_set
            # Now and then an operator takes an instant full backup of one tenant.
            if physical and self.tenants and rng.random() < 0.1:
                at = midnight.replace(hour=14) + timedelta(minutes=rng.randrange(0, 180))
                if busy_until <= at < cutoff and (self.down_since is None or at < self.down_since):
                    tenant = rng.choice(self.tenants)
                    task = self._run(at, BackupMode.FULL, self._new_set(at, tenant), Trigger.INSTANT, tenant=tenant)
                    busy_until = task.ended_at or self.now
        if spec.force_copy_running and self.sec_dest:
            busy_until = self._completed_just_now(busy_until)
        if spec.force_data_running and not any(t.status == DataBackupStatus.IN_PROGRESS for t in self.data):
            self._instant_running(busy_until)
        if self.data:
            self.cluster.data_version = max(t.data_version for t in self.data)
        if spec.compacted:
            self.cluster.data_version += 1  # a major compaction finished after the last backup

    def _new_version(self):
        """A logical backup needs a data version of its own: a compaction just
        finished (a physical one is taken at whatever version the cluster is)."""
        if self.spec.method != BackupMethod.LOGICAL or not self.data:
            return None
        return max(t.data_version for t in self.data) + 1

    def _instant_running(self, busy_until):
        """An operator's full backup that is running now, early in its run, so
        that it goes on for minutes after seeding."""
        size = self._size(self.now, BackupMode.FULL)
        run = simulation.wall(simulation.data_seconds(size, self.spec.method))
        at = self.now - run * self.rng.uniform(0.05, 0.15)
        if at <= busy_until:
            return
        self._run(at, BackupMode.FULL, self._new_set(at), Trigger.INSTANT, version=self._new_version(), running=True,
                  size=size)

    def _completed_just_now(self, busy_until):
        """An operator's full backup that completed a moment ago, so that its
        secondary copy (started as it completed) is running now."""
        size = self._size(self.now, BackupMode.FULL)
        ended = self.now - simulation.wall(simulation.copy_seconds(size)) * self.rng.uniform(0.05, 0.15)
        at = ended - simulation.wall(simulation.data_seconds(size, self.spec.method))
        if at <= busy_until:
            return busy_until
        task = self._run(at, BackupMode.FULL, self._new_set(at), Trigger.INSTANT, version=self._new_version(),
                         size=size, succeed=True)
        return task.ended_at

    def _secondary_copies(self):
        """A copy of each completed backup, started as it completed
        (simulation.start_secondary_copy) and lasting what the worker makes a
        copy last (simulation.copy_seconds); a failed copy is tried again."""
        if not self.sec_dest:
            return
        sources = [t for t in self.data if t.status == DataBackupStatus.COMPLETED]
        for i, source in enumerate(sources):
            copy = self._copy(source, source.ended_at, fail=i == 3)
            if copy.status == DataBackupStatus.FAILED:
                retry_at = copy.ended_at + timedelta(minutes=30)
                if retry_at < self.now:
                    self._copy(source, retry_at)

    def _copy(self, source, at, fail=False):
        rng, dest = self.rng, self.sec_dest
        copy = SecondaryDataBackupTask(
            source=source, cluster=self.cluster, tenant=source.tenant, backup_set=source.backup_set,
            mode=source.mode, destination=dest, started_at=at,
            storage_directory=data_directory(dest.uri, self.policy.directory, source.backup_set.number),
        )
        copy.ended_at = at + simulation.wall(simulation.copy_seconds(source.size_bytes))
        if fail or rng.random() < 0.05:
            # The worker finds the destination silent when the copy would end.
            copy.status, copy.failure_reason = DataBackupStatus.FAILED, unreachable(dest)
        else:
            copy.status = DataBackupStatus.COMPLETED
        if copy.ended_at >= self.now:
            copy.status, copy.failure_reason, copy.ended_at = DataBackupStatus.IN_PROGRESS, "", None
        self.copies.append(copy)
        return copy

    # - log backups -

    def _log_backups(self):
        spec, rng, now = self.spec, self.rng, self.now
        if not spec.log_enabled:
            return
        if spec.log_live == S.STARTING:
            live_start = now - timedelta(seconds=rng.randrange(20, 60))
        else:
            live_start = now - timedelta(days=rng.randrange(2, 9), minutes=rng.randrange(0, 600))
        finished = [S.STOPPED, S.FAILED]
        rng.shuffle(finished)
        if rng.random() < 0.5:
            finished.insert(0, S.STOPPED)
        span_start = self.start - timedelta(hours=rng.randrange(0, 72))
        span = (live_start - timedelta(minutes=10)) - span_start
        segment = span / len(finished)
        for i, status in enumerate(finished):
            at = span_start + segment * i + timedelta(minutes=rng.randrange(1, 30))
            end = span_start + segment * (i + 1) - timedelta(minutes=rng.randrange(1, 30))
            self._log_session(at, status, end)
        self._log_session(live_start, spec.log_live)

    def _log_session(self, at, status, end=None):
        spec, rng = self.spec, self.rng
        host = self.hosts[0] if end is None else rng.choice(self.hosts)
        task = LogBackupTask(
            cluster=self.cluster, policy=self.policy, backup_method=spec.method, host=host,
            storage_directory=log_directory(self.dest.uri, self.policy.directory),
            started_at=at, status=status, ended_at=end,
        )
        if end is None:
            lag = spec.log_lag_seconds + rng.randrange(0, 5)
            task.latest_point = self.now - timedelta(seconds=lag)
            if status == S.STARTING and task.latest_point > at:
                task.latest_point = None  # nothing archived yet
        else:
            task.latest_point = end - timedelta(seconds=rng.randrange(1, 30 if status == S.STOPPED else 900))
            if status == S.FAILED:
                task.failure_reason = outcomes.failure("log_lost")
        self.logs.append(task)
        if self.sec_dest:
            self._log_copy(task)

    def _log_copy(self, source):
        rng, dest = self.rng, self.sec_dest
        live = source.ended_at is None
        at = source.started_at + timedelta(seconds=rng.randrange(5, 15))
        if live and at > self.now:
            at = source.started_at
        kw = {"source": source, "cluster": self.cluster, "destination": dest, "started_at": at,
              "storage_directory": log_directory(dest.uri, self.policy.directory)}
        if not live:
            status = S.FAILED if source.status == S.FAILED and rng.random() < 0.5 else S.STOPPED
            copy = SecondaryLogBackupTask(status=status, ended_at=source.ended_at + timedelta(seconds=rng.randrange(5, 60)),
                                          latest_point=source.latest_point - timedelta(seconds=rng.randrange(5, 60)), **kw)
            if status == S.FAILED:
                copy.failure_reason = unreachable(dest)
        else:
            status = self.spec.seclog_live
            if status == S.STARTING and (self.now - at) > timedelta(minutes=5):
                # The copy failed a while ago and is being restarted now.
                failed_at = self.now - timedelta(minutes=rng.randrange(15, 40))
                self.log_copies.append(SecondaryLogBackupTask(
                    status=S.FAILED, ended_at=failed_at,
                    latest_point=failed_at - timedelta(seconds=rng.randrange(30, 120)),
                    failure_reason=unreachable(dest), **kw))
                kw["started_at"] = self.now - timedelta(seconds=rng.randrange(10, 40))
            point = source.latest_point and source.latest_point - timedelta(seconds=rng.randrange(5, 40))
            copy = SecondaryLogBackupTask(status=status, latest_point=None if status == S.STARTING else point, **kw)
        self.log_copies.append(copy)

    # - cleanup -

    def _cleanups(self):
        """A cleanup a day: it waits to be scheduled, then deletes, as long as
        the simulated worker makes it (simulation.cleanup_times); sets past the
        recovery window go (the newest always stays).  The spec's live one is
        today's, placed so that it is waiting (not started) or running now."""
        spec, rng, now = self.spec, self.rng, self.now
        waits, runs_for = simulation.wall(simulation.CLEANUP_WAIT_SECONDS), simulation.wall(simulation.CLEANUP_RUN_SECONDS)
        live_at = None
        if spec.cleanup_live == CleanupStatus.NOT_STARTED:
            live_at = now - waits * rng.uniform(0.1, 0.5)
        elif spec.cleanup_live == CleanupStatus.RUNNING:
            live_at = now - waits - runs_for * rng.uniform(0.1, 0.3)
        hour, minute = (live_at.hour, live_at.minute) if live_at else ((spec.run_at[0] + 3) % 24, spec.run_at[1] + 15)
        sets = sorted(self.sets, key=lambda s: s.created_at)
        last_end = {}
        for t in self.data:
            end = t.ended_at or now
            last_end[id(t.backup_set)] = max(last_end.get(id(t.backup_set), end), end)
        failures = 0
        for day in range(HISTORY_DAYS + 2):
            at = self._day_start(day).replace(hour=hour, minute=minute)
            if live_at and at == live_at.replace(second=0, microsecond=0):
                at = live_at
            if at < self.start:
                continue
            if at >= now:
                break
            task = CleanupTask(cluster=self.cluster, policy=self.policy, started_at=at,
                               retention_days=spec.retention_days)
            runs_at, ends_at = at + waits, at + waits + runs_for
            if ends_at >= now:
                # Not over by now: the worker carries it on from here.
                task.status = CleanupStatus.NOT_STARTED if runs_at > now else CleanupStatus.RUNNING
            elif failures == 0 and day >= 4 or rng.random() < 0.06:
                failures += 1
                task.status, task.failure_reason, task.ended_at = CleanupStatus.FAILED, unreachable(self.dest), ends_at
            else:
                task.status, task.ended_at = CleanupStatus.COMPLETED, ends_at
                horizon = ends_at - timedelta(days=spec.retention_days)
                for backup_set in sets[:-1]:
                    if backup_set.expired_at is None and last_end.get(id(backup_set), now) < horizon:
                        backup_set.expired_at = ends_at
                        task.deleted_sets += 1
            self.cleanups.append(task)

    # - saving -

    def save(self):
        # The tasks' reasons are said as codes while they are built (see _reason).
        for tasks in (self.data, self.copies, self.logs, self.log_copies, self.cleanups):
            for task in tasks:
                _stored(task)
        self.cluster.save(update_fields=["data_version"])
        BackupSet.objects.bulk_create(self.sets)
        for task in self.data:
            task.backup_set = task.backup_set  # refresh the _id from the now-saved set
        DataBackupTask.objects.bulk_create(self.data)
        for copy in self.copies:
            copy.source, copy.backup_set = copy.source, copy.backup_set
        SecondaryDataBackupTask.objects.bulk_create(self.copies)
        LogBackupTask.objects.bulk_create(self.logs)
        for copy in self.log_copies:
            copy.source = copy.source
        SecondaryLogBackupTask.objects.bulk_create(self.log_copies)
        CleanupTask.objects.bulk_create(self.cleanups)
        events = []
        for tasks in (self.data, self.copies, self.logs, self.log_copies, self.cleanups):
            for task in tasks:
                events.extend(self._events(task))
        TaskEvent.objects.bulk_create(events)
        return {
            "backup sets": len(self.sets), "data": len(self.data), "secondary_data": len(self.copies),
            "log": len(self.logs), "secondary_log": len(self.log_copies), "cleanup": len(self.cleanups),
            "events": len(events),
        }

    def queue_live_tasks(self):
        """Hand this cluster's live tasks to the simulated worker once the rows are
        committed, by ID, as backups/engine/services.py does; returns how many.  A broker
        that is down is logged, not raised: the demo stands, the sweeper ends them."""
        moving = (S.STARTING, S.STOPPING)
        switch = simulation.log_switch_delay()
        live = [(dispatch.RUN_DATA_BACKUP, (t.pk,), None) for t in self.data if t.status == DataBackupStatus.IN_PROGRESS]
        live += [(dispatch.RUN_SECONDARY_DATA_BACKUP, (t.pk,), None)
                 for t in self.copies if t.status == DataBackupStatus.IN_PROGRESS]
        live += [(dispatch.FINISH_LOG_MOVE, ("log", t.pk), switch) for t in self.logs if t.status in moving]
        live += [(dispatch.FINISH_LOG_MOVE, ("secondary_log", t.pk), switch) for t in self.log_copies if t.status in moving]
        live += [(dispatch.RUN_CLEANUP, (t.pk,), None)
                 for t in self.cleanups if t.status in (CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING)]
        for name, args, countdown in live:
            dispatch.enqueue(name, *args, countdown=countdown)
        return len(live)

    # - events: what the engine writes on each move (backups/engine/outcomes.py) -

    def _events(self, task):
        """The state changes that led a seeded task to its status (saved: it has its pk)."""
        if isinstance(task, CleanupTask):
            steps = self._cleanup_steps(task)
        elif isinstance(task, (LogBackupTask, SecondaryLogBackupTask)):
            steps = self._log_steps(task)
        else:
            steps = self._data_steps(task)
        ct = ContentType.objects.get_for_model(type(task))
        return [
            TaskEvent(content_type=ct, object_id=task.pk, cluster=self.cluster, old_status=old, new_status=new,
                      actor_label=ACTOR, created_at=at, **_cause(cause))
            for old, new, at, cause in steps
        ]

    def _data_steps(self, task):
        """Created in progress (services.start_data_backup, simulation.start_secondary_copy),
        then finished or failed (simulation.advance_data_backup and its copy's twin)."""
        if isinstance(task, SecondaryDataBackupTask):
            created, finished = outcomes.cause("copy_started", pk=task.source.pk), outcomes.cause("copy_finished")
        else:
            created, finished = self._created_cause(task), outcomes.cause("data_finished")
        steps = [("", DataBackupStatus.IN_PROGRESS, task.started_at, created)]
        if task.ended_at:
            steps.append((DataBackupStatus.IN_PROGRESS, task.status, task.ended_at, _reason(task) or finished))
        return steps

    def _created_cause(self, task):
        """What services.py says of a data backup it starts: the operator's request,
        the policy's schedule (a full where the schedule says incremental: there was
        no full to build on), or, started with no cause, its trigger."""
        if task.trigger == Trigger.INSTANT:
            return outcomes.cause("instant_requested")
        if task.trigger == Trigger.SCHEDULE:
            planned = self.policy.schedule_days.get(str(task.started_at.isoweekday()))
            fallback = task.mode == BackupMode.FULL and planned == BackupMode.INCREMENTAL
            return outcomes.cause("scheduled_full" if fallback else "scheduled", pk=self.policy.pk)
        return Trigger(task.trigger).label

    def _log_steps(self, task):
        """Starting (services.ensure_log_backup, simulation.start_secondary_log), archiving
        (finish_log_move), then stopping and stopped after a Stop, or failed (a log fault)."""
        start, end, status, now = task.started_at, task.ended_at, task.status, self.now
        if isinstance(task, LogBackupTask):
            created = outcomes.cause("log_started", pk=self.policy.pk)
        else:
            created = outcomes.cause("log_copy_started", pk=task.source.pk)
        steps = [("", S.STARTING, start, created)]
        if status != S.STARTING:
            steps.append((S.STARTING, S.IN_PROGRESS, min(start + timedelta(seconds=30), end or now),
                          outcomes.cause("log_running")))
        if status == S.STOPPING:
            steps.append((S.IN_PROGRESS, S.STOPPING, now - timedelta(seconds=20), outcomes.cause("stop_requested")))
        elif status == S.STOPPED:
            stop_at = end - timedelta(seconds=min(20, (end - start).total_seconds() / 2))
            steps.append((S.IN_PROGRESS, S.STOPPING, stop_at, outcomes.cause("stop_requested")))
            steps.append((S.STOPPING, S.STOPPED, end, outcomes.cause("log_stopped")))
        elif status == S.FAILED:
            steps.append((S.IN_PROGRESS, S.FAILED, end, _reason(task)))
        return steps

    def _cleanup_steps(self, task):
        """Scheduled, started and ended as simulation.schedule_cleanups and run_cleanup write it."""
        steps = [("", CleanupStatus.NOT_STARTED, task.started_at,
                  outcomes.cause("cleanup_scheduled", days=task.retention_days))]
        if task.status != CleanupStatus.NOT_STARTED:
            runs_at, _ends_at = simulation.cleanup_times(task)
            steps.append((CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING, runs_at,
                          outcomes.cause("cleanup_started")))
        if task.ended_at:
            finished = outcomes.cause("cleanup_finished", count=task.deleted_sets)
            steps.append((CleanupStatus.RUNNING, task.status, task.ended_at, _reason(task) or finished))
        return steps


def _stored(task):
    """A task's failure reason as the engine stores it: a code and its values
    (outcomes.failure) in failure_code/failure_params; plain text as text."""
    if not task.failure_code:
        task.failure_code, task.failure_params, task.failure_reason = outcomes.stored(task.failure_reason)


def _reason(task):
    """A task's failure reason, whether or not it is stored yet."""
    if task.failure_code:
        return outcomes.Said(task.failure_code, task.failure_params)
    return task.failure_reason


def _cause(cause):
    code, params, text = outcomes.stored(cause, max_length=255)
    return {"cause": text, "cause_code": code, "cause_params": params}
