"""Demo data: a believable backup estate with 30 days of history, and bulk
top-ups of every task kind for benchmarks (`manage.py seed_demo`).

Two entry points:

``build(seed, now)``
    The demo.  Six named clusters (physical and logical policies, three
    storage destinations, tenants, hosts) and, for each, 30 days of history up
    to ``now`` for all five task kinds, with a TaskEvent row per state change
    (actor_label "seed").  A few hundred tasks; builds in about a second.

``fill(kind_counts, seed, now, progress)``
    Tops each task kind up to a target row count ("N rows per task kind" for
    the benchmark), on a separate synthetic "fleet" of clusters so the demo's
    own clusters keep their hand-shaped history.  PostgreSQL gets COPY in
    batches, SQLite ``bulk_create``.

Determinism.  Every random choice comes from ``random.Random`` seeded with the
seed and a stable label (the cluster name, or the task kind and the window's
end), and every time is an offset from ``now``.  ``now`` defaults to the
current time truncated to the minute; pass it explicitly (``--now``) and the
same seed gives the same rows (ids and auto timestamps aside), a different
seed other rows.

Idempotence.  The estate (destinations, clusters, tenants, hosts, policies,
the ``demo`` superuser) is found by natural keys and created only when
missing.  A demo cluster's history is generated only while the cluster has no
task and no backup set at all: a cluster the console has already run for is
left alone, so running ``seed_demo`` twice adds nothing.  ``build(reset=True)``
deletes the demo clusters' history first and rebuilds it (to try another seed).
``fill`` counts what each kind already has (demo rows included) and inserts
only the shortfall, so a second call with the same targets inserts nothing.

Where bulk rows go.  ``fill`` lays rows out at a fixed density of
``FLEET_DAILY_ROWS`` per kind per day over ``FLEET_SIZE`` fleet clusters, ending
a few hours before ``now`` (so every bulk row is finished: completed/failed,
stopped/failed; the partial unique indexes for live tasks are never touched).
A 24-hour window therefore holds about 2,000 rows of a kind whatever N is; one
million rows reach back about 500 days.  A top-up continues further into the
past from the oldest fleet row, so windows never overlap and backup-set
numbers and logical data versions (derived from the time, as the database's
own SCN-style versions are) stay unique per cluster.  Secondary data copies
exist for completed data backups only and secondary log copies one per log
session, so the data and log kinds may end somewhat above their target.

What the rows say is the engine's own.  Event causes and failure reasons are
the texts of backups/engine/outcomes.py, rendered as the engine renders them
(a failed data backup's reason is ``simulation.failure_reason`` of its planned
outcome), and storage directories come from the engine's path helpers
(``simulation.data_directory``/``log_directory``): a seeded task and one the
workers ran look alike in the console.  Data backups carry the simulated
worker's plan (``sim_outcome``/``sim_fail_at``): finished rows the outcome
they had, running ones "completed" and their planned size, as the engine's
own rows do.

The live tasks.  Each demo cluster has a few tasks that are alive at ``now``: a
running data backup or secondary copy, a log backup starting or stopping, a
cleanup that is due.  ``build`` hands each to the simulated worker once the rows
are committed, through the same Celery tasks backups/engine/services.py queues
(``run_data_backup``, ``run_secondary_data_backup``, ``finish_log_move``,
``run_cleanup``), so the worker carries them on instead of the sweeper failing
them as "Worker lost" a minute after ``make run`` starts.  Queuing is a side
effect, not data: the rows stay the same, and only history created by this
call is queued.  No seeded row starts after ``now``: the engine runs whatever
it finds not started, so a cleanup dated tomorrow would end before it began.
"""

import io
import json
import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from clusters.choices import ClusterStatus, HostRole
from clusters.models import Cluster, Host, Tenant

from ..choices import (
    BackupMethod,
    BackupMode,
    CleanupStatus,
    DataBackupStatus,
    LogBackupStatus,
    PolicyState,
    ScheduleKind,
    StorageKind,
    TaskKind,
    Trigger,
)
from ..engine import dispatch, outcomes, simulation
from ..engine.outcomes import COMPLETED, DATA_FAILURES
from ..engine.simulation import data_directory, log_directory
from ..models import (
    TASK_MODELS,
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
    TaskEvent,
)

DEFAULT_SEED = 2024
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
ACTOR = "seed"
HISTORY_DAYS = 30

GB = 1024**3
MB = 1024**2

# --- The estate --------------------------------------------------------------

DESTINATIONS = [
    # name, kind, uri (root directory)
    ("nfs-main", StorageKind.NFS, "file:///mnt/nfs/obbackup"),
    ("oss-hangzhou", StorageKind.OBJECT, "oss://ob-backup-hz/prod"),
    ("s3-singapore", StorageKind.OBJECT, "s3://ob-backup-sg/archive"),
]


@dataclass(frozen=True)
class DemoCluster:
    name: str
    db_version: str
    region: str
    zone: str
    status: str
    method: str
    destination: str
    secondary: str | None
    log_enabled: bool
    tenants: tuple
    hosts: int
    run_at: tuple  # (hour, minute) of the scheduled data backup
    full_weekday: int  # ISO weekday of the weekly full (physical only)
    retention_days: int
    base_gb: int
    log_live: str | None  # status of the one live log backup
    log_lag_seconds: int  # now - latest_point of the live log backup
    seclog_live: str | None = None
    force_data_running: bool = False  # an instant backup is running now
    force_copy_running: bool = False  # the newest secondary copy is running now
    force_cleanup_due: bool = False  # today's cleanup is due now (the worker runs it)


P, L = BackupMethod.PHYSICAL, BackupMethod.LOGICAL
S = LogBackupStatus

DEMO_CLUSTERS = [
    DemoCluster("ob-prod-hz-01", "4.2.1", "cn-hangzhou", "cn-hangzhou-h", ClusterStatus.RUNNING, P,
                "nfs-main", "oss-hangzhou", True, ("trade", "payment", "member"), 6, (1, 30), 7, 14, 1800,
                S.IN_PROGRESS, 8, seclog_live=S.IN_PROGRESS, force_copy_running=True),
    DemoCluster("ob-prod-sh-02", "4.3.0", "cn-shanghai", "cn-shanghai-b", ClusterStatus.RUNNING, P,
                "oss-hangzhou", None, True, ("crm", "analytics"), 5, (2, 0), 6, 7, 950,
                S.IN_PROGRESS, 720, force_data_running=True),
    DemoCluster("ob-order-bj-03", "4.2.1", "cn-beijing", "cn-beijing-f", ClusterStatus.RUNNING, P,
                "nfs-main", "s3-singapore", True, ("order", "inventory", "logistics", "billing"), 4, (3, 0), 1, 7, 1200,
                S.STOPPING, 25, seclog_live=S.STOPPING, force_cleanup_due=True),
    DemoCluster("ob-report-sz-04", "3.1.4", "cn-shenzhen", "cn-shenzhen-a", ClusterStatus.MAINTENANCE, L,
                "nfs-main", "oss-hangzhou", True, ("report",), 3, (0, 30), 1, 10, 300,
                S.IN_PROGRESS, 15, seclog_live=S.STARTING, force_data_running=True),
    DemoCluster("ob-archive-hz-05", "3.1.4", "cn-hangzhou", "cn-hangzhou-i", ClusterStatus.RUNNING, L,
                "oss-hangzhou", "s3-singapore", False, ("archive", "audit"), 3, (4, 0), 1, 30, 420,
                None, 0),
    DemoCluster("ob-test-sg-06", "4.3.0", "ap-southeast-1", "ap-southeast-1a", ClusterStatus.UNAVAILABLE, P,
                "s3-singapore", None, True, ("test",), 3, (5, 0), 3, 3, 200,
                S.STARTING, 2700),
]

FLEET_SIZE = 100
FLEET_PREFIX = "fleet-"
FLEET_DAILY_ROWS = 2000  # rows of each kind per day across the fleet
FLEET_END_GAP = timedelta(hours=4)  # newest bulk row starts this long before now
FLEET_SET_SIZE = 7  # physical: one full and six incrementals per backup set
# Set numbers and logical data versions are minutes since this moment; the
# Unix epoch keeps them positive however far back a 10M-row top-up reaches.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BATCH = 20000

# --- Failures ------------------------------------------------------------------


def planned_failure(rng, mode):
    """The outcome code of a failed data backup, one of those
    simulation.plan_data_backup plans (a compaction fails fulls only)."""
    return rng.choice([code for code in DATA_FAILURES if mode == BackupMode.FULL or code != "compaction_needed"])


def unreachable(destination):
    """Why a copy or a cleanup failed: the engine's storage_unreachable, as simulation writes it."""
    return outcomes.failure("storage_unreachable", uri=destination.uri)


# --- Small helpers -------------------------------------------------------------


def default_now():
    return timezone.now().replace(second=0, microsecond=0)


def _rng(seed, *labels):
    return random.Random(":".join(str(x) for x in (seed, *labels)))


def _minutes(dt):
    return int((dt - EPOCH).total_seconds() // 60)


def ensure_demo_user():
    """The login the README names: demo/demo, a superuser (roles come later)."""
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        return User.objects.create_superuser(DEMO_USERNAME, "demo@example.com", DEMO_PASSWORD)
    if not (user.is_superuser and user.is_staff and user.is_active):
        user.is_superuser = user.is_staff = user.is_active = True
        user.save(update_fields=["is_superuser", "is_staff", "is_active"])
    return user


def ensure_destinations():
    result = {}
    for name, kind, uri in DESTINATIONS:
        result[name], _ = StorageDestination.objects.get_or_create(name=name, defaults={"kind": kind, "uri": uri})
    return result


def _schedule(method, full_weekday=7):
    """Logical: a full every day; physical: a weekly full and daily incrementals."""
    if method == BackupMethod.LOGICAL:
        return {str(day): BackupMode.FULL.value for day in range(1, 8)}
    return {str(day): (BackupMode.FULL if day == full_weekday else BackupMode.INCREMENTAL).value for day in range(1, 8)}


def ensure_cluster(spec, destinations):
    """The cluster, its tenants, hosts and active policy, each created only if missing."""
    index = DEMO_CLUSTERS.index(spec) + 1
    cluster, _ = Cluster.objects.get_or_create(
        name=spec.name,
        defaults={"db_version": spec.db_version, "region": spec.region, "zone": spec.zone, "status": spec.status},
    )
    for name in spec.tenants:
        Tenant.objects.get_or_create(cluster=cluster, name=name)
    zones = [spec.zone, spec.zone[:-1] + chr(ord(spec.zone[-1]) + 1)]
    for j in range(spec.hosts):
        Host.objects.get_or_create(
            ip=f"10.{index * 10}.{j % 2}.{11 + j}",
            port=2881,
            defaults={
                "cluster": cluster,
                "role": HostRole.LEADER if j == 0 else (HostRole.READ_ONLY if j == spec.hosts - 1 and j > 2 else HostRole.FOLLOWER),
                "zone": zones[j % 2],
            },
        )
    policy = (BackupPolicy.objects.select_related("destination", "secondary_destination")
              .filter(cluster=cluster, tenant=None, state=PolicyState.ACTIVE).first())
    if policy is None:
        policy = BackupPolicy.objects.create(
            cluster=cluster,
            backup_method=spec.method,
            destination=destinations[spec.destination],
            directory=f"/{spec.name}",
            schedule_kind=ScheduleKind.WEEKLY,
            schedule_days=_schedule(spec.method, spec.full_weekday),
            run_at=f"{spec.run_at[0]:02d}:{spec.run_at[1]:02d}",
            log_backup_enabled=spec.log_enabled,
            retention_days=spec.retention_days,
            secondary_enabled=spec.secondary is not None,
            secondary_destination=destinations[spec.secondary] if spec.secondary else None,
        )
    return cluster, policy


def _has_history(cluster):
    if BackupSet.objects.filter(cluster=cluster).exists():
        return True
    return any(model.objects.filter(cluster=cluster).exists() for model in TASK_MODELS.values())


def clear_history(clusters):
    """Delete every task, event and backup set of these clusters."""
    for model in (SecondaryDataBackupTask, SecondaryLogBackupTask, DataBackupTask, LogBackupTask, CleanupTask):
        model.objects.filter(cluster__in=clusters).delete()
    TaskEvent.objects.filter(cluster__in=clusters).delete()
    BackupSet.objects.filter(cluster__in=clusters).delete()


# --- The demo: 30 days of history per cluster ---------------------------------------


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
    return created


class ClusterHistory:
    """Thirty days of one demo cluster, generated oldest first.

    The rows are the engine's in all but their origin: what a task's events
    and failure say, and where its files go, come from backups/engine/.
    """

    def __init__(self, spec, cluster, policy, user, seed, now):
        self.spec, self.cluster, self.policy, self.user, self.now = spec, cluster, policy, user, now
        self.dest = policy.destination
        self.sec_dest = policy.secondary_destination if policy.secondary_enabled else None
        self.rng = _rng(seed, spec.name)
        self.tenants = list(cluster.tenants.order_by("name"))
        self.hosts = list(cluster.hosts.order_by("ip", "port"))
        self.start = now - timedelta(days=HISTORY_DAYS)
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

    def _run(self, at, mode, backup_set, trigger, tenant=None, fail=False, version=None, running=False):
        """One data backup starting at `at` (still running now if `running`); returns the task (not saved)."""
        spec, rng = self.spec, self.rng
        days_in = max(0, (at - self.start).days)
        full_size = spec.base_gb * GB * (1 + 0.004 * days_in) * rng.uniform(0.97, 1.03)
        if tenant is not None:
            full_size *= rng.uniform(0.1, 0.3)
        size = full_size if mode == BackupMode.FULL else full_size * rng.uniform(0.02, 0.07)
        rate = rng.uniform(250, 400) * MB if spec.method == BackupMethod.PHYSICAL else rng.uniform(60, 120) * MB
        seconds = min(size / rate + rng.uniform(120, 300), self.policy.data_backup_timeout_minutes * 60 * 0.9)
        task = DataBackupTask(
            cluster=self.cluster, tenant=tenant, policy=self.policy, backup_set=backup_set, mode=mode,
            backup_method=spec.method, data_version=version or self._version(at),
            storage_directory=data_directory(self.dest.uri, self.policy.directory, backup_set.number),
            started_at=at, trigger=trigger, requested_by=self.user if trigger == Trigger.INSTANT else None,
        )
        if fail or rng.random() < 0.07:
            self._fail(task, size, seconds)
        else:
            task.status, task.sim_outcome, task.progress = DataBackupStatus.COMPLETED, COMPLETED, 100
            task.size_bytes = int(size)
            task.ended_at = at + timedelta(seconds=int(seconds))
        if running or task.ended_at >= self.now:
            # Still running now: the newest task of the cluster (runs never overlap).
            # The simulated worker takes over from here and completes it; like the
            # engine's own rows, the task carries its planned size, from which the
            # worker reckons its duration (backups.engine.simulation.data_duration).
            task.status, task.sim_outcome, task.sim_fail_at = DataBackupStatus.IN_PROGRESS, COMPLETED, 100
            task.failure_reason = ""
            task.progress = min(99, int(100 * (self.now - at).total_seconds() / seconds))
            task.size_bytes = int(size)
            task.ended_at = None
        self.data.append(task)
        return task

    def _fail(self, task, size, seconds):
        """End ``task`` as the simulated worker ends a backup planned to fail:
        at its planned progress, saying the engine's reason for the outcome."""
        rng = self.rng
        task.status, task.sim_outcome = DataBackupStatus.FAILED, planned_failure(rng, task.mode)
        task.failure_reason = simulation.failure_reason(task.sim_outcome, task)
        if task.sim_outcome == "timeout":
            task.progress = rng.randrange(60, 96)
            elapsed = self.policy.data_backup_timeout_minutes * 60
        elif task.sim_outcome == "compaction_needed":
            task.progress = elapsed = 0  # found at the first step, before anything was copied
        else:
            task.progress = rng.randrange(3, 95)
            elapsed = seconds * task.progress / 100
        task.sim_fail_at = task.progress
        task.size_bytes = int(size * task.progress / 100)
        task.ended_at = task.started_at + timedelta(seconds=int(elapsed))

    def _data_backups(self):
        """A scheduled backup a day (a failed full retried in a new set), now and
        then an operator's full of one tenant, and a running one if the spec says so."""
        spec, rng = self.spec, self.rng
        physical = spec.method == BackupMethod.PHYSICAL
        current = None  # the cluster-wide set incrementals go into
        busy_until = self.start
        runs = 0
        for day in range(HISTORY_DAYS + 1):
            midnight = self._day_start(day)
            at = midnight.replace(hour=spec.run_at[0], minute=spec.run_at[1]) + timedelta(seconds=rng.randrange(0, 90))
            if at < self.start or at >= self.now or at < busy_until:
                continue
            full = not physical or current is None or at.isoweekday() == spec.full_weekday
            mode = BackupMode.FULL if full else BackupMode.INCREMENTAL
            backup_set = self._new_set(at) if full else current
            task = self._run(at, mode, backup_set, Trigger.SCHEDULE, fail=runs == 5)
            runs += 1
            busy_until = task.ended_at or self.now
            if task.status == DataBackupStatus.COMPLETED and full:
                current = backup_set
            if task.status == DataBackupStatus.FAILED and full:
                # The system retries a failed full two hours later, in a new set.
                retry_at = task.ended_at + timedelta(hours=2)
                if retry_at < self.now:
                    backup_set = self._new_set(retry_at)
                    retry = self._run(retry_at, mode, backup_set, Trigger.SYSTEM, version=task.data_version)
                    busy_until = retry.ended_at or self.now
                    if retry.status == DataBackupStatus.COMPLETED:
                        current = backup_set
            # Now and then an operator takes an instant full backup of one tenant.
            if physical and self.tenants and rng.random() < 0.1:
                at = midnight.replace(hour=14) + timedelta(minutes=rng.randrange(0, 180))
                if busy_until <= at < self.now:
                    tenant = rng.choice(self.tenants)
                    task = self._run(at, BackupMode.FULL, self._new_set(at, tenant), Trigger.INSTANT, tenant=tenant)
                    busy_until = task.ended_at or self.now
        if spec.force_data_running and not any(t.status == DataBackupStatus.IN_PROGRESS for t in self.data):
            self._instant_running(busy_until, current)
        if self.data:
            self.cluster.data_version = max(t.data_version for t in self.data)

    def _instant_running(self, busy_until, current):
        """An operator's backup that is running now (an incremental on a physical cluster's set)."""
        at = max(busy_until + timedelta(minutes=10), self.now - timedelta(minutes=self.rng.randrange(10, 50)))
        if at >= self.now - timedelta(minutes=2):
            return
        if self.spec.method == BackupMethod.PHYSICAL and current is not None:
            mode, backup_set = BackupMode.INCREMENTAL, current
        else:
            mode, backup_set = BackupMode.FULL, self._new_set(at)
        # A logical backup needs a data version of its own: a compaction just finished.
        version = max(t.data_version for t in self.data) + 1 if self.data else None
        self._run(at, mode, backup_set, Trigger.INSTANT, version=version, running=True)

    def _secondary_copies(self):
        if not self.sec_dest:
            return
        rng = self.rng
        sources = [t for t in self.data if t.status == DataBackupStatus.COMPLETED]
        for i, source in enumerate(sources):
            at = source.ended_at + timedelta(minutes=rng.randrange(2, 15))
            newest = i == len(sources) - 1
            if newest and self.spec.force_copy_running:
                at = max(source.ended_at, min(at, self.now - timedelta(minutes=1)))
            if at >= self.now:
                continue
            copy = self._copy(source, at, fail=i == 3)
            if newest and self.spec.force_copy_running:
                copy.status, copy.failure_reason, copy.ended_at = DataBackupStatus.IN_PROGRESS, "", None
            if copy.status == DataBackupStatus.FAILED:
                retry_at = copy.ended_at + timedelta(minutes=30)
                if retry_at < self.now:
                    self._copy(source, retry_at)

    def _copy(self, source, at, fail=False):
        rng, dest = self.rng, self.sec_dest
        seconds = source.size_bytes / (rng.uniform(100, 250) * MB) + rng.uniform(60, 180)
        copy = SecondaryDataBackupTask(
            source=source, cluster=self.cluster, tenant=source.tenant, backup_set=source.backup_set,
            mode=source.mode, destination=dest, started_at=at,
            storage_directory=data_directory(dest.uri, self.policy.directory, source.backup_set.number),
        )
        if fail or rng.random() < 0.05:
            copy.status, copy.failure_reason = DataBackupStatus.FAILED, unreachable(dest)
            copy.ended_at = at + timedelta(seconds=int(seconds * rng.uniform(0.05, 0.9)))
        else:
            copy.status = DataBackupStatus.COMPLETED
            copy.ended_at = at + timedelta(seconds=int(seconds))
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
        """A cleanup a day; sets past the recovery window go (the newest always
        stays), and today's is due now if the spec says so."""
        spec, rng, now = self.spec, self.rng, self.now
        if spec.force_cleanup_due:
            due_at = (now - timedelta(minutes=rng.randrange(2, 6))).replace(second=0, microsecond=0)
            hour, minute = due_at.hour, due_at.minute
        else:
            due_at = None
            hour, minute = (spec.run_at[0] + 3) % 24, spec.run_at[1] + 15
        sets = sorted(self.sets, key=lambda s: s.created_at)
        last_end = {}
        for t in self.data:
            end = t.ended_at or now
            last_end[id(t.backup_set)] = max(last_end.get(id(t.backup_set), end), end)
        runs = 0
        for day in range(HISTORY_DAYS + 2):
            at = self._day_start(day).replace(hour=hour, minute=minute)
            if at < self.start:
                continue
            if at >= now:
                break
            task = CleanupTask(cluster=self.cluster, policy=self.policy, started_at=at,
                               retention_days=spec.retention_days)
            seconds = rng.randrange(40, 300)
            if runs == 4 or rng.random() < 0.06:
                task.status, task.failure_reason = CleanupStatus.FAILED, unreachable(self.dest)
            else:
                task.status = CleanupStatus.COMPLETED
            task.ended_at = at + timedelta(seconds=seconds)
            if task.ended_at >= now or at == due_at:
                # Not over by now: due, and left to the worker, which runs a cleanup
                # in one go (backups.engine.simulation.run_cleanup) from "not started".
                task.status, task.failure_reason, task.ended_at = CleanupStatus.NOT_STARTED, "", None
            elif task.status == CleanupStatus.COMPLETED:
                horizon = at - timedelta(days=spec.retention_days)
                for backup_set in sets[:-1]:
                    if backup_set.expired_at is None and last_end.get(id(backup_set), now) < horizon:
                        backup_set.expired_at = task.ended_at
                        task.deleted_sets += 1
                        task.ended_at += timedelta(seconds=rng.randrange(20, 90))
            runs += 1
            self.cleanups.append(task)

    # - saving -

    def save(self):
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
        live += [(dispatch.RUN_CLEANUP, (t.pk,), None) for t in self.cleanups if t.status == CleanupStatus.NOT_STARTED]
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
                      cause=cause[:255], actor_label=ACTOR, created_at=at)
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
            steps.append((DataBackupStatus.IN_PROGRESS, task.status, task.ended_at, task.failure_reason or finished))
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
        return str(Trigger(task.trigger).label)

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
            steps.append((S.IN_PROGRESS, S.FAILED, end, task.failure_reason))
        return steps

    def _cleanup_steps(self, task):
        """Scheduled, started and ended as simulation.schedule_cleanups and run_cleanup write it."""
        steps = [("", CleanupStatus.NOT_STARTED, task.started_at,
                  outcomes.cause("cleanup_scheduled", days=task.retention_days))]
        if task.status != CleanupStatus.NOT_STARTED:
            steps.append((CleanupStatus.NOT_STARTED, CleanupStatus.RUNNING, task.started_at,
                          outcomes.cause("cleanup_started")))
        if task.ended_at:
            finished = outcomes.cause("cleanup_finished", count=task.deleted_sets)
            steps.append((CleanupStatus.RUNNING, task.status, task.ended_at, task.failure_reason or finished))
        return steps


# --- Bulk top-up (benchmarks) --------------------------------------------------------


def fill(kind_counts, seed=DEFAULT_SEED, now=None, progress=None, batch_size=DEFAULT_BATCH):
    """Top every task kind in `kind_counts` ({TaskKind: rows}) up to its row count.

    Existing rows count (demo rows included); the shortfall goes onto the fleet
    clusters (see the module doc).  `progress(kind, inserted, wanted, rows_per_second)`
    is called after every batch.  Returns {"rows": inserted rows of every table
    (backup sets included), "seconds": wall time, per kind: inserted tasks}.
    """
    now = now or default_now()
    targets = {TaskKind(k): int(v) for k, v in kind_counts.items()}
    need = {kind: max(0, targets.get(kind, 0) - TASK_MODELS[kind].objects.count()) for kind in TaskKind}
    result = {"rows": 0, "seconds": 0.0, **{kind.value: 0 for kind in TaskKind}}
    if not any(need.values()):
        return result
    fleet = _ensure_fleet(now)
    writer = _Writer(batch_size)
    started = time.monotonic()

    def report(kind, done, wanted):
        if progress:
            elapsed = time.monotonic() - started
            progress(kind, done, wanted, writer.rows / elapsed if elapsed else 0.0)

    groups = [
        (TaskKind.DATA, TaskKind.SECONDARY_DATA, _DataGroup),
        (TaskKind.LOG, TaskKind.SECONDARY_LOG, _LogGroup),
        (TaskKind.CLEANUP, None, _CleanupGroup),
    ]
    for main, secondary, group_class in groups:
        kinds = [kind for kind in (main, secondary) if kind]
        with _indexes_set_aside([TASK_MODELS[kind] for kind in kinds], sum(need[kind] for kind in kinds)):
            while need[main] > 0 or (secondary and need[secondary] > 0):
                group = group_class(fleet, seed, now, batch_size)
                wanted = max(1, group.window_rows(need[main], need[secondary] if secondary else 0))
                done = {main: 0, secondary: 0}
                for batch in group.batches(wanted):
                    writer.write(batch)
                    done[main] += len(batch.get(group.model, ()))
                    if secondary:
                        done[secondary] += len(batch.get(group.secondary_model, ()))
                    report(main, done[main], wanted)
                for kind in kinds:
                    need[kind] = max(0, need[kind] - done[kind])
                    result[kind.value] += done[kind]
    result["rows"] = writer.rows
    result["seconds"] = time.monotonic() - started
    return result


# A top-up that at least doubles the task tables (and adds this many rows or
# more) loads without their plain indexes and rebuilds them after: PostgreSQL
# builds an index from sorted rows many times faster than it inserts each row
# into eight indexes, a GiST one among them.  A smaller top-up of a big table
# keeps them: rebuilding costs in proportion to the whole table.
BULK_LOAD_ROWS = 100_000


@contextmanager
def _indexes_set_aside(models, rows):
    """Drop the non-unique indexes of ``models``' tables for a load of ``rows``
    rows, and build them again, all in one transaction: an interrupted load
    rolls back with its indexes intact.  Unique indexes stay (they are rules).
    PostgreSQL only; the tables are locked for the load."""
    if connection.vendor != "postgresql" or rows < max(BULK_LOAD_ROWS, _estimated_rows(models)):
        yield
        return
    tables = [model._meta.db_table for model in models]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
            "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT x.indisunique",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        yield
        # The rows' deferred foreign-key checks run now: an index cannot be
        # built on a table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)


def _estimated_rows(models):
    """The planner's row estimate of the tables (no count over millions of rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(GREATEST(reltuples, 0)), 0) FROM pg_class WHERE relname = ANY(%s)",
                       [[model._meta.db_table for model in models]])
        return int(cursor.fetchone()[0])


@dataclass
class _FleetCluster:
    id: int
    name: str
    method: str
    policy_id: int
    directory: str  # the policy's storage directory
    timeout_minutes: int  # the policy's data backup timeout
    retention_days: int
    tenants: list
    hosts: list  # (id, ip, port)


class _Fleet:
    def __init__(self, clusters, destination, secondary):
        self.clusters, self.destination, self.secondary = clusters, destination, secondary
        self.ids = [c.id for c in clusters]


def _ensure_fleet(now):
    """FLEET_SIZE synthetic clusters with tenants, hosts and an active policy (bulk, idempotent)."""
    destinations = ensure_destinations()
    primary, secondary = destinations["nfs-main"], destinations["oss-hangzhou"]
    names = [f"{FLEET_PREFIX}{n:03d}" for n in range(1, FLEET_SIZE + 1)]
    regions = ["cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1"]
    versions = ["4.2.1", "4.3.0", "4.2.1", "3.1.4"]
    with transaction.atomic():
        existing = set(Cluster.objects.filter(name__in=names).values_list("name", flat=True))
        Cluster.objects.bulk_create([
            Cluster(name=name, db_version=versions[n % 4], region=regions[n % 5], zone=f"{regions[n % 5]}-{'abc'[n % 3]}",
                    data_version=_minutes(now))
            for n, name in enumerate(names) if name not in existing
        ])
        clusters = {c.name: c for c in Cluster.objects.filter(name__in=names)}
        have_tenants = set(Tenant.objects.filter(cluster__in=clusters.values()).values_list("cluster__name", "name"))
        Tenant.objects.bulk_create([
            Tenant(cluster=clusters[name], name=tenant)
            for name in names for tenant in ("app", "reporting") if (name, tenant) not in have_tenants
        ])
        have_hosts = set(Host.objects.filter(cluster__in=clusters.values()).values_list("ip", flat=True))
        Host.objects.bulk_create([
            Host(cluster=clusters[name], ip=f"10.{100 + n // 200}.{n % 200}.{11 + j}", port=2881,
                 role=HostRole.LEADER if j == 0 else HostRole.FOLLOWER, zone=clusters[name].zone)
            for n, name in enumerate(names) for j in range(3)
            if f"10.{100 + n // 200}.{n % 200}.{11 + j}" not in have_hosts
        ])
        have_policy = set(BackupPolicy.objects.filter(cluster__in=clusters.values(), tenant=None, state=PolicyState.ACTIVE)
                          .values_list("cluster__name", flat=True))
        BackupPolicy.objects.bulk_create([
            BackupPolicy(
                cluster=clusters[name], backup_method=P if n % 2 == 0 else L, destination=primary,
                directory=f"/{name}", schedule_kind=ScheduleKind.WEEKLY,
                schedule_days=_schedule(P if n % 2 == 0 else L),
                run_at="01:00", log_backup_enabled=True, retention_days=7, secondary_enabled=True,
                secondary_destination=secondary,
            )
            for n, name in enumerate(names) if name not in have_policy
        ])
    policies = {p.cluster_id: p for p in BackupPolicy.objects.filter(cluster__in=clusters.values(), tenant=None,
                                                                       state=PolicyState.ACTIVE)}
    tenants, hosts = {}, {}
    for tenant in Tenant.objects.filter(cluster__in=clusters.values()).order_by("name"):
        tenants.setdefault(tenant.cluster_id, []).append((tenant.id, tenant.name))
    for host in Host.objects.filter(cluster__in=clusters.values()).order_by("ip"):
        hosts.setdefault(host.cluster_id, []).append((host.id, host.ip, host.port))
    fleet = []
    for name in names:
        c = clusters[name]
        p = policies[c.id]
        fleet.append(_FleetCluster(c.id, name, p.backup_method, p.id, p.directory, p.data_backup_timeout_minutes,
                                   p.retention_days, tenants[c.id], hosts[c.id]))
    return _Fleet(fleet, primary, secondary)


# Columns written per table, in this order; "id" is allocated up front when
# other rows point at it.
COLUMNS = {
    BackupSet: ["id", "cluster_id", "tenant_id", "number", "backup_method", "created_at", "expired_at"],
    DataBackupTask: ["id", "cluster_id", "started_at", "ended_at", "failure_reason", "updated_at", "tenant_id",
                     "policy_id", "backup_set_id", "mode", "backup_method", "data_version", "storage_directory",
                     "status", "progress", "size_bytes", "trigger", "requested_by_id", "sim_outcome", "sim_fail_at"],
    SecondaryDataBackupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "updated_at", "source_id",
                              "tenant_id", "backup_set_id", "mode", "destination_id", "storage_directory", "status"],
    LogBackupTask: ["id", "cluster_id", "started_at", "ended_at", "failure_reason", "updated_at", "tenant_id",
                    "policy_id", "backup_method", "host_id", "storage_directory", "latest_point", "status"],
    SecondaryLogBackupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "updated_at", "source_id",
                             "destination_id", "storage_directory", "latest_point", "status"],
    CleanupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "updated_at", "policy_id", "status",
                  "retention_days", "deleted_sets"],
}
# Parents first, so every batch satisfies its foreign keys as it goes in.
WRITE_ORDER = [BackupSet, DataBackupTask, SecondaryDataBackupTask, LogBackupTask, SecondaryLogBackupTask, CleanupTask]


class _Ids:
    """Primary keys handed out as rows are made, so that a row can point at a
    row of the same batch by its id: taken from the table's sequence a block
    at a time on PostgreSQL (what a block leaves unused is a gap, as a
    rolled-back insert leaves), counted on from the largest id on SQLite."""

    def __init__(self, model, block):
        self.model, self.block, self.free = model, block, []
        self.next_sqlite = None

    def next(self):
        if not self.free:
            self.free = self._take(self.block)[::-1]
        return self.free.pop()

    def _take(self, n):
        if connection.vendor == "postgresql":
            table = self.model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
                )
                return [row[0] for row in cursor.fetchall()]
        if self.next_sqlite is None:
            self.next_sqlite = (self.model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        first, self.next_sqlite = self.next_sqlite, self.next_sqlite + n
        return list(range(first, first + n))


class _Writer:
    """Writes a batch {model: [row dicts keyed by COLUMNS[model]]} in one transaction."""

    def __init__(self, batch_size):
        self.batch_size, self.rows = batch_size, 0
        self.postgres = connection.vendor == "postgresql"
        self.extra = {model: self._defaults(model) for model in WRITE_ORDER}
        self.values = {model: itemgetter(*COLUMNS[model]) for model in WRITE_ORDER}

    @staticmethod
    def _defaults(model):
        """Columns added to a model after this module was written get their default."""
        extra = []
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in COLUMNS[model]:
                continue
            value = field.get_default()
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = "t" if value else "f"
            extra.append((field.column, r"\N" if value is None else str(value)))
        return extra

    def write(self, batch):
        with transaction.atomic():
            for model in WRITE_ORDER:
                rows = batch.get(model)
                if rows:
                    (self._copy if self.postgres else self._bulk_create)(model, rows)
                    self.rows += len(rows)

    def _copy(self, model, rows):
        extra, values = self.extra[model], self.values[model]
        tail = "".join("\t" + value for _, value in extra) + "\n"
        buffer = io.StringIO()
        write = buffer.write
        for row in rows:
            write("\t".join([r"\N" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v))
                             for v in values(row)]))
            write(tail)
        buffer.seek(0)
        columns = [model._meta.get_field(name).column for name in COLUMNS[model]] + [column for column, _ in extra]
        sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, buffer)  # psycopg2's COPY FROM STDIN

    def _bulk_create(self, model, rows):
        names = COLUMNS[model]
        model.objects.bulk_create([model(**{name: row[name] for name in names}) for row in rows], batch_size=2000)


def _span(cluster, at, end, reason=""):
    """The columns every finished fleet task has: its cluster and life span
    (updated last when it ended), and why it failed."""
    return {"cluster_id": cluster.id, "started_at": at, "ended_at": end, "failure_reason": reason, "updated_at": end}


class _Group:
    """One window of fleet history for a task kind (and its secondary copies), oldest first."""

    model = secondary_model = None
    primary_ratio = 1.0

    def __init__(self, fleet, seed, now, batch_size):
        self.fleet, self.now, self.batch_size = fleet, now, batch_size
        self.step = 86400 / FLEET_DAILY_ROWS
        oldest = self.model.objects.filter(cluster_id__in=fleet.ids).aggregate(m=Min("started_at"))["m"]
        # A gap of one cluster period keeps a cluster's rows of two windows
        # more than a minute apart (set numbers and data versions are minutes).
        gap = timedelta(seconds=self.step * len(fleet.clusters))
        self.end = (oldest - gap) if oldest else now - FLEET_END_GAP
        self.rng = _rng(seed, "fleet", self.model.KIND, self.end.isoformat())

    def window_rows(self, need_main, need_secondary):
        return max(need_main, math.ceil(need_secondary / self.primary_ratio))

    def batches(self, rows):
        self.start = self.end - timedelta(seconds=self.step * rows)
        batch = {}
        count = 0
        for i in range(rows):
            cluster = self.fleet.clusters[i % len(self.fleet.clusters)]
            at = self.start + timedelta(seconds=self.step * i + self.rng.random() * self.step / 2)
            self.row(batch, i, cluster, at.replace(microsecond=0))
            count += 1
            if count == self.batch_size:
                yield batch
                batch, count = {}, 0
        if count:
            yield batch


class _DataGroup(_Group):
    model, secondary_model = DataBackupTask, SecondaryDataBackupTask
    primary_ratio = 0.9  # about this share of data backups complete and get a copy

    def __init__(self, fleet, seed, now, batch_size):
        super().__init__(fleet, seed, now, batch_size)
        self.current_set = {}
        self.set_ids, self.task_ids = _Ids(BackupSet, batch_size), _Ids(DataBackupTask, batch_size)

    def row(self, batch, i, cluster, at):
        rng = self.rng
        physical = cluster.method == BackupMethod.PHYSICAL
        full = not physical or (i // len(self.fleet.clusters)) % FLEET_SET_SIZE == 0
        mode = BackupMode.FULL if full else BackupMode.INCREMENTAL
        if full:
            self.current_set[cluster.id] = self._set_row(batch, cluster, at)
        backup_set = self.current_set[cluster.id]
        size = rng.uniform(50, 800) * GB if full else rng.uniform(2, 40) * GB
        seconds = size / (rng.uniform(250, 400) * MB if physical else rng.uniform(200, 300) * MB) + rng.uniform(60, 240)
        if rng.random() < 0.06:
            status, outcome = DataBackupStatus.FAILED, planned_failure(rng, mode)
            progress = 0 if outcome == "compaction_needed" else rng.randrange(3, 95)
            reason = outcomes.failure(outcome, uri=self.fleet.destination.uri, minutes=cluster.timeout_minutes)
            seconds, size = seconds * progress / 100, size * progress / 100
        else:
            status, progress, reason, outcome = DataBackupStatus.COMPLETED, 100, "", COMPLETED
        end = at + timedelta(seconds=int(seconds))
        task = {
            **_span(cluster, at, end, reason), "id": self.task_ids.next(), "tenant_id": None,
            "policy_id": cluster.policy_id, "backup_set_id": backup_set["id"], "mode": mode,
            "backup_method": cluster.method, "data_version": _minutes(at),
            "storage_directory": data_directory(self.fleet.destination.uri, cluster.directory, backup_set["number"]),
            "status": status, "progress": progress, "size_bytes": int(size), "trigger": Trigger.SCHEDULE.value,
            "requested_by_id": None, "sim_outcome": outcome, "sim_fail_at": progress,
        }
        batch.setdefault(DataBackupTask, []).append(task)
        if status == DataBackupStatus.COMPLETED:
            batch.setdefault(SecondaryDataBackupTask, []).append(self._copy_row(cluster, task, backup_set["number"]))

    def _set_row(self, batch, cluster, at):
        """A new backup set for the full starting at ``at``, expired once past the window."""
        expired = at + timedelta(days=cluster.retention_days + 1 + FLEET_SET_SIZE * 0.05)
        backup_set = {"id": self.set_ids.next(), "cluster_id": cluster.id, "tenant_id": None,
                      "number": _minutes(at), "backup_method": cluster.method, "created_at": at,
                      "expired_at": expired if expired < self.now else None}
        batch.setdefault(BackupSet, []).append(backup_set)
        return backup_set

    def _copy_row(self, cluster, task, number):
        """The secondary copy of completed data backup ``task``, shortly after it."""
        rng, sec = self.rng, self.fleet.secondary
        at = task["ended_at"] + timedelta(seconds=rng.randrange(60, 600))
        end = at + timedelta(seconds=int(task["size_bytes"] / (rng.uniform(150, 300) * MB)) + 30)
        failed = rng.random() < 0.04
        return {
            **_span(cluster, at, end, unreachable(sec) if failed else ""), "source_id": task["id"],
            "tenant_id": None, "backup_set_id": task["backup_set_id"], "mode": task["mode"], "destination_id": sec.id,
            "storage_directory": data_directory(sec.uri, cluster.directory, number),
            "status": DataBackupStatus.FAILED if failed else DataBackupStatus.COMPLETED,
        }


class _LogGroup(_Group):
    model, secondary_model = LogBackupTask, SecondaryLogBackupTask

    def __init__(self, fleet, seed, now, batch_size):
        super().__init__(fleet, seed, now, batch_size)
        self.task_ids = _Ids(LogBackupTask, batch_size)

    def row(self, batch, i, cluster, at):
        rng, dest, sec = self.rng, self.fleet.destination, self.fleet.secondary
        # A session ends before the cluster's next one starts.
        end = at + timedelta(seconds=int(self.step * len(self.fleet.clusters) * rng.uniform(0.4, 0.9)))
        host = cluster.hosts[0] if rng.random() < 0.8 else rng.choice(cluster.hosts)
        if rng.random() < 0.12:
            status, reason = LogBackupStatus.FAILED, outcomes.failure("log_lost")
            point = end - timedelta(seconds=rng.randrange(30, 900))
        else:
            status, reason, point = LogBackupStatus.STOPPED, "", end - timedelta(seconds=rng.randrange(1, 30))
        task = {
            **_span(cluster, at, end, reason), "id": self.task_ids.next(), "tenant_id": None,
            "policy_id": cluster.policy_id, "backup_method": cluster.method, "host_id": host[0],
            "storage_directory": log_directory(dest.uri, cluster.directory), "latest_point": point, "status": status,
        }
        batch.setdefault(LogBackupTask, []).append(task)
        copy_end = end + timedelta(seconds=rng.randrange(5, 60))
        copy_failed = status == LogBackupStatus.FAILED and rng.random() < 0.5
        batch.setdefault(SecondaryLogBackupTask, []).append({
            **_span(cluster, at + timedelta(seconds=rng.randrange(5, 15)), copy_end,
                    unreachable(sec) if copy_failed else ""),
            "source_id": task["id"], "destination_id": sec.id,
            "storage_directory": log_directory(sec.uri, cluster.directory),
            "latest_point": point - timedelta(seconds=rng.randrange(5, 60)),
            "status": LogBackupStatus.FAILED if copy_failed else LogBackupStatus.STOPPED,
        })


class _CleanupGroup(_Group):
    model = CleanupTask

    def row(self, batch, i, cluster, at):
        rng = self.rng
        deleted = rng.randrange(0, 3)
        end = at + timedelta(seconds=rng.randrange(30, 240) + 45 * deleted)
        if rng.random() < 0.05:
            status, reason, deleted = CleanupStatus.FAILED, unreachable(self.fleet.destination), 0
        else:
            status, reason = CleanupStatus.COMPLETED, ""
        batch.setdefault(CleanupTask, []).append({
            **_span(cluster, at, end, reason), "policy_id": cluster.policy_id, "status": status,
            "retention_days": cluster.retention_days, "deleted_sets": deleted,
        })
