"""The split window (backups.timerange.Window.parts, views.PartsQuery) shows
exactly the rows of the one-condition window, in the same order: "started
inside" and "alive at the start" (or, sorted by end, "ended inside" and
"alive at the end") are disjoint and together are the OV-8 overlap, on every
page and in the count, at the edges too (a task starting or ending exactly
at a window bound)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from backups.models import CleanupTask
from backups.paging import PartsQuery
from backups.timerange import Window, effective_end
from tests import factories as f

ORDERS = {
    "newest start first": ("-started_at", "-id"),
    "oldest start first": ("started_at", "id"),
    "latest end first": ("-effective_end", "-id"),
    "earliest end first": ("effective_end", "id"),
}


@pytest.fixture
def tasks(db):
    """120 cleanup tasks over ten days: short, long, running, and some that
    start or end exactly on the windows' bounds below."""
    rng = random.Random(7)
    cluster = f.make_cluster(name="parts-1")
    base = timezone.now().replace(microsecond=0) - timedelta(days=10)
    made = []
    for _ in range(120):
        start = base + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        if rng.random() < 0.1:
            made.append(f.make_cleanup_task(cluster, started_at=start, status="running"))
        else:
            length = timedelta(minutes=rng.choice([1, 30, 300, 3000, 9000]))
            made.append(f.make_cleanup_task(cluster, started_at=start, ended_at=start + length))
    return base, made


def windows(base, made):
    rng = random.Random(11)
    bounds = [t.started_at for t in made[:5]] + [t.ended_at for t in made[5:12] if t.ended_at]
    for _ in range(25):
        start = base + timedelta(minutes=rng.randrange(-600, 12 * 24 * 60))
        yield Window(start, start + timedelta(minutes=rng.choice([10, 60, 24 * 60, 7 * 24 * 60])))
    for moment in bounds:  # a task starts or ends exactly on a bound
        yield Window(moment, moment + timedelta(hours=6))
        yield Window(moment - timedelta(hours=6), moment)
    yield Window(base + timedelta(days=3), None)  # open end
    yield Window(None, base + timedelta(days=3))  # open start


def ids(queryset):
    return list(queryset.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_the_parts_are_the_window_in_the_same_order(tasks, order):
    rows = CleanupTask.objects.alias(effective_end=effective_end())
    checked = 0
    for window in windows(*tasks):
        expected = ids(rows.filter(window.q()).order_by(*order))
        parts = [rows.filter(part).order_by(*order) for part in window.parts(order[0].lstrip("-"))]
        seen = [ids(part) for part in parts]
        assert sorted(sum(seen, [])) == sorted(expected), window  # together: the window
        assert len(set(sum(seen, []))) == sum(map(len, seen)), window  # disjoint
        query = PartsQuery(parts)
        counted = CleanupTask.objects.annotate(n=query.capped_total()).values_list("n", flat=True).first()
        assert counted == len(expected), window
        for offset, limit in ((0, 10), (10, 10), (5, 7), (len(expected) - 3, 10), (len(expected) + 30, 10)):
            offset = max(0, offset)
            page = ids(CleanupTask.objects.alias(effective_end=effective_end())
                       .filter(pk__in=query.page_ids(offset, limit)).order_by(*order))
            if offset >= len(expected):  # past the end: the last page instead
                offset = max(0, (len(expected) - 1) // limit * limit)
            assert page == expected[offset:offset + limit], (window, offset, limit)
        checked += bool(expected)
    assert checked > 20  # the windows above do hold rows


@pytest.mark.django_db
def test_a_window_splits_in_two_only_where_an_index_can_walk_it(tasks):
    base, _made = tasks
    assert len(Window(base, base + timedelta(days=1)).parts("started_at")) == 2
    assert len(Window(base, base + timedelta(days=1)).parts("effective_end")) == 2
    assert len(Window(None, base).parts("started_at")) == 1  # nothing started before an open start
    assert len(Window(base, None).parts("effective_end")) == 1  # nothing alive after an open end
    assert len(Window(None, None).parts("started_at")) == 1
