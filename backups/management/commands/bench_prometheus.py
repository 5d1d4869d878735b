"""`manage.py bench_prometheus`: what one /metrics scrape costs on a large estate.

    bench_prometheus                          # 1,000 clusters, a year of daily rollups, 20 scrapes
    bench_prometheus --clusters 1000 --days 365 --history 30 --repeat 20

Adds an estate of ``--clusters`` clusters named ``prom-NNNN`` (once: a second
run measures what is there), each with two tenants, an active policy, a live
log backup, ``--history`` finished data backups, both tenants' recoverable
intervals, an open alert, and ``--days`` days of daily rollups in two
outcomes; then times whole scrapes (the token check, every query, the text)
through the test client.  Run it on a database of its own (PostgreSQL).
"""

import statistics
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.choices import BackupMethod, BackupMode, DataBackupStatus, LogBackupStatus, ScheduleKind
from backups.models import Alert, BackupPolicy, BackupSet, DailyRollup, DataBackupTask, LogBackupTask, RecoverableInterval, StorageDestination
from clusters.models import Cluster, Host, Tenant

PREFIX = "prom-"
TOKEN = "bench-token"


def build(clusters, days, history, out):
    now = timezone.now()
    started = time.monotonic()
    destination, _ = StorageDestination.objects.get_or_create(name="prom-bench", defaults={"kind": "nfs", "uri": "file:///mnt/prom"})
    made = Cluster.objects.bulk_create([
        Cluster(name=f"{PREFIX}{n:04d}", db_version="4.2.1", region="cn-hangzhou") for n in range(clusters)])
    tenants = Tenant.objects.bulk_create([Tenant(cluster=c, name=name) for c in made for name in ("app", "billing")])
    policies = BackupPolicy.objects.bulk_create([BackupPolicy(
        cluster=c, backup_method=BackupMethod.PHYSICAL, destination=destination, directory=f"/{c.name}",
        schedule_kind=ScheduleKind.WEEKLY, schedule_days={"1": "full", "4": "incremental"}, run_at="02:00") for c in made])
    hosts = Host.objects.bulk_create([Host(cluster=c, ip=f"10.{n // 250 % 250}.{n % 250}.9", port=2881 + n // 62500)
                                      for n, c in enumerate(made)])
    logs = LogBackupTask.objects.bulk_create([LogBackupTask(
        cluster=c, policy=p, backup_method=BackupMethod.PHYSICAL, host=h, storage_directory=f"/{c.name}/clog",
        started_at=now - timedelta(days=days), latest_point=now - timedelta(seconds=n % 900), status=LogBackupStatus.IN_PROGRESS)
        for n, (c, p, h) in enumerate(zip(made, policies, hosts, strict=True))])
    sets = BackupSet.objects.bulk_create([BackupSet(cluster=c, number=n, backup_method=BackupMethod.PHYSICAL)
                                          for c in made for n in range(history)])
    DataBackupTask.objects.bulk_create([DataBackupTask(
        cluster=s.cluster, backup_set=s, mode=BackupMode.FULL, backup_method=BackupMethod.PHYSICAL, data_version=s.number + 1,
        storage_directory="/data", status=DataBackupStatus.COMPLETED, size_bytes=2**30,
        started_at=now - timedelta(days=s.number + 1, hours=1), ended_at=now - timedelta(days=s.number + 1))
        for s in sets], batch_size=5000)
    RecoverableInterval.objects.bulk_create([RecoverableInterval(
        cluster=t.cluster, tenant=t, start=now - timedelta(days=history), round=log, data_task_ids=[])
        for t, log in zip(tenants, [log for log in logs for _ in range(2)], strict=True)], batch_size=5000)
    Alert.objects.bulk_create([Alert(rule="log_delay", severity="warning", subject=f"cluster:{c.pk}", cluster=c,
                                     started_at=now) for c in made])
    today = now.date()
    rollups = (DailyRollup(day=today - timedelta(days=d), cluster=c, kind="data", outcome=outcome, count=1 + d % 3,
                           bytes_written=2**30, duration=timedelta(minutes=40))
               for c in made for d in range(days) for outcome in ("completed", "failed"))
    batch = []
    for row in rollups:
        batch.append(row)
        if len(batch) == 10_000:
            DailyRollup.objects.bulk_create(batch)
            batch = []
    DailyRollup.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out(f"built {clusters:,} clusters, {DailyRollup.objects.count():,} rollup rows, "
        f"{DataBackupTask.objects.count():,} data backups in {time.monotonic() - started:.0f}s")


class Command(BaseCommand):
    help = "Build a large estate once, then time /metrics scrapes (the Prometheus endpoint)."

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=int, default=1000)
        parser.add_argument("--days", type=int, default=365, help="days of daily rollups per cluster (two outcomes each)")
        parser.add_argument("--history", type=int, default=30, help="finished data backups per cluster")
        parser.add_argument("--repeat", type=int, default=20, help="scrapes to time")

    def handle(self, *args, clusters, days, history, repeat, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_prometheus measures PostgreSQL: set DATABASE_URL=postgres://...")
        out = self.stdout.write
        if not Cluster.objects.filter(name__startswith=PREFIX).exists():
            build(clusters, days, history, out)
        client = Client()
        times = []
        with override_settings(METRICS_TOKEN=TOKEN):
            for _ in range(repeat + 1):  # the first warms the connection and caches
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                    times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise CommandError(f"/metrics answered {response.status_code}")
        times = sorted(times[1:])
        body = response.content
        samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        out(f"{Cluster.objects.count():,} clusters, {Tenant.objects.count():,} tenants, "
            f"{DailyRollup.objects.count():,} rollup rows: {len(captured.captured_queries)} queries, "
            f"{samples:,} samples, {len(body) / 1024:.0f} KiB")
        out(f"scrape over {repeat}: p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p95 {times[max(0, round(0.95 * len(times)) - 1)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
        sql = sorted(((float(q["time"]), q["sql"][:90]) for q in captured.captured_queries), reverse=True)
        for seconds, text in sql:
            out(f"  {seconds * 1000:7.1f} ms  {text}")
