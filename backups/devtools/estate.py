"""The demo estate: three storage destinations, six named clusters (physical
and logical policies, tenants, hosts) and the ``demo`` superuser; and what the
demo's history (history.py) and the bulk top-up (fill.py) share.

Idempotence.  The estate (destinations, clusters, tenants, hosts, policies,
the ``demo`` superuser) is found by natural keys and created only when
missing; what exists is never changed (a demoted ``demo`` stays demoted).

Determinism.  Every random choice comes from ``random.Random`` seeded with the
seed and a stable label (``seeded_rng``: the cluster name, or the task kind and
the window's end), and every time is an offset from ``now``.  ``now`` defaults
to the current time truncated to the second (``default_now``); pass it
explicitly (``--now``) and the same seed gives the same rows (ids and auto
timestamps aside), a different seed other rows.
"""

import random
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from clusters.choices import ClusterStatus, HostRole
from clusters.models import Cluster, Host, Tenant

from ..choices import BackupMethod, BackupMode, LogBackupStatus, PolicyState, ScheduleKind, StorageKind
from ..engine import outcomes
from ..engine.outcomes import DATA_FAILURES
from ..models import BackupPolicy, StorageDestination

DEFAULT_SEED = 2024
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"

# --- The estate --------------------------------------------------------------

TIB = 1024**4
DESTINATIONS = [
    # name, kind, uri (root directory), capacity (the cluster page forecasts when it fills; one has none)
    ("nfs-main", StorageKind.NFS, "file:///mnt/nfs/obbackup", 24 * TIB),
    ("oss-hangzhou", StorageKind.OBJECT, "oss://ob-backup-hz/prod", 64 * TIB),
    ("s3-singapore", StorageKind.OBJECT, "s3://ob-backup-sg/archive", None),
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
    force_data_running: bool = False  # an instant full backup is running now
    force_copy_running: bool = False  # a backup completed just now and its secondary copy is running
    cleanup_live: str | None = None  # today's cleanup is waiting to run (not started) or running now
    compacted: bool = False  # a major compaction finished after the last data backup


P, L = BackupMethod.PHYSICAL, BackupMethod.LOGICAL
S = LogBackupStatus

# The live tasks are spread over the clusters so that a first `make run`
# shows each kind at work: a full backup running on the biggest cluster (and
# a logical one), a secondary copy of a backup that just completed, one
# cleanup running and one waiting, log backups starting, stopping and
# running, two of them late (one paused: its cluster is unavailable).  The
# logical ob-archive-hz-05 compacted after its last backup, so an operator
# can take a logical backup of it and watch it succeed.
DEMO_CLUSTERS = [
    DemoCluster("ob-prod-hz-01", "4.2.1", "cn-hangzhou", "cn-hangzhou-h", ClusterStatus.RUNNING, P,
                "nfs-main", "oss-hangzhou", True, ("trade", "payment", "member"), 6, (1, 30), 7, 14, 1800,
                S.IN_PROGRESS, 8, seclog_live=S.IN_PROGRESS, force_data_running=True),
    DemoCluster("ob-prod-sh-02", "4.3.0", "cn-shanghai", "cn-shanghai-b", ClusterStatus.RUNNING, P,
                "oss-hangzhou", None, True, ("crm", "analytics"), 5, (2, 0), 6, 7, 950,
                S.STARTING, 5, cleanup_live="not_started"),
    DemoCluster("ob-order-bj-03", "4.2.1", "cn-beijing", "cn-beijing-f", ClusterStatus.RUNNING, P,
                "nfs-main", "s3-singapore", True, ("order", "inventory", "logistics", "billing"), 4, (3, 0), 1, 7, 1200,
                S.STOPPING, 25, seclog_live=S.STOPPING, force_copy_running=True, cleanup_live="running"),
    DemoCluster("ob-report-sz-04", "3.1.4", "cn-shenzhen", "cn-shenzhen-a", ClusterStatus.MAINTENANCE, L,
                "nfs-main", "oss-hangzhou", True, ("report",), 3, (0, 30), 1, 10, 300,
                S.IN_PROGRESS, 900, seclog_live=S.STARTING, force_data_running=True),
    DemoCluster("ob-archive-hz-05", "3.1.4", "cn-hangzhou", "cn-hangzhou-i", ClusterStatus.RUNNING, L,
                "oss-hangzhou", "s3-singapore", False, ("archive", "audit"), 3, (4, 0), 1, 30, 420,
                None, 0, compacted=True),
    DemoCluster("ob-test-sg-06", "4.3.0", "ap-southeast-1", "ap-southeast-1a", ClusterStatus.UNAVAILABLE, P,
                "s3-singapore", None, True, ("test",), 3, (5, 0), 3, 3, 200,
                S.IN_PROGRESS, 26 * 3600),  # down since then: its archive paused, scheduled runs failed to start
]

# --- Creating it, each part only if missing ------------------------------------


# Demo logins (demo/demo here, viewer/viewer and operator/operator from
# create_demo_roles) are for a laptop: a production configuration (HTTPS=1)
# refuses to make them.
PRODUCTION_REFUSAL = (
    "Refusing to make demo logins on a production configuration (HTTPS=1): "
    "a password equal to the user name is for a development machine only."
)


def demo_logins_allowed():
    return not settings.HTTPS


def ensure_demo_user():
    """The login the README names: demo/demo, a superuser, made if it is missing.

    An existing ``demo`` user is returned as it is: an admin who deactivated
    or demoted it, or changed its password, meant it.  Refused outright on a
    production configuration.
    """
    if not demo_logins_allowed():
        raise ImproperlyConfigured(PRODUCTION_REFUSAL)
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        return User.objects.create_superuser(DEMO_USERNAME, "demo@example.com", DEMO_PASSWORD)
    return user


def demo_login_works(user):
    """Whether ``demo / demo`` signs in as a superuser (what seed_demo may print)."""
    return user.is_active and user.is_superuser and user.check_password(DEMO_PASSWORD)


def ensure_destinations():
    result = {}
    for name, kind, uri, capacity in DESTINATIONS:
        result[name], _ = StorageDestination.objects.get_or_create(
            name=name, defaults={"kind": kind, "uri": uri, "capacity_bytes": capacity})
    return result


def weekly_schedule(method, full_weekday=7):
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
            schedule_days=weekly_schedule(spec.method, spec.full_weekday),
            run_at=f"{spec.run_at[0]:02d}:{spec.run_at[1]:02d}",
            log_backup_enabled=spec.log_enabled,
            retention_days=spec.retention_days,
            secondary_enabled=spec.secondary is not None,
            secondary_destination=destinations[spec.secondary] if spec.secondary else None,
        )
    return cluster, policy


# --- Shared by the history and the bulk top-up ----------------------------------

GB = 1024**3
MB = 1024**2


def planned_failure(rng, mode):
    """The outcome code of a failed data backup, one of those
    simulation.plan_data_backup plans (a compaction fails fulls only)."""
    return rng.choice([code for code in DATA_FAILURES if mode == BackupMode.FULL or code != "compaction_needed"])


def unreachable(destination):
    """Why a copy or a cleanup failed: the engine's storage_unreachable, as simulation writes it."""
    return outcomes.failure("storage_unreachable", uri=destination.uri)


def default_now():
    """This second: the ``now`` the history ends at and the bulk rows count back
    from (the live tasks are placed to the second: they run for minutes)."""
    return timezone.now().replace(microsecond=0)


def seeded_rng(seed, *labels):
    """The random source of one seed and one stable label (see the module doc)."""
    return random.Random(":".join(str(x) for x in (seed, *labels)))
