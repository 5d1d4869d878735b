"""The list and engine benchmark (``manage.py bench_lists``).

For every overview list × time range × page kind it times, interleaved and
repeated, three things that show the same rows:

- **ours**: the console's list view, through the Django test client with a
  signed-in superuser (so session and user lookups are in the time and the
  query count, as in production);
- **admin**: the Django admin changelist of the same model with the same
  window, page, sort and filter in the admin's own query parameters;
- **floor**: the SELECT our view ran for that page (captured from the view),
  executed alone on a cursor: what the page costs the database, nothing else.

The engine section measures state transitions per second through two Celery
worker processes on Redis (``backups.engine.transitions.transition``), and the
one-UPDATE tick of 10,000 running log backups (in a transaction that is
rolled back, so the database is left as it was).
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster, Tenant

from ..kinds import KINDS
from ..models import BackupSet, RecoverableInterval
from . import history
from .fill import FILL_MODELS
from .fill import fill as top_up

BENCH_USER = "bench"
# key, our URL, kind, our "sorted by end time" parameter (the log lists have
# no end-time column, and sort by nothing else: see backups/tables.py).
LISTS = [(kind.tab, reverse(kind.list_view), kind.value, kind.end_sort) for kind in KINDS.values()]
RANGES = ["24h", "7d", "30d", "custom90"]
VARIANTS = ["first", "page200", "sorted", "filtered"]
PER_PAGE = 50  # the admin's list_per_page, so both show the same rows
FILTER_STATUS = "failed"
FILTER_CLUSTER = "fleet-007"


@dataclass
class Case:
    list_key: str
    range_key: str
    variant: str
    ours: str
    admin: str
    floor_sql: str = ""
    ours_queries: int = 0
    admin_queries: int = 0
    ours_status: int = 0
    admin_status: int = 0
    times: dict = field(default_factory=lambda: {"ours": [], "admin": [], "floor": []})

    def stat(self, who, q):
        values = sorted(self.times[who])
        if not values:
            return float("nan")
        if q == 50:
            return statistics.median(values)
        return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def window(range_key, now):
    """(our query parameters, admin start, admin end) for a range."""
    if range_key == "custom90":
        today = timezone.localdate(now)
        start = today - timedelta(days=89)
        params = {"range": "custom", "start": start.isoformat(), "end": today.isoformat()}
        tz = timezone.get_current_timezone()
        from datetime import datetime

        lo = timezone.make_aware(datetime(start.year, start.month, start.day), tz)
        hi = timezone.make_aware(datetime(today.year, today.month, today.day), tz) + timedelta(days=1)
        return params, lo, hi
    span = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}[range_key]
    return {"range": range_key}, now - span, now


def admin_sort_index(model, column):
    from django.contrib import admin

    model_admin = admin.site._registry[model]
    display = list(model_admin.list_display)
    offset = 1 if model_admin.actions is not None and model_admin.get_actions is not None else 0
    # The changelist puts the action checkbox first when the admin has actions.
    return offset + display.index(column)


def build_cases(now):
    cluster_id = Cluster.objects.filter(name=FILTER_CLUSTER).values_list("pk", flat=True).first()
    cases = []
    for key, url, kind, sort in LISTS:
        model = FILL_MODELS[kind]
        admin_url = f"/admin/backups/{model._meta.model_name}/"
        for range_key in RANGES:
            params, lo, hi = window(range_key, now)
            # The admin cannot say "or still running"; the bulk rows have all ended.
            admin_window = {"started_at__lt": hi.isoformat(), "ended_at__gte": lo.isoformat()}
            for variant in VARIANTS:
                if variant == "sorted" and sort is None:
                    continue
                ours, admin = dict(params, per_page=PER_PAGE), dict(admin_window)
                if variant == "page200":
                    ours["page"] = admin["p"] = 200
                elif variant == "sorted":
                    ours["sort"] = sort
                    admin["o"] = f"-{admin_sort_index(model, 'ended_at')}"
                elif variant == "filtered":
                    ours.update(status=FILTER_STATUS, cluster=cluster_id)
                    admin.update({"status__exact": FILTER_STATUS, "cluster__id__exact": cluster_id})
                cases.append(Case(key, range_key, variant, f"{url}?{urlencode(ours)}", f"{admin_url}?{urlencode(admin)}"))
    return cases


def ensure_user():
    user, created = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.com"}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def fill(rows, out):
    history.build()
    last = [0.0]

    def progress(kind, done, wanted, rate):
        if time.monotonic() - last[0] >= 10 or done == wanted:
            last[0] = time.monotonic()
            out(f"  fill {kind.label}: {done:,}/{wanted:,}, {rate:,.0f} rows/s")

    result = top_up(dict.fromkeys(FILL_MODELS, rows), progress=progress)
    if result["rows"]:
        out(f"filled {result['rows']:,} rows in {result['seconds']:.0f}s "
            f"({result['rows'] / result['seconds']:,.0f} rows/s)")
    # Fresh statistics and visibility map, as autovacuum leaves a settled table.
    with connection.cursor() as cursor:
        for model in [*FILL_MODELS.values(), BackupSet, RecoverableInterval]:
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def page_query(captured, table):
    """The SELECT that fetched the page: the longest query on the task table."""
    candidates = [q["sql"] for q in captured if f'FROM "{table}"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")]
    return max(candidates, key=len) if candidates else ""


def warm(client, case, model):
    with CaptureQueriesContext(connection) as ours:
        response = client.get(case.ours)
    case.ours_status, case.ours_queries = response.status_code, len(ours.captured_queries)
    case.floor_sql = page_query(ours.captured_queries, model._meta.db_table)
    with CaptureQueriesContext(connection) as admin:
        response = client.get(case.admin)
    case.admin_status, case.admin_queries = response.status_code, len(admin.captured_queries)


def timed(fn):
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run_floor(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.fetchall()


def measure(cases, repeat, admin_repeat, out):
    client = Client()
    client.force_login(ensure_user())
    models = {key: FILL_MODELS[kind] for key, _url, kind, _sort in LISTS}
    for case in cases:
        warm(client, case, models[case.list_key])
    order = list(cases)
    for round_no in range(repeat):
        random.Random(round_no).shuffle(order)
        for case in order:
            case.times["ours"].append(timed(lambda: client.get(case.ours)))
            if round_no < admin_repeat:
                case.times["admin"].append(timed(lambda: client.get(case.admin)))
            if case.floor_sql:
                case.times["floor"].append(timed(lambda: run_floor(case.floor_sql)))
        out(f"  round {round_no + 1}/{repeat} done")


def report(cases, rows, out, baseline=None):
    head = (f"{'list':<15}{'range':<9}{'page':<9}{'ours p50':>9}{'p95':>8}{'q':>3}  "
            f"{'admin p50':>10}{'p95':>9}{'q':>4}  {'floor p50':>9}  {'ours/admin':>10}{'ours/floor':>11}")
    if baseline:
        head += f"{'p95/base':>9}"
    out(head)
    out("-" * len(head))
    base = {(b["list_key"], b["range_key"], b["variant"]): b for b in (baseline or {}).get("cases", [])}
    for c in cases:
        o50, o95, a50, a95, f50 = c.stat("ours", 50), c.stat("ours", 95), c.stat("admin", 50), c.stat("admin", 95), c.stat("floor", 50)
        line = (f"{c.list_key:<15}{c.range_key:<9}{c.variant:<9}{o50:>9.1f}{o95:>8.1f}{c.ours_queries:>3}  "
                f"{a50:>10.1f}{a95:>9.1f}{c.admin_queries:>4}  {f50:>9.2f}  {o50 / a50:>10.3f}{o50 / f50 if f50 else 0:>11.1f}")
        if baseline:
            b = base.get((c.list_key, c.range_key, c.variant))
            line += f"{o95 / b['p95'] if b else float('nan'):>9.2f}"
        if c.ours_status != 200:
            line += f"  (ours HTTP {c.ours_status})"
        out(line)
    worst = max(cases, key=lambda c: c.stat("ours", 95))
    ratios = sorted(c.stat("ours", 50) / c.stat("admin", 50) for c in cases)
    worst_ratio = max(cases, key=lambda c: c.stat("ours", 50) / c.stat("admin", 50))
    summary = {
        "rows_per_kind": rows,
        "worst_p95_ms": round(worst.stat("ours", 95), 1),
        "worst_p95_case": f"{worst.list_key}/{worst.range_key}/{worst.variant}",
        "median_ours_over_admin": round(statistics.median(ratios), 4),
        "worst_ours_over_admin": round(worst_ratio.stat("ours", 50) / worst_ratio.stat("admin", 50), 3),
        "worst_ratio_case": f"{worst_ratio.list_key}/{worst_ratio.range_key}/{worst_ratio.variant}",
        "max_queries": max(c.ours_queries for c in cases),
        "min_queries": min(c.ours_queries for c in cases),
        "median_ours_p50_ms": round(statistics.median(c.stat("ours", 50) for c in cases), 1),
        "median_admin_p50_ms": round(statistics.median(c.stat("admin", 50) for c in cases), 1),
    }
    if baseline:
        scale = [c.stat("ours", 95) / base[k]["p95"] for c in cases
                 if (k := (c.list_key, c.range_key, c.variant)) in base]
        summary["worst_p95_over_baseline"] = round(max(scale), 2) if scale else None
        summary["baseline_rows"] = baseline["summary"]["rows_per_kind"]
    out("")
    out(f"SUMMARY rows/kind={rows:,}: worst p95 {summary['worst_p95_ms']} ms ({summary['worst_p95_case']}); "
        f"ours/admin median {summary['median_ours_over_admin']} (= {1 / summary['median_ours_over_admin']:.0f}x faster), "
        f"worst {summary['worst_ours_over_admin']} ({summary['worst_ratio_case']}); "
        f"queries per page {summary['min_queries']}..{summary['max_queries']}"
        + (f"; worst p95 vs {summary['baseline_rows']:,} rows: {summary['worst_p95_over_baseline']}x" if baseline else ""))
    return summary


def as_json(cases, summary):
    return {
        "summary": summary,
        "cases": [
            {**{k: v for k, v in asdict(c).items() if k not in ("times", "floor_sql")},
             "p50": c.stat("ours", 50), "p95": c.stat("ours", 95), "admin_p50": c.stat("admin", 50),
             "admin_p95": c.stat("admin", 95), "floor_p50": c.stat("floor", 50)}
            for c in cases
        ],
    }


# --- Recovery ----------------------------------------------------------------------


def recovery_cases(now):
    """(name, address) of a fleet cluster's recovery page over 7 and 30 days, and
    of "can I restore to T?" answered yes (inside its newest interval) and no
    (before its oldest: the history before the unexpired sets)."""
    cluster = Cluster.objects.get(name=FILTER_CLUSTER)
    tenant = Tenant.objects.filter(cluster=cluster).order_by("name").first()
    stored = list(RecoverableInterval.objects.filter(tenant=tenant).order_by("start"))
    if not stored:
        raise RuntimeError(f"{cluster.name} has no recoverable interval: fill first")
    newest, oldest = stored[-1], stored[0]
    yes = newest.start + (newest.effective_end - newest.start) / 2
    no = oldest.start - timedelta(hours=6)
    base = reverse("clusters:recovery", args=[cluster.pk])

    def at(moment):
        return urlencode({"tenant": tenant.pk, "at": timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")})

    return [("page-7d", base), ("page-30d", f"{base}?days=30"), ("restore-to-yes", f"{base}?{at(yes)}"),
            ("restore-to-no", f"{base}?{at(no)}")]


def measure_named(title, cases, repeat, out):
    """p50/p95 and queries of each (name, address), interleaved like the lists;
    a page that answers "can I restore to T?" says which answer it gave."""
    client = Client()
    client.force_login(ensure_user())
    results = {}
    for name, address in cases:
        client.get(address)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(address)
        body = response.content.decode()
        answer = "yes" if "can be restored to" in body else "no" if "cannot be restored to" in body else "-"
        results[name] = {"address": address, "status": response.status_code, "queries": len(captured.captured_queries),
                         "answer": answer, "kib": round(len(response.content) / 1024), "times": []}
    order = list(cases)
    for round_no in range(repeat):
        random.Random(round_no).shuffle(order)
        for name, address in order:
            results[name]["times"].append(timed(lambda: client.get(address)))
    out(f"{title:<17}{'p50':>8}{'p95':>8}{'q':>4}{'KiB':>5}  answer  address")
    for name, r in results.items():
        values = sorted(r.pop("times"))
        r["p50"] = round(statistics.median(values), 1)
        r["p95"] = round(values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))], 1)
        out(f"{name:<17}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['queries']:>4}{r['kib']:>5}  {r['answer']:<6}  {r['address']}"
            + ("" if r["status"] == 200 else f"  (HTTP {r['status']})"))
    counts = {r["queries"] for r in results.values()}
    out(f"SUMMARY {title}: worst p95 {max(r['p95'] for r in results.values())} ms; queries per page "
        f"{min(counts)}..{max(counts)}")
    return results


def measure_recovery(repeat, out):
    return measure_named("recovery", recovery_cases(timezone.now()), repeat, out)


def fleet_cases():
    """The overview (core metrics, charts and the first data page), its metrics'
    live refresh, a fleet cluster's page over 30 and 90 days (charts, cleanup
    preview, alerts), and the alert list (its default week, and the open
    alerts of 30 days)."""
    cluster = reverse("clusters:detail", args=[Cluster.objects.get(name=FILTER_CLUSTER).pk])
    alerts = reverse("alerts:list")
    return [("overview", reverse("backups:overview")), ("metrics-refresh", reverse("backups:overview_metrics")),
            ("cluster-30d", cluster), ("cluster-90d", f"{cluster}?days=90"),
            ("alerts-7d", alerts), ("alerts-30d-open", f"{alerts}?range=30d&status=open")]


def measure_fleet(repeat, out):
    return measure_named("fleet pages", fleet_cases(), repeat, out)


def measure_alert_pass(repeat, out):
    """The periodic alert pass (beat's ``evaluate_alerts``) over every cluster
    there is: the first pass (which opens what holds) and ``repeat`` more."""
    from ..engine import alerting
    from ..models import Alert

    times, counts = [], []
    for _ in range(repeat + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            counts.append(alerting.evaluate_all())
            times.append((time.perf_counter() - started) * 1000)
    steady = sorted(times[1:])
    result = {"clusters": Cluster.objects.count(), "first_ms": round(times[0], 1), "first": counts[0],
              "p50_ms": round(statistics.median(steady), 1),
              "p95_ms": round(steady[min(len(steady) - 1, int(round(0.95 * (len(steady) - 1))))], 1),
              "queries": len(captured.captured_queries), "open": Alert.objects.filter(status="open").count()}
    out(f"alert pass over {result['clusters']:,} clusters: first {result['first_ms']:.0f} ms "
        f"(opened {counts[0]['opened']}, resolved {counts[0]['resolved']}), then p50 {result['p50_ms']:.0f} ms, "
        f"p95 {result['p95_ms']:.0f} ms over {repeat}; {result['queries']} queries; {result['open']:,} alerts open")
    return result


# --- Engine ------------------------------------------------------------------------


def _bench_transition(pk):
    from ..engine import transitions
    from ..models import CleanupTask

    if os.environ.get("BENCH_ORM_TRANSITIONS") == "1":
        # The portable path on PostgreSQL too: a read, a conditional UPDATE and
        # an INSERT in a transaction, to compare with the one-statement path.
        transitions._plain = lambda model, values: False
    transitions.transition(CleanupTask, pk, "running", cause="benchmark", actor_label="bench")
    transitions.transition(CleanupTask, pk, "completed", cause="benchmark", actor_label="bench")


try:  # the worker imports this module with -I backups.devtools.bench
    from celery import shared_task

    bench_transition = shared_task(name="backups.devtools.bench.bench_transition", ignore_result=True)(_bench_transition)
except ImportError:  # pragma: no cover
    bench_transition = None

ENGINE_QUEUE = "bench-engine"


def _database_url():
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _use_broker(app, broker):
    app.conf.broker_url = broker
    app.conf.broker_transport = None  # the URL's scheme picks it, not the embedded default
    app._pool = None
    app.amqp._producer_pool = None
    with app.connection_for_write() as conn:  # leftovers of an interrupted run
        try:
            conn.default_channel.queue_purge(ENGINE_QUEUE)
        except Exception:
            pass


def _start_workers(app, env, logs, workers):
    """Two worker processes with one prefork child each, on the bench queue;
    True once both answer a ping (within a minute)."""
    celery = str(Path(sys.executable).with_name("celery"))
    for n in range(2):
        log = open(f"/tmp/bench-engine-worker-{n}.log", "w")
        logs.append(log)
        workers.append(subprocess.Popen(
            [celery, "-A", "backup_console", "worker", "-c", "1", "-P", "prefork", "-Q", ENGINE_QUEUE,
             "-I", "backups.devtools.bench", "-n", f"bench{n}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "WARNING"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if sum(1 for r in replies for name in r if name.startswith("bench")) >= 2:
            return True
    return False


def _stop_workers(workers, logs):
    for proc in workers:
        proc.terminate()
    for proc in workers:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    for log in logs:
        log.close()


def _wait_until_completed(ids, timeout=600):
    """Watch cheaply: the last message sent first (one index lookup), then any
    other; counting every id on each look took CPU from the workers timed."""
    from ..models import CleanupTask

    last = CleanupTask.objects.filter(pk=ids[-1], status="completed")
    pending = CleanupTask.objects.filter(pk__in=ids).exclude(status="completed")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if last.exists() and not pending.exists():
            return
        time.sleep(0.02)


def engine_transitions(broker, tasks, out, orm=False):
    """Transitions/s of two worker processes: each message moves one cleanup
    task not started → running → completed (two transitions, two events).
    ``orm``: the workers take the portable write path instead of the one
    PostgreSQL statement."""
    from django.contrib.contenttypes.models import ContentType

    from backup_console.celery import app

    from ..models import CleanupTask, TaskEvent

    if connection.vendor != "postgresql":
        return {"engine_transitions": "not measured (needs PostgreSQL)"}
    cluster = Cluster.objects.filter(name=FILTER_CLUSTER).first() or Cluster.objects.first()
    now = timezone.now()
    ids = [t.pk for t in CleanupTask.objects.bulk_create([
        CleanupTask(cluster=cluster, started_at=now, status="not_started", retention_days=7) for _ in range(tasks)
    ])]
    env = dict(os.environ, DATABASE_URL=_database_url(), CELERY_BROKER_URL=broker, LOG_LEVEL="WARNING",
               BENCH_ORM_TRANSITIONS="1" if orm else "0")
    logs, workers = [], []
    try:
        _use_broker(app, broker)
        if not _start_workers(app, env, logs, workers):
            return {"engine_transitions": "not measured (workers did not start; see /tmp/bench-engine-worker-*.log)"}
        started = time.perf_counter()
        for pk in ids:
            bench_transition.apply_async((pk,), queue=ENGINE_QUEUE)
        enqueued = time.perf_counter() - started
        _wait_until_completed(ids)
        elapsed = time.perf_counter() - started
        done = CleanupTask.objects.filter(pk__in=ids, status="completed").count()
        rate = 2 * done / elapsed
        path = "the portable (ORM) path" if orm else "one statement each"
        out(f"engine: {2 * done:,} transitions by 2 worker processes in {elapsed:.2f}s = {rate:,.0f} transitions/s "
            f"(enqueue {enqueued:.2f}s; {path})")
        db = connection.settings_dict
        out(f"engine workers: the project's settings (task_acks_late={app.conf.task_acks_late}, "
            f"worker_prefetch_multiplier={app.conf.worker_prefetch_multiplier}, "
            f"task_reject_on_worker_lost={app.conf.task_reject_on_worker_lost}, CONN_MAX_AGE={db['CONN_MAX_AGE']}, "
            f"CONN_HEALTH_CHECKS={db['CONN_HEALTH_CHECKS']}); unlike the Procfile's one worker with two "
            f"prefork children, two workers with one each")
        return {"engine_transitions_per_s": round(rate), "engine_transitions": 2 * done, "engine_seconds": round(elapsed, 2)}
    finally:
        _stop_workers(workers, logs)
        TaskEvent.objects.filter(content_type=ContentType.objects.get_for_model(CleanupTask), object_id__in=ids).delete()
        CleanupTask.objects.filter(pk__in=ids).delete()


class _Rollback(Exception):
    pass


def engine_tick(count, ticks, out):
    """10,000 running log backups: time the one-UPDATE tick, and check that
    every delay stays under twice the tick interval across real ticks."""
    from clusters.models import Host

    from ..engine import simulation
    from ..models import LogBackupTask

    interval = float(settings.SIM_LOG_TICK_SECONDS)
    result = {}
    try:
        with transaction.atomic():
            now = timezone.now()
            clusters = Cluster.objects.bulk_create([
                Cluster(name=f"bench-tick-{n:05d}", db_version="4.2.1", region="bench", data_version=1) for n in range(count)
            ])
            hosts = Host.objects.bulk_create([
                Host(cluster=c, ip=f"10.{200 + n // 65536}.{n // 256 % 256}.{n % 256}", port=2881) for n, c in enumerate(clusters)
            ])
            LogBackupTask.objects.bulk_create([
                LogBackupTask(cluster=c, host=h, backup_method="physical", storage_directory=f"/bench/{c.name}",
                              status="in_progress", started_at=now - timedelta(hours=1),
                              latest_point=now - timedelta(seconds=simulation.LOG_LAG_SECONDS))
                for c, h in zip(clusters, hosts)
            ])
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {LogBackupTask._meta.db_table}")
            update_ms, worst_delay = [], 0.0
            # One tick first, as the worker's beat does on its schedule: the rows'
            # first points are as old as creating 10,000 clusters took (seconds).
            simulation.tick_log_backups(now=timezone.now(), interval=interval)
            last = time.monotonic()
            for _ in range(ticks):
                time.sleep(max(0.0, interval - (time.monotonic() - last)))
                last = time.monotonic()
                ids = LogBackupTask.objects.filter(status="in_progress", cluster__in=clusters)
                before = min(ids.values_list("latest_point", flat=True))
                worst_delay = max(worst_delay, (timezone.now() - before).total_seconds())
                # The tick's own clock starts when it runs, as in the worker, not
                # before this measurement (the 10,000-ID query above takes ~1 s).
                tick_now = timezone.now()
                update_ms.append(timed(lambda: simulation.tick_log_backups(now=tick_now, interval=interval)))
            # The delay just before the next tick is the worst a page can show.
            time.sleep(max(0.0, interval - (time.monotonic() - last)))
            before = min(LogBackupTask.objects.filter(status="in_progress", cluster__in=clusters)
                         .values_list("latest_point", flat=True))
            worst_delay = max(worst_delay, (timezone.now() - before).total_seconds())
            ok = worst_delay < 2 * interval
            out(f"engine tick: {count:,} running log backups, tick UPDATE {statistics.median(update_ms):.0f} ms median, "
                f"{max(update_ms):.0f} ms max over {ticks} ticks of {interval:g}s; worst delay {worst_delay:.1f}s "
                f"{'<' if ok else '>='} 2 x tick = {2 * interval:g}s: {'OK' if ok else 'NOT MET'}")
            result = {"tick_rows": count, "tick_update_ms_median": round(statistics.median(update_ms)),
                      "tick_update_ms_max": round(max(update_ms)), "tick_worst_delay_s": round(worst_delay, 2),
                      "tick_interval_s": interval, "tick_delay_ok": ok}
            raise _Rollback
    except _Rollback:
        pass
    return result


# --- Exports ---------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx")


def _read_export(client, address):
    """Ask for an export and read it to the end as a browser would, chunk by
    chunk (a streamed CSV is never held whole); its size and lines."""
    response = client.get(address)
    size = lines = 0
    for chunk in (response.streaming_content if response.streaming else [response.content]):
        size, lines = size + len(chunk), lines + chunk.count(b"\n")
    return response, size, lines


def measure_exports(repeat, out):
    """Every task list's CSV and XLSX at the cap: the 30-day window (60,000
    fleet rows of a kind, so the file stops at 10,000), in the list's order,
    through the test client with a signed-in superuser.  Wall time over
    ``repeat`` requests, and the peak of Python's allocations while one more
    is made and read (tracemalloc, in a run of its own: it slows what it
    watches).  Their queries are counted by tests/views/test_export.py."""
    import tracemalloc

    client = Client()
    client.force_login(ensure_user())
    results = []
    out(f"{'list':<15}{'format':<7}{'p50 ms':>8}{'max ms':>8}{'peak MiB':>10}{'file MiB':>10}{'lines':>7}")
    for key, url, _kind, _sort in LISTS:
        for fmt in EXPORT_FORMATS:
            address = f"{url}?range=30d&_export={fmt}"
            response, size, lines = _read_export(client, address)  # warm, and checked
            assert response.status_code == 200, (address, response.status_code)
            times = [timed(lambda: _read_export(client, address)) for _ in range(repeat)]
            tracemalloc.start()
            _read_export(client, address)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            result = {"list": key, "format": fmt, "p50_ms": statistics.median(times), "max_ms": max(times),
                      "peak_mib": peak / 2**20, "file_mib": size / 2**20,
                      "lines": lines if fmt == "csv" else None}
            results.append(result)
            out(f"{key:<15}{fmt:<7}{result['p50_ms']:>8.0f}{result['max_ms']:>8.0f}{result['peak_mib']:>10.1f}"
                f"{result['file_mib']:>10.2f}{lines if fmt == 'csv' else '':>7}")
    return results


def save(path, data):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1, default=str))
