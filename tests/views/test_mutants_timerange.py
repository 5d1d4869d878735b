"""The time-range filter (backups/timerange.py) at its edges: what the filter
bar accepts, what it says when it refuses, and the window it leaves; written
to kill mutants the rest of the suite let live (bench/mutation.sh)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from backups.filtersets import CleanupTaskFilterSet
from backups.models import CleanupTask
from backups.timerange import FAR_FUTURE, Window, effective_end, preset_window
from tests import factories as f

pytestmark = pytest.mark.django_db

INVALID = "Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DD HH:MM)."
YEARS = "Enter a year between 1970 and 9000."


def filterset(query, queryset=None):
    if queryset is None:
        queryset = CleanupTask.objects.alias(effective_end=effective_end())
    return CleanupTaskFilterSet(QueryDict(query), queryset=queryset)


def errors(query):
    """{field: [(code, message)]} of the filter bar's form, "__all__" for the form's own."""
    form = filterset(query).form
    form.is_valid()
    return {name: [(e.code, e.messages[0]) for e in found] for name, found in form.errors.as_data().items()}


def window(query):
    found = filterset(query)
    assert found.is_valid(), found.form.errors
    return found.window


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- What a start or an end may be ------------------------------------------------------


@pytest.mark.parametrize("text, moment", [
    ("2025-03-01", utc(2025, 3, 1)),
    ("2025-03-01 08:30", utc(2025, 3, 1, 8, 30)),
    ("2025-03-01T08:30", utc(2025, 3, 1, 8, 30)),
    ("2025-03-01 08:30 +08:00", utc(2025, 3, 1, 0, 30)),  # with its own offset
    ("2025-03-01 8:30 Z", utc(2025, 3, 1, 8, 30)),
    ("1970-01-01", utc(1970, 1, 1)),  # the first year accepted
    ("9000-12-31", utc(9000, 12, 31)),  # the last
])
def test_a_start_may_be_a_date_or_a_date_and_time(text, moment):
    assert window(f"range=custom&start={text.replace('+', '%2B')}") == Window(moment, None)


@pytest.mark.parametrize("text", ["2025-03-01XX08:30", "2025-02-30", "yesterday", "2025-03-01 08:30 +08:00 x"])
def test_anything_else_is_refused_saying_what_is_expected(text):
    assert errors(f"range=custom&start={text.replace('+', '%2B')}") == {"start": [("invalid", INVALID)]}


@pytest.mark.parametrize("text", ["1969-12-31", "9001-01-01", "0001-01-01 00:00"])
def test_a_year_out_of_range_is_refused_saying_which_years(text):
    assert errors(f"range=custom&end={text}") == {"end": [("out_of_range", YEARS)]}


def test_the_date_inputs_take_at_most_32_characters_and_are_optional():
    form = filterset("").form
    for name in ("start", "end"):
        html = str(form[name])
        assert 'maxlength="32"' in html and "required" not in html


# --- The window the filter bar leaves -------------------------------------------------------


def test_a_date_as_the_end_means_the_whole_of_that_day():
    assert window("range=custom&end=2025-03-01") == Window(None, utc(2025, 3, 2))
    assert window("range=custom&end=2025-03-01 08:30") == Window(None, utc(2025, 3, 1, 8, 30))


def test_dates_typed_with_a_preset_make_the_range_custom():
    found = filterset("range=7d&start=2025-03-01")
    assert found.is_valid()
    assert found.form.cleaned_data["range"] == "custom" and found.window == Window(utc(2025, 3, 1), None)


def test_a_custom_range_needs_a_start_or_an_end():
    assert errors("range=custom") == {"start": [("custom_empty", "A custom range needs a start or an end.")]}
    assert window("range=custom&start=2025-03-01&end=2025-03-02") == Window(utc(2025, 3, 1), utc(2025, 3, 3))


@pytest.mark.parametrize("start, end", [("2025-03-01 08:00", "2025-03-01 08:00"), ("2025-03-02", "2025-03-01 12:00")])
def test_the_end_must_be_after_the_start(start, end):
    assert errors(f"range=custom&start={start}&end={end}") == {
        "end": [("end_before_start", "The end must be after the start.")]}


@pytest.mark.parametrize("query, field", [
    ("range=custom&start=garbage", "start"),  # not also "needs a start or an end"
    ("range=custom&start=2025-03-02&end=garbage", "end"),
    ("range=bogus&start=2025-03-02&end=2025-03-01", "range"),  # not also "the end must be after the start"
])
def test_a_field_in_error_is_the_only_error(query, field):
    assert list(errors(query)) == [field]


def test_a_bare_list_url_filters_and_shows_the_last_7_days():
    found = filterset("")
    assert found.is_valid() and found.form.cleaned_data["range"] == "7d"
    assert '<option value="7d" selected>' in str(found.form["range"])
    assert found.window.end - found.window.start == timedelta(days=7)


def test_the_queryset_may_be_given_by_position(tasks):
    only = CleanupTask.objects.filter(pk=tasks["old"].pk)
    assert list(CleanupTaskFilterSet(QueryDict("range=all"), only).qs) == [tasks["old"]]


def test_a_window_is_split_by_start_time_unless_told_otherwise():
    window = Window(utc(2025, 3, 1), utc(2025, 3, 2))
    inside, alive_at_start = window.parts()
    assert inside == Q(started_at__gte=window.start) & Q(started_at__lt=window.end)
    assert alive_at_start.children[0] == ("started_at__lt", window.start)


def test_a_preset_ends_now():
    now = utc(2025, 3, 1, 12)
    assert preset_window("24h", now) == Window(utc(2025, 2, 28, 12), now)
    assert preset_window("30d", now) == Window(utc(2025, 1, 30, 12), now)
    assert preset_window("all", now) == Window(None, None)


# --- The window applied: qs, and the parts a page walks ---------------------------------------


@pytest.fixture
def tasks():
    cluster = f.make_cluster()
    now = timezone.now()
    return {
        "recent": f.make_cleanup_task(cluster, started_at=now - timedelta(hours=2)),
        "running": f.make_cleanup_task(cluster, started_at=now - timedelta(days=20), status="running"),
        "old": f.make_cleanup_task(cluster, started_at=now - timedelta(days=20)),
    }


def names(tasks, queryset):
    return {name for name, task in tasks.items() if queryset.filter(pk=task.pk).exists()}


def test_the_filtered_rows_are_the_windows(tasks):
    assert names(tasks, filterset("range=24h").qs) == {"recent", "running"}
    assert names(tasks, filterset("range=all").qs) == {"recent", "running", "old"}


@pytest.mark.parametrize("order", [("-started_at", "-id"), ("started_at", "id"), ("-effective_end", "-id"),
                                   ("effective_end", "id")])
def test_a_page_walks_the_window_in_two_parts_without_the_windows_own_condition(tasks, order):
    rows = CleanupTask.objects.alias(effective_end=effective_end())
    found = filterset("range=24h", rows)
    parts = found.window_parts(order)
    expected = [rows.filter(part).order_by(*order) for part in found.window.parts(order[0].lstrip("-"))]
    assert len(parts) == 2
    assert [str(part.query) for part in parts] == [str(part.query) for part in expected]
    assert set().union(*(names(tasks, part) for part in parts)) == {"recent", "running"}
    assert names(tasks, found.qs) == {"recent", "running"}  # the filterset is left as it was


@pytest.mark.parametrize("query, order", [
    ("range=24h", ()),
    ("range=24h", ("id",)),
    ("range=bogus", ("-started_at", "-id")),
])
def test_other_orders_and_invalid_filters_read_one_queryset(tasks, query, order):
    parts = filterset(query).window_parts(order)
    assert len(parts) == 1


def test_a_running_task_ends_after_any_window():
    assert FAR_FUTURE == utc(9999, 12, 31)
    cluster = f.make_cluster()
    running = f.make_cleanup_task(cluster, status="running")
    ended = f.make_cleanup_task(cluster)
    ends = dict(CleanupTask.objects.annotate(end=effective_end()).values_list("pk", "end"))
    assert ends == {running.pk: FAR_FUTURE, ended.pk: ended.ended_at}
