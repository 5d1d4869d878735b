"""Log backup delay samples (models/rollups.py ``LogDelaySample``): the
history the cluster page's delay chart reads.

A log backup keeps only its latest backup time point, so its delay in the
past is gone once the point moves; reconstructing it from the task rows or
their events (which record status changes, not checkpoints) would guess.
So each log tick (``simulation.tick_log_backups``) records what it sees:
for every live log backup in progress, now − its latest point, kept as the
largest delay of the cluster's current hour.  One read of the running log
backups (their status index) and one upsert per tick —
``INSERT … ON CONFLICT (cluster, hour) DO UPDATE SET delay = GREATEST(…)`` —
so a tick costs the same whatever the history, and a 90-day chart reads at
most 2,160 rows per cluster through the (cluster, hour) key.
"""

from datetime import timedelta

from django.db import connections, router

from ..choices import LogBackupStatus
from ..models import LogBackupTask, LogDelaySample


def hour_of(moment):
    """The sample's hour: ``moment`` truncated to the hour (in UTC)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def sample_log_delays(now, using=None):
    """Fold the delay of every running log backup into its cluster's hour.
    Returns how many clusters were sampled."""
    using = using or router.db_for_write(LogDelaySample)
    running = (LogBackupTask.objects.using(using).filter(status=LogBackupStatus.IN_PROGRESS, latest_point__isnull=False)
               .values_list("cluster_id", "latest_point"))
    hour = hour_of(now)
    worst = {}
    for cluster_id, point in running:
        delay = max(0, int((now - point) / timedelta(seconds=1)))
        worst[cluster_id] = max(delay, worst.get(cluster_id, 0))
    if not worst:
        return 0
    connection = connections[using]
    qn = connection.ops.quote_name
    meta = LogDelaySample._meta
    table = qn(meta.db_table)
    cluster, at, delay = (qn(meta.get_field(name).column) for name in ("cluster", "hour", "delay_seconds"))
    larger = "GREATEST" if connection.vendor == "postgresql" else "MAX"  # SQLite's scalar MAX
    hour_value = meta.get_field("hour").get_db_prep_save(hour, connection)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({cluster}, {at}, {delay}) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({cluster}, {at}) DO UPDATE SET {delay} = {larger}({table}.{delay}, excluded.{delay})",
            [(cluster_id, hour_value, seconds) for cluster_id, seconds in sorted(worst.items())],
        )
    return len(worst)
