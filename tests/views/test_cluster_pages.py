"""The cluster list and each cluster's overview page (总览)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories as f
from tests.clock import frozen

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster():
    c = f.make_cluster(name="prod-east", region="cn-hangzhou", zone="zone-h", db_version="4.2.1", data_version=10284)
    f.make_tenant(c, name="sales")
    f.make_host(c, ip="10.1.2.3", port=2881)
    return c


def test_cluster_list_links_every_cluster(admin_client, cluster):
    other = f.make_cluster(name="staging")
    body = admin_client.get("/clusters/").content.decode()
    assert f'href="/clusters/{cluster.pk}/"' in body and f'href="/clusters/{other.pk}/"' in body
    assert "cn-hangzhou / zone-h" in body


def test_cluster_list_search_and_status(admin_client, cluster):
    f.make_cluster(name="staging", status="maintenance")
    body = admin_client.get("/clusters/?q=prod").content.decode()
    assert "prod-east" in body and "staging" not in body
    body = admin_client.get("/clusters/?status=maintenance").content.decode()
    assert "staging" in body and "prod-east</a>" not in body


def test_cluster_list_shows_no_error_box_without_a_bad_filter(admin_client, cluster):
    for url in ("/clusters/", "/clusters/?q=prod", "/clusters/?status=running"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert b"alert-danger" not in response.content, url


def test_cluster_list_says_what_is_wrong_with_a_filter(admin_client, cluster):
    response = admin_client.get("/clusters/?status=nonsense")
    assert response.status_code == 400
    body = response.content.decode()
    assert "alert-danger" in body and "nonsense" in body


def test_cluster_list_query_count_is_constant(admin_client, django_assert_num_queries):
    for _i in range(3):
        f.make_cluster()
    admin_client.get("/clusters/")
    with django_assert_num_queries(5):  # session, user, count, page, the navigation's open-alert count
        admin_client.get("/clusters/")
    for _i in range(30):
        c = f.make_cluster()
        f.make_tenant(c), f.make_host(c)
    with django_assert_num_queries(5):
        admin_client.get("/clusters/?per_page=50")


def test_overview_shows_version_tenants_hosts_and_policy(admin_client, cluster):
    f.make_policy(cluster, retention_days=14)
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    for text in ("4.2.1", "10284", "cn-hangzhou", "sales", "10.1.2.3:2881", "keeps 14 days", "Running"):
        assert text in body, text


def log_delay_card(body):
    """The log backup delay card's value: (its CSS classes, its HTML)."""
    match = re.search(r'<div class="stat-label">Log backup delay</div>\s*<div class="([^"]*)">(.*?)</div>', body, re.S)
    assert match, "no log backup delay on the page"
    return set(match.group(1).split()), match.group(2)


def test_overview_shows_latest_data_backup_and_log_delay(admin_client, cluster):
    f.make_data_task(cluster, started_at=timezone.now() - timedelta(days=2))
    latest = f.make_data_task(cluster, status="in_progress")
    policy = f.make_policy(cluster, log_delay_threshold_seconds=60)
    with frozen() as now:
        f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(seconds=185))
        body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert f"#{latest.pk}</a>" in body
    classes, value = log_delay_card(body)
    assert "text-danger" in classes and "bi-exclamation-triangle-fill" in value
    assert value.endswith("3 min 5 s")


def test_a_log_delay_under_the_threshold_is_not_flagged(admin_client, cluster):
    policy = f.make_policy(cluster, log_delay_threshold_seconds=60)
    with frozen() as now:
        f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(seconds=59))
        body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    classes, value = log_delay_card(body)
    assert "text-danger" not in classes and "bi-exclamation-triangle-fill" not in value
    assert value == "59 s"


def test_overview_lists_recent_failures_of_every_kind(admin_client, cluster):
    f.make_data_task(cluster, status="failed", failure_reason="storage unreachable")
    f.make_log_task(cluster, status="failed", failure_reason="archive log lost")
    f.make_cleanup_task(cluster, status="failed", failure_reason="set still referenced")
    f.make_data_task(f.make_cluster(), status="failed", failure_reason="someone else's failure")
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    for reason in ("storage unreachable", "archive log lost", "set still referenced"):
        assert reason in body
    assert "someone else" not in body
    assert f"/backups/data/?cluster={cluster.pk}&amp;status=failed&amp;range=all" in body


def test_recent_failures_are_the_newest_across_kinds_and_cost_one_query(admin_client, cluster):
    now = timezone.now()
    makers = (f.make_data_task, f.make_log_task, f.make_cleanup_task)
    for i in range(10):  # ages 10 h … 1 h, kinds taking turns
        makers[i % 3](cluster, status="failed", started_at=now - timedelta(hours=10 - i), failure_reason=f"reason-{i:02d}")
    url = f"/clusters/{cluster.pk}/"
    body = admin_client.get(url).content.decode()
    shown = [int(n) for n in re.findall(r"reason-(\d\d)", body)]
    assert shown == list(range(9, 1, -1))  # the 8 newest, newest first, whatever their kind
    more = f.make_data_task(cluster, status="failed", started_at=now - timedelta(hours=20), failure_reason="old")
    with CaptureQueriesContext(connection) as before:
        admin_client.get(url)
    for _ in range(3):
        f.make_cleanup_task(cluster, status="failed", started_at=more.started_at, failure_reason="old")
    with CaptureQueriesContext(connection) as after:
        admin_client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)
    assert sum("UNION ALL" in q["sql"] for q in after.captured_queries) == 1


def test_recent_failures_without_limits_inside_a_union_as_on_sqlite(admin_client, cluster, monkeypatch):
    """SQLite refuses a LIMIT inside a UNION's parts (the page answered 500 on
    `make run`'s database): there each kind is read alone and merged."""
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    now = timezone.now()
    makers = (f.make_data_task, f.make_log_task, f.make_cleanup_task)
    for i in range(10):
        makers[i % 3](cluster, status="failed", started_at=now - timedelta(hours=10 - i), failure_reason=f"reason-{i:02d}")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(f"/clusters/{cluster.pk}/")
    assert response.status_code == 200
    assert [int(n) for n in re.findall(r"reason-(\d\d)", response.content.decode())] == list(range(9, 1, -1))
    assert not any("UNION ALL" in q["sql"] for q in queries.captured_queries)


def test_overview_links_to_each_list_filtered_to_the_cluster(admin_client, cluster):
    body = admin_client.get(f"/clusters/{cluster.pk}/").content.decode()
    for path in ("/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/"):
        assert f'href="{path}?cluster={cluster.pk}"' in body


def test_overview_of_an_empty_cluster(admin_client):
    empty = f.make_cluster(name="empty")
    body = admin_client.get(f"/clusters/{empty.pk}/").content.decode()
    assert "No data backups yet." in body and "No failed tasks" in body and "No active backup policy." in body


def test_overview_in_chinese(admin_client, cluster):
    body = admin_client.get(f"/clusters/{cluster.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "总览" in body and "数据库版本" in body and "运行中" in body


def test_unknown_cluster_is_404(admin_client):
    assert admin_client.get("/clusters/424242/").status_code == 404
