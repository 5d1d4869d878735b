"""The custom time range in the filter bar (issue 11, item 9): a date and a
time of day in the shown time zone, what was typed kept with its error on the
field, and an address that says ``range=custom``."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

from backups.timerange import custom_range_query, input_value
from tests import factories as f

pytestmark = pytest.mark.django_db


def shown(response):
    return [int(pk) for pk in re.findall(r'data-task="(\d+)"', response.content.decode())]


def field(html, name):
    """The filter bar's ``name`` input, as its attributes."""
    match = re.search(rf'<input [^>]*id="id_{name}"[^>]*>', html, re.S)
    assert match, f"no #{name} input"
    return match.group(0)


def value_of(html, name):
    return re.search(r'value="([^"]*)"', field(html, name)).group(1)


def active_presets(html):
    bar = html[html.index('class="btn-group btn-group-sm range-presets"'):]
    bar = bar[:bar.index("</div>")]
    return [re.sub(r"<[^>]+>", "", tag).strip() for tag in re.findall(r'<(?:a|label)[^>]*\bactive\b[^>]*>.*?</(?:a|label)>', bar, re.S)]


@pytest.fixture
def cluster():
    return f.make_cluster(name="prod-east")


def test_the_custom_range_takes_a_date_and_a_time(admin_client, cluster):
    html = admin_client.get("/backups/data/").content.decode()
    assert 'type="datetime-local"' in field(html, "start") and 'type="datetime-local"' in field(html, "end")


def test_a_refused_range_keeps_what_was_typed_with_the_error_on_its_field(admin_client, cluster):
    response = admin_client.get("/backups/data/?range=custom&start=2025-03-05T10:30&end=2025-03-01T09:15")
    assert response.status_code == 400
    html = response.content.decode()
    assert value_of(html, "start") == "2025-03-05T10:30" and value_of(html, "end") == "2025-03-01T09:15"
    end = field(html, "end")
    assert "is-invalid" in end and 'aria-invalid="true"' in end and 'aria-describedby="id_end_error"' in end
    error = re.search(r'<div [^>]*id="id_end_error"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "The end must be after the start." in error
    assert "is-invalid" not in field(html, "start")
    assert active_presets(html) == ["Custom"]


def test_a_custom_range_with_neither_end_says_so_on_the_start(admin_client, cluster):
    response = admin_client.get("/backups/data/?range=custom&start=&end=")
    assert response.status_code == 400
    html = response.content.decode()
    assert "A custom range needs a start or an end." in re.search(r'id="id_start_error"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert active_presets(html) == ["Custom"]


@pytest.mark.parametrize("query", ["range=7d&start=2025-03-01T08:00&end=2025-03-02T08:00",
                                   "start=2025-03-01T08:00&end=2025-03-02T08:00",
                                   "range=30d&status=failed&end=2025-03-02T08:00"])
def test_dates_under_another_range_move_to_an_address_that_says_custom(admin_client, cluster, query):
    response = admin_client.get(f"/backups/data/?{query}")
    assert response.status_code == 302
    moved = QueryDict(response["Location"].split("?", 1)[1])
    given = QueryDict(query)
    assert moved["range"] == "custom"
    assert {k: moved.getlist(k) for k in moved if k != "range"} == {k: given.getlist(k) for k in given if k != "range"}


def test_an_old_bookmark_of_dates_shows_the_same_tasks_as_a_custom_range(admin_client, cluster):
    day = timezone.localdate() - timedelta(days=60)
    noon = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 12))
    task = f.make_data_task(cluster, started_at=noon)
    f.make_data_task(cluster, started_at=noon - timedelta(days=2))
    response = admin_client.get(f"/backups/data/?range=7d&start={day}&end={day}", follow=True)
    assert response.redirect_chain == [(f"/backups/data/?range=custom&start={day}&end={day}", 302)]
    assert shown(response) == [task.pk]
    html = response.content.decode()
    # Shown as date-times: from that day's midnight to the next (the whole day).
    assert value_of(html, "start") == f"{day}T00:00" and value_of(html, "end") == f"{day + timedelta(days=1)}T00:00"
    assert active_presets(html) == ["Custom"]


def test_a_preset_shows_empty_custom_inputs(admin_client, cluster):
    html = admin_client.get("/backups/data/?range=24h").content.decode()
    assert value_of(html, "start") == "" and value_of(html, "end") == ""
    assert active_presets(html) == ["Last 24 hours"]


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_typed_times_are_read_and_shown_in_the_shown_time_zone(admin_client, cluster):
    # 08:00 in Shanghai is 00:00 UTC.
    inside = f.make_data_task(cluster, started_at=datetime(2025, 3, 1, 0, 30, tzinfo=UTC))
    f.make_data_task(cluster, started_at=datetime(2025, 2, 28, 23, 30, tzinfo=UTC),
                     ended_at=datetime(2025, 2, 28, 23, 45, tzinfo=UTC))
    response = admin_client.get("/backups/data/?range=custom&start=2025-03-01T08:00&end=2025-03-01T09:00")
    assert shown(response) == [inside.pk]
    html = response.content.decode()
    assert value_of(html, "start") == "2025-03-01T08:00" and "UTC+0800" in html


# --- the two helpers, at their edges --------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("range=custom&start=2025-03-01", None),
    ("range=7d", None),
    ("range=7d&start=&end=", None),  # a submitted bar with its dates cleared: the preset
    ("", None),
    ("range=7d&start=2025-03-01", "?range=custom&start=2025-03-01"),
    ("range=all&end=2025-03-01", "?range=custom&end=2025-03-01"),
    ("end=2025-03-01", "?end=2025-03-01&range=custom"),
])
def test_custom_range_query(query, expected):
    assert custom_range_query(QueryDict(query)) == expected


@pytest.mark.parametrize("raw, end, expected", [
    ("", False, ""),
    ("2025-03-01", False, "2025-03-01T00:00"),
    ("2025-03-01", True, "2025-03-02T00:00"),  # a date as the end: the whole day
    ("2025-03-01 08:30", True, "2025-03-01T08:30"),
    ("2025-03-01T08:30:15", False, "2025-03-01T08:30:15"),
    ("2025-03-01T08:30+02:00", False, "2025-03-01T06:30"),  # shown in the current zone (UTC)
    ("garbage", False, "garbage"),  # refused: shown as typed, beside its error
    ("0201-03-01", False, "0201-03-01"),
])
def test_input_value(raw, end, expected):
    assert input_value(raw, end=end) == expected
