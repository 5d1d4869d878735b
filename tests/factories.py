"""Small builders for test data.  Each returns a saved object with sensible
defaults; pass keyword arguments to override any field."""

import itertools
from datetime import timedelta

from django.utils import timezone

from backups.choices import BackupMethod, BackupMode, DataBackupStatus, LogBackupStatus, ScheduleKind
from backups.models import (
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
)
from clusters.models import Cluster, Host, Tenant

_seq = itertools.count(1)


def make_cluster(**kw):
    n = next(_seq)
    kw.setdefault("name", f"cluster-{n}")
    kw.setdefault("db_version", "4.2.1")
    kw.setdefault("region", "cn-hangzhou")
    return Cluster.objects.create(**kw)


def make_tenant(cluster, **kw):
    kw.setdefault("name", f"tenant-{next(_seq)}")
    return Tenant.objects.create(cluster=cluster, **kw)


def make_host(cluster, **kw):
    n = next(_seq)
    kw.setdefault("ip", f"10.0.{n // 250}.{n % 250 + 1}")
    return Host.objects.create(cluster=cluster, **kw)


def make_destination(**kw):
    n = next(_seq)
    kw.setdefault("name", f"nfs-{n}")
    kw.setdefault("kind", "nfs")
    kw.setdefault("uri", f"file:///mnt/backup-{n}")
    return StorageDestination.objects.create(**kw)


def make_policy(cluster, **kw):
    kw.setdefault("backup_method", BackupMethod.PHYSICAL)
    if "destination" not in kw:
        kw["destination"] = make_destination()
    kw.setdefault("directory", f"/{cluster.name}")
    kw.setdefault("schedule_kind", ScheduleKind.WEEKLY)
    # Logical backups are full only.
    kw.setdefault("schedule_days", {"1": "full", "4": "full" if kw["backup_method"] == BackupMethod.LOGICAL else "incremental"})
    kw.setdefault("run_at", "02:00")
    return BackupPolicy.objects.create(cluster=cluster, **kw)


def make_backup_set(cluster, **kw):
    kw.setdefault("number", next(_seq))
    kw.setdefault("backup_method", BackupMethod.PHYSICAL)
    return BackupSet.objects.create(cluster=cluster, **kw)


def make_data_task(cluster, **kw):
    now = timezone.now()
    kw.setdefault("started_at", now - timedelta(hours=2))
    kw.setdefault("status", DataBackupStatus.COMPLETED)
    if kw["status"] != DataBackupStatus.IN_PROGRESS:
        kw.setdefault("ended_at", kw["started_at"] + timedelta(minutes=30))
    if kw["status"] == DataBackupStatus.FAILED:
        kw.setdefault("failure_reason", "storage unreachable")
    kw.setdefault("backup_method", BackupMethod.PHYSICAL)
    kw.setdefault("mode", BackupMode.FULL)
    if "backup_set" not in kw:
        kw["backup_set"] = make_backup_set(cluster, backup_method=kw["backup_method"])
    kw.setdefault("data_version", next(_seq))
    kw.setdefault("storage_directory", f"/{cluster.name}/data")
    if kw.get("policy") is not None:
        kw.setdefault("destination", kw["policy"].destination)  # as services.start_data_backup writes it
    return DataBackupTask.objects.create(cluster=cluster, **kw)


def make_log_task(cluster, **kw):
    now = timezone.now()
    kw.setdefault("started_at", now - timedelta(days=1))
    kw.setdefault("status", LogBackupStatus.IN_PROGRESS)
    if kw["status"] in (LogBackupStatus.STOPPED, LogBackupStatus.FAILED):
        kw.setdefault("ended_at", now - timedelta(hours=1))
    if kw["status"] == LogBackupStatus.FAILED:
        kw.setdefault("failure_reason", "archive log lost")
    kw.setdefault("latest_point", now - timedelta(seconds=12))
    kw.setdefault("backup_method", BackupMethod.PHYSICAL)
    if "host" not in kw:
        kw["host"] = make_host(cluster)
    kw.setdefault("storage_directory", f"/{cluster.name}/clog")
    return LogBackupTask.objects.create(cluster=cluster, **kw)


def make_cleanup_task(cluster, **kw):
    now = timezone.now()
    kw.setdefault("started_at", now - timedelta(hours=3))
    kw.setdefault("status", "completed")
    if kw["status"] in ("completed", "failed"):
        kw.setdefault("ended_at", kw["started_at"] + timedelta(minutes=5))
    return CleanupTask.objects.create(cluster=cluster, **kw)


def make_secondary_data_task(source, **kw):
    kw.setdefault("started_at", (source.ended_at or timezone.now()))
    kw.setdefault("status", DataBackupStatus.COMPLETED)
    if kw["status"] != DataBackupStatus.IN_PROGRESS:
        kw.setdefault("ended_at", kw["started_at"] + timedelta(minutes=20))
    if "destination" not in kw:
        kw["destination"] = make_destination(kind="object", uri="oss://bucket/copies")
    kw.setdefault("storage_directory", f"/{source.cluster.name}/copy")
    return SecondaryDataBackupTask.objects.create(
        source=source, cluster=source.cluster, tenant=source.tenant, backup_set=source.backup_set, mode=source.mode, **kw
    )


def make_secondary_log_task(source, **kw):
    kw.setdefault("started_at", source.started_at)
    kw.setdefault("status", LogBackupStatus.IN_PROGRESS)
    if kw["status"] in (LogBackupStatus.STOPPED, LogBackupStatus.FAILED):
        kw.setdefault("ended_at", timezone.now())
    if "destination" not in kw:
        kw["destination"] = make_destination(kind="object", uri="oss://bucket/logcopies")
    kw.setdefault("storage_directory", f"/{source.cluster.name}/clog-copy")
    kw.setdefault("latest_point", timezone.now() - timedelta(seconds=30))
    return SecondaryLogBackupTask.objects.create(source=source, cluster=source.cluster, **kw)


def make_restore_task(cluster, **kw):
    """A running restore of a tenant of ``cluster`` into a new tenant of another cluster."""
    kw.setdefault("source_tenant", make_tenant(cluster))
    kw.setdefault("target_cluster", make_cluster())
    kw.setdefault("new_tenant_name", f"restored_{next(_seq)}")
    kw.setdefault("restore_point", timezone.now() - timedelta(hours=1))
    kw.setdefault("started_at", timezone.now() - timedelta(minutes=5))
    kw.setdefault("total_bytes", 10 * 2**30)
    return RestoreTask.objects.create(cluster=cluster, **kw)
