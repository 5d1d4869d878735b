"""The cluster page's charts (backups/engine/cluster_charts.py, clusters/charts.py):
runs, log delay and storage per destination against hand-built data, the
forecast's maths, the 30/90 switch, the destination's capacity in the admin,
the delay samples the log tick writes, and a constant number of queries."""

import json
import re
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.engine import cluster_charts as charts
from backups.engine.rollups import day_of, rebuild_rollups
from backups.engine.samples import hour_of, sample_log_delays
from backups.models import LogDelaySample, StorageDestination
from clusters.charts import clock
from tests import factories as f

pytestmark = pytest.mark.django_db

GIB = 2**30
REFRESH = {"HTTP_HX_REQUEST": "true"}


def chart_data(body):
    match = re.search(r'<script id="cluster-chart-data" type="application/json">(.*?)</script>', body, re.S)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def table(body, table_id):
    """The rows of the <details id=table_id> table: a list of cell-text lists."""
    match = re.search(rf'<details[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', body, re.S)
    assert match, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


@pytest.fixture
def estate():
    now = timezone.now()
    nfs = f.make_destination(name="nfs-main", capacity_bytes=100 * GIB)
    oss = f.make_destination(name="oss-copy", kind="object", uri="oss://bucket/copies")
    cluster = f.make_cluster(name="prod-east")
    policy = f.make_policy(cluster, destination=nfs, secondary_enabled=True, secondary_destination=oss)
    other = f.make_cluster(name="prod-west")
    other_policy = f.make_policy(other, destination=nfs)
    runs = {
        "full": f.make_data_task(cluster, policy=policy, started_at=now - timedelta(days=3, hours=1),
                                 ended_at=now - timedelta(days=3, minutes=30), size_bytes=10 * GIB),
        "old": f.make_data_task(cluster, policy=policy, started_at=now - timedelta(days=40),
                                ended_at=now - timedelta(days=40) + timedelta(minutes=45), size_bytes=8 * GIB),
    }
    runs["incremental"] = f.make_data_task(
        cluster, policy=policy, mode="incremental", backup_set=runs["full"].backup_set,
        started_at=now - timedelta(days=2, hours=1), ended_at=now - timedelta(days=2, hours=1) + timedelta(minutes=6),
        size_bytes=GIB // 2)
    # Not charted: a failed run, a running one, another cluster's run.
    f.make_data_task(cluster, policy=policy, status="failed", started_at=now - timedelta(days=1), size_bytes=3 * GIB)
    f.make_data_task(cluster, policy=policy, status="in_progress", started_at=now - timedelta(minutes=5))
    west = f.make_data_task(other, policy=other_policy, started_at=now - timedelta(days=6),
                            ended_at=now - timedelta(days=6) + timedelta(minutes=20), size_bytes=20 * GIB)
    # Cleanup deleted the other cluster's set four days ago: it leaves nfs then.
    west.backup_set.expired_at = now - timedelta(days=4)
    west.backup_set.save()
    # A set deleted before the window never counts.
    gone = f.make_data_task(other, policy=other_policy, started_at=now - timedelta(days=80), size_bytes=50 * GIB)
    gone.backup_set.expired_at = now - timedelta(days=70)
    gone.backup_set.save()
    # The full backup's secondary copy lands on oss.
    copy = f.make_secondary_data_task(runs["full"], destination=oss, started_at=now - timedelta(days=3, minutes=20),
                                      ended_at=now - timedelta(days=3, minutes=10))
    rebuild_rollups()  # the rows went in without the engine, as the demo's and the fill's do
    return {"now": now, "cluster": cluster, "other": other, "nfs": nfs, "oss": oss, "runs": runs, "west": west, "copy": copy}


def test_runs_are_charted_per_run_full_and_incremental_apart(admin_client, estate):
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/").content.decode()
    data = chart_data(body)
    full, incremental = estate["runs"]["full"], estate["runs"]["incremental"]
    assert data["duration"] == {"full": [[clock(full.started_at), 30.0]], "incremental": [[clock(incremental.started_at), 6.0]]}
    assert data["size"] == {"full": [[clock(full.started_at), 10.0]], "incremental": [[clock(incremental.started_at), 0.5]]}
    assert table(body, "runs-table") == [
        [f"#{full.pk}", clock(full.started_at), "Full", "30.0", "10.0"],
        [f"#{incremental.pk}", clock(incremental.started_at), "Incremental", "6.0", "0.5"],
    ]
    for run in (full, incremental):  # each row links to its task's page
        assert f'<a href="{reverse("backups:data_detail", args=[run.pk])}">#{run.pk}</a>' in body


def test_the_window_switches_to_90_days_by_query_parameter(admin_client, estate):
    url = f"/clusters/{estate['cluster'].pk}/"
    old = estate["runs"]["old"]
    body = admin_client.get(url + "?days=90").content.decode()
    data = chart_data(body)
    assert data["duration"]["full"][0] == [clock(old.started_at), 45.0]
    assert len(data["days"]) == 90 and len(table(body, "runs-table")) == 3
    assert 'href="?days=30#cluster-charts"' in body and 'aria-current="true">90 days' in body
    for value in ("", "7", "90x", "-1", "３０"):
        data = chart_data(admin_client.get(url + f"?days={value}").content.decode())
        assert len(data["days"]) == 30 and len(data["duration"]["full"]) == 1, value


def test_storage_is_what_sets_not_deleted_hold_per_destination(admin_client, estate):
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/").content.decode()
    data = chart_data(body)
    days = charts.days_of(day_of(estate["now"]), 30)
    assert data["days"] == [d.strftime("%Y-%m-%d") for d in days]

    def held(*spans):
        return [round(sum(size for added, removed, size in spans if added <= d and (removed is None or removed > d)) / GIB, 2)
                for d in days]

    runs, west = estate["runs"], estate["west"]
    nfs = held((day_of(runs["full"].ended_at), None, 10 * GIB), (day_of(runs["incremental"].ended_at), None, GIB // 2),
               (day_of(runs["old"].ended_at), None, 8 * GIB),
               (day_of(west.ended_at), day_of(west.backup_set.expired_at), 20 * GIB))
    oss = held((day_of(estate["copy"].ended_at), None, 10 * GIB))
    assert data["storage"] == [{"name": "nfs-main", "gib": nfs, "capacity": 100.0},
                               {"name": "oss-copy", "gib": oss, "capacity": None}]
    assert nfs[-1] == 18.5 and max(nfs) == 28.0  # the other cluster's 20 GiB came and went before the full
    rows = table(body, "storage-table")
    assert [row[0] for row in rows] == data["days"]
    assert [float(row[1]) for row in rows] == nfs and [float(row[2]) for row in rows] == oss
    forecasts = re.search(r'<ul[^>]*id="storage-forecasts">(.*?)</ul>', body, re.S).group(1)
    assert "nfs-main</span> · 18.5 of 100.0 GiB used · " in forecasts and "no capacity set: no forecast" in forecasts


def test_log_delay_is_the_clusters_hourly_samples_in_the_window(admin_client, estate):
    cluster, now = estate["cluster"], estate["now"]
    hour = hour_of(now)
    LogDelaySample.objects.bulk_create([
        LogDelaySample(cluster=cluster, hour=hour - timedelta(hours=5), delay_seconds=90),
        LogDelaySample(cluster=cluster, hour=hour - timedelta(hours=1), delay_seconds=1500),
        LogDelaySample(cluster=cluster, hour=hour - timedelta(days=31), delay_seconds=60),  # before the window
        LogDelaySample(cluster=estate["other"], hour=hour, delay_seconds=7200),
    ])
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    expected = [[clock(hour - timedelta(hours=5)), 1.5], [clock(hour - timedelta(hours=1)), 25.0]]
    assert chart_data(body)["delay"] == expected
    assert table(body, "delay-table") == [[at, str(value)] for at, value in expected]


def test_an_empty_cluster_has_empty_charts_that_say_so(admin_client):
    empty = f.make_cluster(name="empty")
    body = admin_client.get(f"/clusters/{empty.pk}/").content.decode()
    data = chart_data(body)
    assert data["duration"] == {"full": [], "incremental": []} and data["size"] == {"full": [], "incremental": []}
    assert data["delay"] == [] and data["storage"] == [] and len(data["days"]) == 30
    for text in ("No completed data backup in this window.", "No log backup ran in this window.",
                 "No active policy: no destination to show."):
        assert text in body, text
    assert 'id="storage-table"' not in body


def test_the_charts_speak_chinese(admin_client, estate):
    estate["nfs"].capacity_bytes = 19 * GIB
    estate["nfs"].save()
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/?days=90", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    data = chart_data(body)
    assert data["labels"]["full"] == "全量" and data["labels"]["incremental"] == "增量"
    for text in ("最近 90 天", "每次数据备份耗时（分钟）", "日志备份延时，每小时最大值（分钟）", "未设置容量：无法预测", "已用 18.5 / 19.0 GiB"):
        assert text in body, text


def test_a_live_refresh_does_not_compute_the_charts(admin_client, estate):
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/", **REFRESH).content.decode()
    assert "cluster-chart-data" not in body and "echarts" not in body


def test_the_page_costs_the_same_queries_whatever_the_history(admin_client, estate):
    url = f"/clusters/{estate['cluster'].pk}/?days=90"
    cluster, now = estate["cluster"], estate["now"]
    policy = cluster.policies.get()

    def grow(days, samples):
        for n in days:
            task = f.make_data_task(cluster, policy=policy, mode="full", started_at=now - timedelta(days=n + 1, hours=2),
                                    ended_at=now - timedelta(days=n + 1, hours=1), size_bytes=(n + 1) * GIB)
            if n % 3 == 0:
                f.make_secondary_data_task(task, destination=estate["oss"])
            if n % 4 == 0:
                task.backup_set.expired_at = now - timedelta(days=n // 2)
                task.backup_set.save()
        LogDelaySample.objects.bulk_create(
            [LogDelaySample(cluster=cluster, hour=hour_of(now) - timedelta(hours=h), delay_seconds=h) for h in samples])
        rebuild_rollups()

    # A little history (with sets the next cleanup deletes, as the larger one has), then four times more.
    grow(range(10), range(100))
    admin_client.get(url)
    with CaptureQueriesContext(connection) as small:
        admin_client.get(url)
    grow(range(10, 40), range(100, 500))
    with CaptureQueriesContext(connection) as large:
        body = admin_client.get(url).content.decode()
    assert len(table(body, "runs-table")) == 43 and len(chart_data(body)["delay"]) == 500
    assert len(large.captured_queries) == len(small.captured_queries), [q["sql"][:120] for q in large.captured_queries]
    # Session, user, cluster, the week's counts, the log backup, the policies,
    # the charts' three reads (runs, delay samples, the storage rollups), the
    # latest data backup, the failures; the cleanup preview's policies,
    # cleanups, candidate sets, running restores, doomed sets, tenants and its
    # four reads of sets and rounds; the alert badge, the cluster's open
    # alerts and silences; tenants, hosts.
    assert len(large.captured_queries) == 26


# --- The forecast ------------------------------------------------------------------------


def test_least_squares_fits_a_line():
    assert charts.least_squares([1, 3, 2, 5]) == pytest.approx((1.1, 1.1))
    assert charts.least_squares([7, 7, 7]) == (7.0, 0.0)
    assert charts.least_squares([4]) == (4.0, 0.0)


def test_forecast_finds_the_day_the_trend_reaches_the_capacity():
    last = date(2026, 11, 30)
    values = [10 + n for n in range(30)]  # 1 a day, 39 on the last day (x = 29)
    result = charts.forecast(values, 50, last)
    # 10 + x = 50 at x = 40: eleven days after the last.
    assert (result.state, result.days, result.on) == (charts.FILLS, 11, date(2026, 12, 11))
    assert result.slope == pytest.approx(1.0)
    # Noise around the same trend gives the same day.
    noisy = [v + (1 if n % 2 else -1) * 0.25 for n, v in enumerate(values)]
    assert charts.forecast(noisy, 50, last).days == 11


def test_forecast_starts_its_trend_when_the_destination_came_into_use():
    last = date(2026, 11, 30)
    values = [0] * 60 + [10 + n for n in range(30)]
    assert charts.forecast(values, 50, last) == charts.forecast(values[60:], 50, last)
    assert charts.forecast(values, 50, last).days == 11


def test_forecast_says_when_it_cannot_say_a_day():
    last = date(2026, 11, 30)
    assert charts.forecast([5] * 30, 50, last).state == charts.NO_GROWTH
    assert charts.forecast(list(range(30, 0, -1)), 50, last).state == charts.NO_GROWTH
    assert charts.forecast([10 + n for n in range(30)], 39, last).state == charts.FULL
    assert charts.forecast([10 + n for n in range(30)], None, last).state == charts.NO_CAPACITY
    assert charts.forecast([0] * 30, 50, last).state == charts.NO_DATA
    far = charts.forecast([10 + n for n in range(30)], 1000, last)
    assert (far.state, far.days) == (charts.NOT_WITHIN, 961)
    assert charts.forecast([10 + n for n in range(30)], 404, last).state == charts.FILLS  # 365 days: within
    assert charts.forecast([10 + n for n in range(30)], 405, last).state == charts.NOT_WITHIN


def test_forecast_in_words_in_both_languages(admin_client, estate):
    from django.utils import translation

    from clusters.charts import forecast_text

    fills = charts.Forecast(charts.FILLS, 1.0, 11, date(2026, 12, 11))
    assert forecast_text(fills) == "full on 2026-12-11, in 11 days, at this trend"
    assert forecast_text(charts.Forecast(charts.NOT_WITHIN)) == "not full within 365 days at this trend"
    with translation.override("zh-hans"):
        assert forecast_text(fills) == "按此趋势将于 2026-12-11 写满（11 天后）"
        assert forecast_text(charts.Forecast(charts.NO_GROWTH)) == "未增长：按此趋势不会写满"


def test_the_page_shows_the_forecast_of_a_growing_destination(admin_client, estate):
    cluster, now = estate["cluster"], estate["now"]
    policy = cluster.policies.get()
    for n in range(1, 20):
        f.make_data_task(cluster, policy=policy, started_at=now - timedelta(days=n, hours=2),
                         ended_at=now - timedelta(days=n, hours=1), size_bytes=GIB)
    rebuild_rollups()
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    forecasts = re.search(r'<ul[^>]*id="storage-forecasts">(.*?)</ul>', body, re.S).group(1)
    assert re.search(r"nfs-main</span> · [\d.]+ of 100\.0 GiB used · <span class=\"forecast-fills\">full on \d{4}-\d\d-\d\d, in \d+ days", forecasts), forecasts


# --- The capacity ------------------------------------------------------------------------


def admin_add(admin_client, capacity):
    return admin_client.post("/admin/backups/storagedestination/add/",
                             {"name": "nfs-new", "kind": "nfs", "uri": "file:///mnt/new", "capacity_bytes": capacity})


@pytest.mark.parametrize("capacity", ["0", "-5", "abc", "1.5", "99999999999999999999999"])
def test_a_bad_capacity_is_refused_with_a_message(admin_client, capacity):
    response = admin_add(admin_client, capacity)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not StorageDestination.objects.filter(name="nfs-new").exists()


@pytest.mark.parametrize("capacity,stored", [("1", 1), (str(8 * 2**40), 8 * 2**40), ("", None)])
def test_a_capacity_is_saved_from_the_admin(admin_client, capacity, stored):
    response = admin_add(admin_client, capacity)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert StorageDestination.objects.get(name="nfs-new").capacity_bytes == stored
    listing = admin_client.get("/admin/backups/storagedestination/").content.decode()
    assert ("8.0\xa0TB (8,796,093,022,208)" in listing) if stored == 8 * 2**40 else True


def test_the_database_refuses_a_capacity_of_zero():
    with pytest.raises(IntegrityError), transaction.atomic():
        StorageDestination.objects.create(name="zero", kind="nfs", uri="file:///z", capacity_bytes=0)


# --- The delay samples --------------------------------------------------------------------


def test_the_log_tick_keeps_the_largest_delay_of_each_hour():
    cluster, other, stopped = f.make_cluster(), f.make_cluster(), f.make_cluster()
    start = timezone.now().replace(minute=10, second=0, microsecond=0)
    live = f.make_log_task(cluster, latest_point=start - timedelta(seconds=30))
    f.make_log_task(other, latest_point=start - timedelta(seconds=400))
    f.make_log_task(stopped, status="stopped", latest_point=start - timedelta(hours=3))
    assert sample_log_delays(start) == 2
    type(live).objects.filter(pk=live.pk).update(latest_point=start - timedelta(seconds=5))
    assert sample_log_delays(start + timedelta(minutes=10)) == 2  # 10 min 5 s: larger, kept
    type(live).objects.filter(pk=live.pk).update(latest_point=start + timedelta(minutes=19))
    sample_log_delays(start + timedelta(minutes=20))  # 1 min: smaller, the hour keeps its largest
    sample_log_delays(start + timedelta(hours=1))  # a new hour: 41 min
    rows = list(LogDelaySample.objects.order_by("cluster_id", "hour").values_list("cluster_id", "hour", "delay_seconds"))
    hour = hour_of(start)
    assert rows == [(cluster.pk, hour, 605), (cluster.pk, hour + timedelta(hours=1), 2460),
                    (other.pk, hour, 400 + 20 * 60), (other.pk, hour + timedelta(hours=1), 400 + 3600)]
