"""OV-8 at its edges, through the list pages, against an independent answer.

Tasks start and end exactly on the bounds of the windows asked for, one
microsecond either side of them, or run still.  Each list page is requested
as an operator would (``range=custom&start=...&end=...``, a date-only end, the
24h and 7d presets under a frozen clock), in every order the list offers and
over several page sizes and pages, and the IDs it shows are compared with a
brute-force answer written here in plain Python over every task:

    started_at < end  and  (ended_at is None  or  ended_at >= start)

The oracle uses no product code (not ``Window.q``, ``parts`` or the far-future
constant), so a wrong comparison, a lost part of the split window or a wrong
tie-break in the paging query shows up as a different list of IDs.

It runs on PostgreSQL (the GiST ``AliveAt`` path) and on SQLite (the plain
comparisons): on a PostgreSQL run the SQLite variant runs this file again in
a child pytest against an embedded SQLite database.
"""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests.clock import frozen
from tests.roles import user_in
from tests.services import require_postgres

ROOT = Path(__file__).resolve().parents[2]
US = timedelta(microseconds=1)
HALF_DAY = timedelta(hours=12)
# Later than every real end: how the oracle orders running tasks by end time.
NEVER = datetime.max.replace(tzinfo=timezone.get_fixed_timezone(0))


def instants():
    """T0..T3, half a day apart from a local midnight (so a date-only bound
    falls exactly on one of them)."""
    base = timezone.make_aware(datetime(2025, 3, 1))
    return [base + k * HALF_DAY for k in range(4)]


def moments():
    return sorted({t + d for t in instants() for d in (-US, timedelta(0), US)})


def spans():
    """Every (start, end) over the moments with end >= start, and each start running still."""
    points = moments()
    for i, start in enumerate(points):
        for end in points[i:]:
            yield start, end
        yield start, None


# --- One maker per kind: a task with exactly this start and end -----------------------


class Estate:
    """Clusters for the running tasks (one live data or log backup per cluster)."""

    def __init__(self):
        self.clusters = []
        self.next_running = 0

    def cluster(self, running):
        if not running:
            if not self.clusters:
                self.clusters.append(f.make_cluster())
            return self.clusters[0]
        self.next_running += 1
        while len(self.clusters) < self.next_running:
            self.clusters.append(f.make_cluster())
        return self.clusters[self.next_running - 1]


def make_data(estate, start, end):
    status = "in_progress" if end is None else "completed"
    return f.make_data_task(estate.cluster(end is None), started_at=start, ended_at=end, status=status)


def make_log(estate, start, end):
    status = "in_progress" if end is None else "stopped"
    return f.make_log_task(estate.cluster(end is None), started_at=start, ended_at=end, status=status)


def make_cleanup(estate, start, end):
    status = "running" if end is None else "completed"
    return f.make_cleanup_task(estate.cluster(False), started_at=start, ended_at=end, status=status)


def make_secondary_data(estate, start, end):
    if not hasattr(estate, "source"):
        old = timezone.make_aware(datetime(2025, 1, 1))
        estate.source = f.make_data_task(estate.cluster(False), started_at=old, ended_at=old + timedelta(hours=1))
    status = "in_progress" if end is None else "completed"
    return f.make_secondary_data_task(estate.source, started_at=start, ended_at=end, status=status)


def make_secondary_log(estate, start, end):
    # One live copy per source: each copy gets its own (stopped, long ago) source.
    old = timezone.make_aware(datetime(2025, 1, 1))
    source = f.make_log_task(estate.cluster(False), status="stopped", started_at=old, ended_at=old + timedelta(hours=1))
    status = "in_progress" if end is None else "stopped"
    return f.make_secondary_log_task(source, started_at=start, ended_at=end, status=status)


# (maker, list URL name, the sort parameters the list offers besides its default order,
#  the oracle's default order)
START_DESC, END_DESC = "-started_at", "-ended_at"
TIMED_SORTS = ["started_at", "-started_at", "ended_at", "-ended_at"]
KINDS = {
    "data": (make_data, "backups:data_list", TIMED_SORTS, START_DESC),
    "log": (make_log, "backups:log_list", [], END_DESC),
    "cleanup": (make_cleanup, "backups:cleanup_list", TIMED_SORTS, START_DESC),
    "secondary_data": (make_secondary_data, "backups:secondary_data_list", TIMED_SORTS, START_DESC),
    "secondary_log": (make_secondary_log, "backups:secondary_log_list", [], END_DESC),
}


# --- The oracle ---------------------------------------------------------------------------


def in_window(task, start, end):
    if end is not None and not task.started_at < end:
        return False
    if start is not None and not (task.ended_at is None or task.ended_at >= start):
        return False
    return True


def ordered(tasks, sort):
    descending = sort.startswith("-")
    if sort.lstrip("-") == "started_at":
        key = lambda t: (t.started_at, t.pk)  # noqa: E731
    else:
        key = lambda t: (t.ended_at or NEVER, t.pk)  # noqa: E731
    return sorted(tasks, key=key, reverse=descending)


def expected(tasks, start, end, sort):
    return [t.pk for t in ordered([t for t in tasks if in_window(t, start, end)], sort)]


# --- The windows asked for ------------------------------------------------------------------


def stamp(moment):
    """A date-time as a query parameter: ISO with microseconds and offset (<= 32 characters)."""
    return moment.isoformat()


def windows():
    """(query parameters, frozen now or None, start, end) of every window checked."""
    t0, t1, t2, t3 = instants()
    yield {"range": "custom", "start": stamp(t1), "end": stamp(t2)}, None, t1, t2
    yield {"range": "custom", "start": stamp(t1 - US), "end": stamp(t1 + US)}, None, t1 - US, t1 + US
    yield {"range": "custom", "start": stamp(t1), "end": stamp(t1 + US)}, None, t1, t1 + US
    yield {"range": "custom", "start": stamp(t2)}, None, t2, None
    yield {"range": "custom", "end": stamp(t1)}, None, None, t1
    # Dates only: from the first day's midnight to the end of that day (T2).
    yield {"range": "custom", "start": t0.date().isoformat(), "end": t0.date().isoformat()}, None, t0, t2
    # Presets, with the clock frozen on an edge.
    yield {"range": "24h"}, t3, t3 - timedelta(hours=24), t3
    yield {"range": "7d"}, t2 + timedelta(days=7), t2, t2 + timedelta(days=7)


def pages(total):
    """(per_page, page) pairs: everything on big pages, and small pages at the
    start, the end and one past the end (which shows the last page)."""
    last = max(1, -(-total // 10))
    yield 100, 1
    if total > 100:
        yield 100, 2
    for page in sorted({1, 2, last, last + 1}):
        yield 10, page


def shown(client, url, params, now):
    if now is None:
        response = client.get(url, params)
    else:
        with frozen(now):
            response = client.get(url, params)
    assert response.status_code == 200, (params, response.content[:1500])
    return response


def check_every_window(kind):
    make, url_name, sorts, default_sort = KINDS[kind]
    estate = Estate()
    tasks = [make(estate, start, end) for start, end in spans()]
    client = Client()
    client.force_login(user_in("operator", username=f"operator-{kind}"))
    url = reverse(url_name)
    checked = 0
    for params, now, start, end in windows():
        for sort in [None, *sorts]:
            want = expected(tasks, start, end, sort or default_sort)
            assert want, (params, "the window holds no task: the check would be empty")
            for per_page, page in pages(len(want)):
                query = dict(params, per_page=per_page, page=page, **({"sort": sort} if sort else {}))
                response = shown(client, url, query, now)
                last = max(1, -(-len(want) // per_page))
                offset = (min(page, last) - 1) * per_page
                got = [row.pk for row in response.context["rows"]]
                assert got == want[offset:offset + per_page], (kind, query)
                assert response.context["total"] == len(want), (kind, query)
                checked += 1
    # Every window, in every order, on at least three pages.
    assert checked >= len(list(windows())) * (1 + len(sorts)) * 3


def run(kind):
    check_every_window(kind)


# --- The tests ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_window_edges_match_the_oracle_on_postgresql(kind):
    require_postgres()
    run(kind)


@pytest.mark.django_db
def test_window_edges_match_the_oracle_on_sqlite(tmp_path):
    if connection.vendor == "sqlite":
        for kind in KINDS:
            run(kind)
        return
    # This run is on another database: run this test again on an embedded SQLite.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TEST_DATABASE_NAME")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'oracle.sqlite3'}", BACKUP_CONSOLE_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
         f"{__file__}::test_window_edges_match_the_oracle_on_sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-6000:] + result.stderr[-3000:]
