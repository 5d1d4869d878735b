"""The overview's core metrics refresh in place like the lists: the figures'
live region polls /backups/metrics/, which answers with that fragment only,
in a constant number of queries (what pauses it runs in the browser,
tests/system/test_cleanup_preview_browser.py)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.choices import CleanupStatus, DataBackupStatus
from backups.engine.transitions import transition
from backups.models import DataBackupTask, RecoverableInterval
from tests import factories as f

pytestmark = pytest.mark.django_db

METRICS = "/backups/metrics/"
REFRESH = {"HTTP_HX_REQUEST": "true"}


def fragment(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(METRICS, **REFRESH)
    assert response.status_code == 200
    return response, len(captured.captured_queries)


def grow(n):
    now = timezone.now()
    for i in range(n):
        cluster = f.make_cluster()
        policy = f.make_policy(cluster)
        tenant = f.make_tenant(cluster)
        task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(hours=5))
        transition(DataBackupTask, task.pk, DataBackupStatus.FAILED if i % 2 else DataBackupStatus.COMPLETED,
                   cause="test", failure_reason="storage unreachable" if i % 2 else "")
        f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(hours=1))
        log = f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(hours=2))
        RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1), round=log)
        f.make_restore_task(cluster)
        f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING)


def test_the_overview_s_figures_poll_the_metrics_fragment(admin_client):
    body = admin_client.get("/backups/").content.decode()
    assert re.search(r'<div id="live-metrics" data-live data-hx-get="/backups/metrics/" data-hx-trigger="every 5s"', body)
    # The rows still poll the page's own address.
    assert 'id="live-rows" data-live data-hx-get="/backups/"' in body


def test_the_refresh_is_the_figures_fragment_only(admin_client):
    grow(2)
    response, _ = fragment(admin_client)
    html = response.content.decode()
    assert "<html" not in html and "console-navbar" not in html and "filter-form" not in html
    assert 'id="live-metrics"' not in html  # the region's content, not the region again
    assert "Backed-up clusters" in html and 'id="m-not-backed-up"' in html and "Running now" in html
    assert "metrics-chart-data" not in html and "chart-outcomes" not in html  # the charts stay as drawn
    assert "HX-Request" in response["Vary"]
    # Its figures are the page's.
    page = admin_client.get("/backups/").content.decode()
    figures = re.findall(r'class="metric-figure[^"]*">(.*?)</p>', html, re.S)
    assert figures and figures == re.findall(r'class="metric-figure[^"]*">(.*?)</p>', page, re.S)


@pytest.mark.parametrize("more", [1, 4])
def test_the_refresh_costs_a_constant_number_of_queries(admin_client, more):
    _, baseline = fragment(admin_client)
    grow(more)
    _, grown = fragment(admin_client)
    assert grown == baseline
    # session, user, and the metrics (engine/metrics.py): fewer than the page.
    assert baseline == 13


def test_the_refresh_needs_the_overview_s_permission(client_as):
    assert client_as(None, "nobody").get(METRICS, **REFRESH).status_code == 403
    assert client_as("viewer", "v").get(METRICS, **REFRESH).status_code == 200
    assert client_as("viewer", "v2").post(METRICS, **REFRESH).status_code == 405


def test_the_refresh_follows_the_language(admin_client):
    body = admin_client.get(METRICS, HTTP_ACCEPT_LANGUAGE="zh-CN", **REFRESH).content.decode()
    assert "已备份集群" in body


def test_no_region_when_live_refresh_is_off(admin_client, settings):
    settings.LIVE_REFRESH_SECONDS = 0
    body = admin_client.get("/backups/").content.decode()
    assert '<div id="live-metrics">' in body and "data-live" not in body
