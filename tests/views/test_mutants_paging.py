"""Paging of the split window (backups/paging.py): the page numbers and links,
the capped count, and the bounded reads that are PartsQuery's reason to be;
written to kill mutants the rest of the suite let live (bench/mutation.sh)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backup_console.lists import COUNT_CAP
from backups import paging
from backups.models import CleanupTask
from backups.paging import Page, PartsQuery
from backups.timerange import Window, effective_end
from tests import factories as f

# --- Page: numbers and links ------------------------------------------------------------------


@pytest.mark.parametrize("total, per_page, pages", [
    (0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (20, 10, 2), (21, 10, 3), (57, 50, 2),
    (COUNT_CAP, 50, COUNT_CAP // 50), (COUNT_CAP + 1, 50, COUNT_CAP // 50), (COUNT_CAP + 1, 30, 334),
])
def test_the_number_of_pages(total, per_page, pages):
    assert Page([], 1, per_page, total).num_pages == pages


def test_only_a_total_beyond_the_cap_is_capped():
    assert Page([], 1, 50, COUNT_CAP).capped is False
    assert Page([], 1, 50, COUNT_CAP + 1).capped is True


@pytest.mark.parametrize("number, has_previous, has_next", [(1, False, True), (2, True, True), (3, True, False)])
def test_the_neighbours_of_a_page(number, has_previous, has_next):
    page = Page([], number, 10, 30)
    assert (page.has_previous, page.has_next) == (has_previous, has_next)
    assert (page.previous_page_number, page.next_page_number) == (number - 1, number + 1)


@pytest.mark.parametrize("number, num_pages, shown", [
    (1, 1, [1]),
    (1, 2, [1, 2]),
    (2, 2, [1, 2]),
    (1, 10, [1, 2, 3, "...", 10]),
    (3, 10, [1, 2, 3, 4, 5, "...", 10]),
    (4, 10, [1, 2, 3, 4, 5, 6, "...", 10]),
    (5, 10, [1, "...", 3, 4, 5, 6, 7, "...", 10]),
    (7, 10, [1, "...", 5, 6, 7, 8, 9, 10]),
    (10, 10, [1, "...", 8, 9, 10]),
])
def test_the_page_links(number, num_pages, shown):
    assert Page([], number, 10, 10 * num_pages).page_range() == shown


# --- PartsQuery: the count and the reads ---------------------------------------------------------


@pytest.fixture
def window_rows(db):
    """Eight cleanups started inside the window (a minute apart) and two
    running ones started before it: both parts of the window hold rows."""
    cluster = f.make_cluster()
    now = timezone.now().replace(microsecond=0)
    inside = [f.make_cleanup_task(cluster, started_at=now - timedelta(minutes=n)) for n in range(1, 9)]
    alive = [f.make_cleanup_task(cluster, started_at=now - timedelta(days=3, minutes=n), status="running")
             for n in range(2)]
    return Window(now - timedelta(days=1), now), inside, alive


def parts_query(window, order=("-started_at", "-id")):
    rows = CleanupTask.objects.alias(effective_end=effective_end())
    return PartsQuery([rows.filter(part).order_by(*order) for part in window.parts(order[0].lstrip("-"))])


def count(query):
    return CleanupTask.objects.annotate(n=query.capped_total()).values_list("n", flat=True).first()


def page(query, offset, limit):
    return list(CleanupTask.objects.filter(pk__in=query.page_ids(offset, limit))
                .order_by("-started_at").values_list("pk", flat=True))


def test_the_count_reads_at_most_one_row_beyond_the_cap(window_rows, monkeypatch):
    window, inside, alive = window_rows
    assert count(parts_query(window)) == 10
    monkeypatch.setattr(paging, "COUNT_CAP", 4)
    assert count(parts_query(window)) == 5
    assert Page([], 1, 2, 5).capped is True and Page([], 1, 2, 5).num_pages == 2


def test_a_list_may_be_sorted_by_start_time_alone(window_rows):
    window, inside, alive = window_rows
    query = parts_query(window, order=("-started_at",))
    assert page(query, 0, 5) == [t.pk for t in inside[:5]]
    assert page(query, 5, 5) == [t.pk for t in inside[5:]] + [t.pk for t in alive]


def parts_of(raw, outer):
    """The SQL of each part of a page_ids or capped_total query, and what wraps them."""
    union, wrapper = raw.sql.rsplit(outer, 1)
    return union.split(" UNION ALL "), wrapper


def test_a_page_reads_its_first_part_in_order_up_to_the_page_and_the_others_whole(window_rows):
    window, inside, alive = window_rows
    (first, *others), wrapper = parts_of(parts_query(window).page_ids(20, 10), ") parts ORDER BY")
    assert "ORDER BY" in first and first.endswith("LIMIT 30) part0")
    assert others and not any("ORDER BY" in other or "LIMIT" in other for other in others)
    assert " LIMIT 10 OFFSET " in wrapper


def test_the_count_reads_every_part_unsorted_and_the_first_up_to_the_cap(window_rows):
    window, inside, alive = window_rows
    (first, *others), wrapper = parts_of(parts_query(window).capped_total(), ") parts LIMIT")
    assert "ORDER BY" not in first and first.endswith(f"LIMIT {COUNT_CAP + 1}) part0")
    assert others and not any("ORDER BY" in other or "LIMIT" in other for other in others)
    assert wrapper == f" {COUNT_CAP + 1}) capped"
