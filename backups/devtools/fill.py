"""Bulk top-ups of every task kind for benchmarks (``seed_demo --tasks``,
``bench_lists``).

``fill(kind_counts, seed, now, progress)`` tops each task kind up to a target
row count ("N rows per task kind" for the benchmark), on a separate synthetic
"fleet" of clusters so the demo's own clusters keep their hand-shaped history
(history.py).  The rows go in through bulkload.py: COPY in batches on
PostgreSQL, ``bulk_create`` on SQLite.  ``fill`` counts what each kind already
has (demo rows included) and inserts only the shortfall, so a second call with
the same targets inserts nothing.  The same seed and ``now`` give the same rows
(see estate.py).

Where bulk rows go.  ``fill`` lays rows out at a fixed density of
``FLEET_DAILY_ROWS`` per kind per day over ``FLEET_SIZE`` fleet clusters, ending
a few hours before ``now`` (so every bulk row is finished: completed/failed,
stopped/failed; the partial unique indexes for live tasks are never touched).
A 24-hour window therefore holds about 2,000 rows of a kind whatever N is; one
million rows reach back about 500 days.  A top-up continues further into the
past from the oldest fleet row, so windows never overlap and backup-set
numbers and logical data versions (derived from the time, as the database's
own SCN-style versions are) stay unique per cluster.  Restore tasks restore a
fleet tenant into a new tenant of another fleet cluster (completed, or failed
with the engine's restore failures); once the rows are in, every fleet
cluster's recoverable intervals are rewritten by the engine
(``intervals.refresh``) from its unexpired backup sets (cleanup marks the
older ones expired) and the log rounds that reach them.  Secondary data copies
exist for completed data backups only and secondary log copies one per log
session, so the data and log kinds may end somewhat above their target.

As in the demo's history, failure reasons are the engine's codes
(backups/engine/outcomes.py) and storage directories come from the engine's
path helpers; data backups carry the simulated worker's plan
(``sim_outcome``/``sim_fail_at``).

Bulk rows bypass the state machine, so a fill ends by recomputing the daily
rollups from the rows (``engine.rollups.rebuild_rollups``, one INSERT …
SELECT), and by giving the fleet's log rounds of the last 90 days the hourly
delay samples a log tick would have written (delays.py).
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min

from clusters.choices import HostRole
from clusters.models import Cluster, Host, Tenant

from ..choices import (
    BackupMethod,
    BackupMode,
    CleanupStatus,
    DataBackupStatus,
    LogBackupStatus,
    PolicyState,
    RestorePhase,
    ScheduleKind,
    TaskKind,
    Trigger,
)
from ..engine import intervals, outcomes
from ..engine.outcomes import COMPLETED
from ..engine.rollups import rebuild_rollups
from ..engine.simulation import data_directory, log_directory
from ..models import (
    TASK_MODELS,
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
)
from . import delays
from .bulkload import Ids, Writer, indexes_set_aside
from .estate import DEFAULT_SEED, GB, MB, default_now, ensure_destinations, planned_failure, seeded_rng, unreachable, weekly_schedule

FLEET_SIZE = 100
FLEET_PREFIX = "fleet-"
FLEET_DAILY_ROWS = 2000  # rows of each kind per day across the fleet
FLEET_END_GAP = timedelta(hours=4)  # newest bulk row starts this long before now
FLEET_SET_SIZE = 7  # physical: one full and six incrementals per backup set
# Set numbers and logical data versions are minutes since this moment; the
# Unix epoch keeps them positive however far back a 10M-row top-up reaches.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BATCH = 20000

P, L = BackupMethod.PHYSICAL, BackupMethod.LOGICAL


# Every kind a fill can top up: the five backup kinds and restores.
FILL_MODELS = {**TASK_MODELS, TaskKind.RESTORE: RestoreTask}


def _minutes(dt):
    return int((dt - EPOCH).total_seconds() // 60)


def fill(kind_counts, seed=DEFAULT_SEED, now=None, progress=None, batch_size=DEFAULT_BATCH):
    """Top every task kind in `kind_counts` ({TaskKind: rows}) up to its row count.

    Existing rows count (demo rows included); the shortfall goes onto the fleet
    clusters (see the module doc).  `progress(kind, inserted, wanted, rows_per_second)`
    is called after every batch.  Returns {"rows": inserted rows of every table
    (backup sets included), "seconds": wall time, per kind: inserted tasks}.
    """
    now = now or default_now()
    targets = {TaskKind(k): int(v) for k, v in kind_counts.items()}
    need = {kind: max(0, targets.get(kind, 0) - FILL_MODELS[kind].objects.count()) for kind in FILL_MODELS}
    result = {"rows": 0, "seconds": 0.0, **{kind.value: 0 for kind in FILL_MODELS}}
    if not any(need.values()):
        return result
    fleet = _ensure_fleet(now)
    writer = Writer(batch_size)
    started = time.monotonic()

    def report(kind, done, wanted):
        if progress:
            elapsed = time.monotonic() - started
            progress(kind, done, wanted, writer.rows / elapsed if elapsed else 0.0)

    groups = [
        (TaskKind.DATA, TaskKind.SECONDARY_DATA, _DataGroup),
        (TaskKind.LOG, TaskKind.SECONDARY_LOG, _LogGroup),
        (TaskKind.CLEANUP, None, _CleanupGroup),
        (TaskKind.RESTORE, None, _RestoreGroup),
    ]
    for main, secondary, group_class in groups:
        kinds = [kind for kind in (main, secondary) if kind]
        with indexes_set_aside([FILL_MODELS[kind] for kind in kinds], sum(need[kind] for kind in kinds)):
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
    # Statistics first: with none for the rows just loaded, PostgreSQL plans
    # each rewrite below as if the tables were empty (seconds a query at 1M rows).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in [*FILL_MODELS.values(), BackupSet]:
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    # What each fleet tenant can be restored to, kept as the engine keeps it
    # (one rewrite per cluster from its unexpired sets and the rounds that reach them).
    for cluster in fleet.clusters:
        intervals.refresh(cluster.id)
    # And the log delay the tick would have sampled (the cluster page's chart).
    delays.backfill([cluster.id for cluster in fleet.clusters], now, seed)
    # The rows went in without the engine: count them into the daily rollups.
    rebuild_rollups()
    result["rows"] = writer.rows
    result["seconds"] = time.monotonic() - started
    return result


# --- The fleet ------------------------------------------------------------------


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
                schedule_days=weekly_schedule(P if n % 2 == 0 else L),
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


# --- The rows: one window of a task kind at a time ------------------------------


NO_FAILURE = {"failure_code": "", "failure_params": {}, "failure_reason": ""}


def _span(cluster, at, end, reason=None):
    """The columns every finished fleet task has: its cluster and life span
    (updated last when it ended), and why it failed (a code and its values,
    outcomes.failure, as the engine stores it: nothing is rendered here)."""
    failure = NO_FAILURE if reason is None else {
        "failure_code": reason.code, "failure_params": reason.params, "failure_reason": ""}
    return {"cluster_id": cluster.id, "started_at": at, "ended_at": end, "updated_at": end, **failure}


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
        self.rng = seeded_rng(seed, "fleet", self.model.KIND, self.end.isoformat())

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
        self.set_ids, self.task_ids = Ids(BackupSet, batch_size), Ids(DataBackupTask, batch_size)

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
            status, progress, reason, outcome = DataBackupStatus.COMPLETED, 100, None, COMPLETED
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
            **_span(cluster, at, end, unreachable(sec) if failed else None), "source_id": task["id"],
            "tenant_id": None, "backup_set_id": task["backup_set_id"], "mode": task["mode"], "destination_id": sec.id,
            "storage_directory": data_directory(sec.uri, cluster.directory, number),
            "status": DataBackupStatus.FAILED if failed else DataBackupStatus.COMPLETED,
        }


class _LogGroup(_Group):
    model, secondary_model = LogBackupTask, SecondaryLogBackupTask

    def __init__(self, fleet, seed, now, batch_size):
        super().__init__(fleet, seed, now, batch_size)
        self.task_ids = Ids(LogBackupTask, batch_size)

    def row(self, batch, i, cluster, at):
        rng, dest, sec = self.rng, self.fleet.destination, self.fleet.secondary
        # A session ends before the cluster's next one starts.
        end = at + timedelta(seconds=int(self.step * len(self.fleet.clusters) * rng.uniform(0.4, 0.9)))
        host = cluster.hosts[0] if rng.random() < 0.8 else rng.choice(cluster.hosts)
        if rng.random() < 0.12:
            status, reason = LogBackupStatus.FAILED, outcomes.failure("log_lost")
            point = end - timedelta(seconds=rng.randrange(30, 900))
        else:
            status, reason, point = LogBackupStatus.STOPPED, None, end - timedelta(seconds=rng.randrange(1, 30))
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
                    unreachable(sec) if copy_failed else None),
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
            status, reason = CleanupStatus.COMPLETED, None
        batch.setdefault(CleanupTask, []).append({
            **_span(cluster, at, end, reason), "policy_id": cluster.policy_id, "status": status,
            "retention_days": cluster.retention_days, "deleted_sets": deleted,
        })


class _RestoreGroup(_Group):
    model = RestoreTask
    FAILURES = ("log_missing", "storage_unreachable", "set_deleted")

    def row(self, batch, i, cluster, at):
        rng, clusters = self.rng, self.fleet.clusters
        tenant_id, tenant_name = rng.choice(cluster.tenants)
        target = clusters[(clusters.index(cluster) + 1 + i % (len(clusters) - 1)) % len(clusters)]  # another cluster
        point = at - timedelta(seconds=rng.randrange(600, 3 * 86400))
        size = int(rng.uniform(20, 800) * GB)
        end = at + timedelta(seconds=int(size / (rng.uniform(150, 300) * MB)) + rng.randrange(120, 600))
        if rng.random() < 0.08:
            code = rng.choice(self.FAILURES)
            reason = outcomes.failure(code, uri=self.fleet.destination.uri, pk=i, time=point.strftime("%Y-%m-%d %H:%M:%S"))
            status, phase, done, outcome = DataBackupStatus.FAILED, RestorePhase.RESTORE_FAIL, int(size * rng.uniform(0, 0.9)), code
            end = at + (end - at) * (done / size)
        else:
            reason, status, phase, done, outcome = None, DataBackupStatus.COMPLETED, RestorePhase.RESTORE_SUCCESS, size, COMPLETED
        batch.setdefault(RestoreTask, []).append({
            **_span(cluster, at, end, reason), "source_tenant_id": tenant_id, "restore_point": point,
            "target_cluster_id": target.id, "new_tenant_name": f"{tenant_name}_{_minutes(at)}_{i}", "status": status,
            "phase": phase, "total_bytes": size, "finished_bytes": done, "data_task_ids": [], "round_ids": [],
            "sim_outcome": outcome,
        })
