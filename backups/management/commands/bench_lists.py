"""`manage.py bench_lists`: the list and engine benchmark (see backups/devtools/bench.py).

    bench_lists                      # 1,000,000 tasks per kind, every list, engine
    bench_lists --rows 10000000      # ten million per kind (fills ~58M rows first)
    bench_lists --rows 100000 --json var/bench-100k.json
    bench_lists --rows 10000000 --baseline var/bench-100k.json   # p95 growth vs 100k
    bench_lists --engine-only        # transitions/s and the tick, on what is there (needs a cluster)
    bench_lists --engine-only --orm-transitions   # the same through the portable write path
    bench_lists --rows 100000 --exports --repeat 5   # each task list's CSV and XLSX at the 10,000-row cap
    bench_lists --only restores,recovery --no-engine # the restore list, the recovery page and "can I restore to T?"
    bench_lists --only fleet,alerts --no-engine      # the overview, a cluster page and the periodic alert pass
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from backups.devtools import bench


class Command(BaseCommand):
    help = "Fill to N tasks per kind, then time every list page against the Django admin and the bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000, help="tasks per task kind (default 1,000,000)")
        parser.add_argument("--repeat", type=int, default=20, help="requests per page for ours and the floor")
        parser.add_argument("--admin-repeat", type=int, default=5, help="requests per page for the admin")
        parser.add_argument("--no-fill", action="store_true", help="measure what is there")
        parser.add_argument("--no-engine", action="store_true", help="skip the engine section")
        parser.add_argument("--engine-only", action="store_true", help="no fill, no lists: only the engine section")
        parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="Redis for the engine section")
        parser.add_argument("--engine-tasks", type=int, default=2000, help="messages (2 transitions each)")
        parser.add_argument("--orm-transitions", action="store_true",
                            help="engine: the workers take the portable write path, not the one PostgreSQL statement")
        parser.add_argument("--tick-rows", type=int, default=10_000, help="running log backups for the tick")
        parser.add_argument("--ticks", type=int, default=3, help="real ticks to watch the delay over")
        parser.add_argument("--json", dest="json_path", help="write the figures here")
        parser.add_argument("--baseline", help="a --json file of a smaller run: report p95 growth against it")
        parser.add_argument("--only", help="comma-separated lists to measure (data,logs,cleanups,...,restores; "
                                           "recovery: the recovery page and its answer; fleet: the overview and a cluster page; "
                                           "alerts: the periodic alert pass)")
        parser.add_argument("--exports", action="store_true",
                            help="no pages, no engine: time and peak memory of each task list's CSV and XLSX export at the cap")

    def handle(self, *args, rows, repeat, admin_repeat, no_fill, no_engine, engine_only, broker, engine_tasks,
               tick_rows, ticks, json_path, baseline, only, orm_transitions, exports, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_lists measures PostgreSQL: set DATABASE_URL=postgres://...")
        if engine_only and no_engine:
            raise CommandError("--engine-only and --no-engine contradict each other")
        out = self.stdout.write
        out(f"database {connection.settings_dict['NAME']} on PostgreSQL "
            f"{connection.cursor().connection.server_version // 10000}"
            + ("" if engine_only else f"; {rows:,} tasks per kind"))
        if engine_only:
            summary = self.engine(broker, engine_tasks, tick_rows, ticks, out, orm_transitions)
            if json_path:
                bench.save(json_path, {"summary": summary, "cases": []})
                out(f"figures written to {json_path}")
            return
        if not no_fill:
            bench.fill(rows, out)
        if exports:
            results = bench.measure_exports(repeat, out)
            if json_path:
                bench.save(json_path, {"exports": results})
                out(f"figures written to {json_path}")
            return
        from django.utils import timezone

        cases = bench.build_cases(timezone.now())
        if only:
            cases = [c for c in cases if c.list_key in only.split(",")]
        summary = {"rows_per_kind": rows}
        if cases:
            started = time.monotonic()
            bench.measure(cases, repeat, admin_repeat, out)
            out(f"measured {len(cases)} pages x {repeat} in {time.monotonic() - started:.0f}s\n")
            base = None
            if baseline:
                with open(baseline) as f:
                    base = json.load(f)
            summary = bench.report(cases, rows, out, base)
        if not only or "recovery" in only.split(","):
            out("")
            summary["recovery"] = bench.measure_recovery(repeat, out)
        if not only or "fleet" in only.split(","):
            out("")
            summary["fleet"] = bench.measure_fleet(repeat, out)
        if not only or "alerts" in only.split(","):
            out("")
            summary["alerts"] = bench.measure_alert_pass(min(repeat, 10), out)
        if not no_engine:
            out("")
            summary.update(self.engine(broker, engine_tasks, tick_rows, ticks, out, orm_transitions))
        if json_path:
            bench.save(json_path, bench.as_json(cases, summary))
            out(f"figures written to {json_path}")

    @staticmethod
    def engine(broker, engine_tasks, tick_rows, ticks, out, orm=False):
        summary = {}
        try:
            summary.update(bench.engine_transitions(broker, engine_tasks, out, orm=orm))
            if isinstance(summary.get("engine_transitions"), str):
                out(f"engine: {summary['engine_transitions']}")
        except Exception as exc:
            out(f"engine: not measured ({type(exc).__name__}: {exc})")
        try:
            summary.update(bench.engine_tick(tick_rows, ticks, out))
        except Exception as exc:
            out(f"engine tick: not measured ({type(exc).__name__}: {exc})")
        return summary
