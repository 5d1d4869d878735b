"""`manage.py seed_demo`: the demo estate and its history (see backups/devtools/history.py).

    seed_demo                    # demo clusters + 30 days of history + demo/demo login
    seed_demo --if-empty         # the same, but only on a database without clusters
    seed_demo --tasks 1000000    # ...and top every task kind up to a million rows
    seed_demo --seed 7 --reset   # rebuild the demo clusters' history from another seed

Development only: on a production configuration (HTTPS=1) it refuses and
makes nothing, since the demo login is a superuser with a known password.  A
``demo`` user that exists is left as it is (an admin may have demoted it).

The history's live tasks (running, starting, stopping, due) are queued for the
Celery worker once committed, so a worker started later carries them on.
"""

import time
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups.choices import TaskKind
from backups.devtools import alerts, drills, estate, fill, history, restores
from backups.engine import intervals
from clusters.models import Cluster


def parse_now(value):
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO date-time: {value!r}") from exc
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.get_current_timezone())


class Command(BaseCommand):
    help = "Create demo clusters, policies and 30 days of backup history; optionally bulk rows for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=estate.DEFAULT_SEED, help="random seed (same seed, same rows)")
        parser.add_argument("--now", type=parse_now, help="ISO date-time the history ends at (default: this minute)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any cluster exists")
        parser.add_argument("--reset", action="store_true", help="delete the demo clusters' history and rebuild it")
        parser.add_argument("--tasks", type=int, default=0, metavar="N",
                            help="top every task kind up to at least N rows (bulk, on fleet-* clusters)")
        parser.add_argument("--batch-size", type=int, default=fill.DEFAULT_BATCH, help="rows per bulk batch")

    def handle(self, *args, seed, now, if_empty, reset, tasks, batch_size, **options):
        if not estate.demo_logins_allowed():
            raise CommandError(estate.PRODUCTION_REFUSAL)
        if if_empty and Cluster.objects.exists():
            self.stdout.write("seed_demo: clusters exist, nothing to do (--if-empty)")
            return
        now = now or estate.default_now()
        created = history.build(seed=seed, now=now, reset=reset)
        # The history is written in bulk, not move by move: derive what each
        # tenant can be restored to from it once, as the engine keeps it after.
        for cluster_id in Cluster.objects.values_list("pk", flat=True):
            intervals.refresh(cluster_id)
        restored = restores.seed(now)
        if restored:
            self.stdout.write(f"demo restores created: {restored}")
        drilled = drills.seed(now, seed=seed)
        if drilled:
            self.stdout.write(f"demo restore drills created: {drilled}")
        if created:
            summary = ", ".join(f"{count} {label}" for label, count in created.items())
            self.stdout.write(f"demo history created (seed {seed}, now {now:%Y-%m-%d %H:%M %Z}): {summary}")
        else:
            self.stdout.write("demo history already present; nothing added (use --reset to rebuild)")
        user = get_user_model().objects.get(username=estate.DEMO_USERNAME)
        if estate.demo_login_works(user):
            self.stdout.write(f"login: {estate.DEMO_USERNAME} / {estate.DEMO_PASSWORD}")
        else:
            self.stdout.write(f"the {estate.DEMO_USERNAME!r} user exists and was left as it is "
                              "(deactivated, demoted or with another password)")
        if tasks:
            self.fill(tasks, seed, now, batch_size)
        # Last, on everything above: what the alert rules find now (and a
        # week of resolved alerts), so a first `make run` shows both.
        alerted = alerts.seed(now)
        self.stdout.write(f"demo alerts: {alerted['open']} open, {alerted['resolved']} resolved")

    def fill(self, tasks, seed, now, batch_size):
        last = [0.0]

        def progress(kind, done, wanted, rate):
            if time.monotonic() - last[0] >= 2 or done == wanted:
                last[0] = time.monotonic()
                self.stdout.write(f"  {kind.label}: {done:,}/{wanted:,} rows, {rate:,.0f} rows/s overall")

        self.stdout.write(f"topping every task kind up to {tasks:,} rows...")
        result = fill.fill(dict.fromkeys(fill.FILL_MODELS, tasks), seed=seed, now=now, progress=progress,
                           batch_size=batch_size)
        if not result["rows"]:
            self.stdout.write("every task kind already has enough rows; nothing added")
            return
        seconds = result["seconds"]
        per_kind = ", ".join(f"{TaskKind(kind).label}: {result[TaskKind(kind).value]:,}" for kind in fill.FILL_MODELS)
        self.stdout.write(
            f"inserted {result['rows']:,} rows (backup sets included) in {seconds:.1f}s, "
            f"{result['rows'] / seconds:,.0f} rows/s ({per_kind})"
        )
