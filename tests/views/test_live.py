"""Live pages (issue 11): lists, the cluster page and task pages refresh in
place.  A refresh (htmx's ``HX-Request``) of the page's own address gets only
its live region, from no more queries than the page; an in-progress data
backup shows its progress and estimated finish.  What pauses a refresh runs in
the browser (tests/system/test_live.py)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.formats import estimated_finish
from backups.models import DataBackupTask
from tests import factories as f

pytestmark = pytest.mark.django_db

LISTS = ["/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/"]
REFRESH = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def estate():
    cluster = f.make_cluster(name="prod-east")
    tenant = f.make_tenant(cluster, name="sales")
    now = timezone.now()
    data = {
        "running": f.make_data_task(cluster, tenant=tenant, status="in_progress", progress=25, started_at=now - timedelta(minutes=20)),
        "failed": f.make_data_task(cluster, status="failed", started_at=now - timedelta(hours=3)),
        "done": f.make_data_task(cluster, started_at=now - timedelta(hours=5)),
    }
    f.make_secondary_data_task(data["done"])
    log = f.make_log_task(cluster)
    f.make_log_task(cluster, status="failed", started_at=now - timedelta(days=2), ended_at=now - timedelta(days=1))
    f.make_secondary_log_task(log)
    f.make_cleanup_task(cluster, started_at=now - timedelta(hours=1))
    return {"cluster": cluster, "log": log, **data}


def queries(client, url, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content.decode()[:500]
    return response, len(captured)


# --- lists -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", LISTS)
def test_a_list_refresh_gets_its_rows_and_count_only(admin_client, estate, url):
    response, _ = queries(admin_client, f"{url}?range=30d", **REFRESH)
    html = response.content.decode()
    assert "<html" not in html and "filter-form" not in html and "console-navbar" not in html
    assert html.count("<table") == 1 and "<tbody>" in html
    assert re.search(r'<span class="result-count" id="result-count" data-hx-swap-oob="true">\s*\d+ tasks?</span>', html)
    assert "HX-Request" in response["Vary"]
    # The page itself is the whole page, and says it refreshes.
    page = admin_client.get(f"{url}?range=30d").content.decode()
    assert "<html" in page and "filter-form" in page and 'id="live-rows" data-live' in page


@pytest.mark.parametrize("url", LISTS)
def test_a_list_refresh_costs_the_queries_of_the_page(admin_client, estate, url):
    for variant in (url, f"{url}?range=30d&status=failed&cluster={estate['cluster'].pk}", f"{url}?page=2&per_page=10"):
        _, page = queries(admin_client, variant)
        _, refresh = queries(admin_client, variant, **REFRESH)
        # session, user, filter choices, the page with its count; the full page
        # also counts the open alerts for the navigation, which a refresh does not draw.
        assert (refresh, page) == (4, 5), variant


def test_the_refresh_asks_for_the_page_own_address(admin_client, estate):
    """Its filters, sort and page: the refresh shows what the page showed."""
    url = f"/backups/data/?range=30d&status=failed&status=completed&sort=-ended_at&per_page=10&cluster={estate['cluster'].pk}"
    html = admin_client.get(url).content.decode()
    region = re.search(r'<div class="card-body p-0" id="live-rows"([^>]*)>', html).group(1)
    assert f'data-hx-get="{url.replace("&", "&amp;")}"' in region
    assert 'data-hx-trigger="every 5s"' in region and 'data-hx-swap="innerHTML"' in region
    refreshed = admin_client.get(url, **REFRESH).content.decode()
    assert re.findall(r'data-task="(\d+)"', refreshed) == re.findall(r'data-task="(\d+)"', html)
    assert re.findall(r'data-task="(\d+)"', refreshed) == [str(estate["failed"].pk), str(estate["done"].pk)]


def test_the_refresh_interval_is_a_setting(admin_client, estate, settings):
    settings.LIVE_REFRESH_SECONDS = 12
    assert 'data-hx-trigger="every 12s"' in admin_client.get("/backups/logs/").content.decode()
    settings.LIVE_REFRESH_SECONDS = 0
    html = admin_client.get("/backups/logs/").content.decode()
    assert "data-live" not in html and "data-hx-get" not in html


def test_a_list_with_refused_filters_does_not_refresh(admin_client, estate):
    response = admin_client.get("/backups/data/?range=custom&start=2025-03-02&end=2025-03-01")
    assert response.status_code == 400 and "data-live" not in response.content.decode()


def test_a_refresh_keeps_a_viewer_to_what_it_may_see(client, estate):
    from tests.roles import user_in

    client.force_login(user_in("viewer"))
    html = client.get("/backups/logs/", **REFRESH).content.decode()
    assert f'href="/backups/logs/{estate["log"].pk}/"' in html and "/stop/" not in html
    client.force_login(user_in(None, "nobody"))
    assert client.get("/backups/logs/", **REFRESH).status_code == 403


# --- the progress of a running data backup ------------------------------------------------


def test_a_running_data_backup_shows_its_progress_and_estimated_finish(admin_client, estate):
    running = estate["running"]
    # 25 % reported ten minutes after its start: the whole takes 40 minutes.
    DataBackupTask.objects.filter(pk=running.pk).update(updated_at=running.started_at + timedelta(minutes=10))
    finish = timezone.localtime(running.started_at + timedelta(minutes=40))
    # The date is added when the finish is not today (a run near midnight).
    shown = f"{finish:%H:%M}" if finish.date() == timezone.localdate() else f"{finish:%m-%d %H:%M}"
    for headers in ({}, REFRESH):
        html = admin_client.get("/backups/data/", **headers).content.decode()
        row = re.search(rf'<tr data-task="{running.pk}">.*?</tr>', html, re.S).group(0)
        bar = re.search(r"<progress [^>]*>", row).group(0)
        assert 'value="25"' in bar and 'max="100"' in bar and 'aria-label="Progress"' in bar
        assert "25% · " in row and f"Est. finish {shown}<" in row
        assert f'title="Est. finish {finish:%Y-%m-%d %H:%M:%S}"' in row
        for other in ("done", "failed"):
            other_row = re.search(rf'<tr data-task="{estate[other].pk}">.*?</tr>', html, re.S).group(0)
            assert "<progress" not in other_row and "Est. finish" not in other_row


def test_the_data_task_page_shows_its_estimated_finish(admin_client, estate):
    running = estate["running"]
    DataBackupTask.objects.filter(pk=running.pk).update(updated_at=running.started_at + timedelta(minutes=10))
    html = admin_client.get(f"/backups/data/{running.pk}/").content.decode()
    finish = timezone.localtime(running.started_at + timedelta(minutes=40))
    assert f'<dd class="task-finish">{finish:%Y-%m-%d %H:%M:%S}</dd>' in html
    assert re.search(r'<progress class="task-progress" max="100" value="25"', html)


def test_estimated_finish():
    now = timezone.now()
    started = now - timedelta(minutes=30)

    def task(**kw):
        kw = {"status": "in_progress", "progress": 50, "started_at": started, "updated_at": now, **kw}
        return DataBackupTask(**kw)

    assert estimated_finish(task(), now) == started + timedelta(minutes=60)
    # Measured at its last report, never before now.
    assert estimated_finish(task(progress=80, updated_at=started + timedelta(minutes=8)), now) == now
    assert estimated_finish(task(progress=25, updated_at=started + timedelta(minutes=10)), now) == started + timedelta(minutes=40)
    assert estimated_finish(task(progress=0), now) is None  # nothing to go by yet
    assert estimated_finish(task(status="completed", progress=100), now) is None
    assert estimated_finish(task(updated_at=started), now) is None


# --- the cluster page and task pages -------------------------------------------------------


def test_the_cluster_page_refresh_gets_its_state_panel(admin_client, estate):
    url = f"/clusters/{estate['cluster'].pk}/"
    page, page_queries = queries(admin_client, url)
    response, refresh_queries = queries(admin_client, url, **REFRESH)
    html = response.content.decode()
    assert "<html" not in html and "Active backup policies" not in html and "Hosts" not in html
    assert "Latest data backup" in html and "Log backup delay" in html
    assert re.search(r'<span [^>]*id="cluster-status" data-hx-swap-oob="true">', html)
    assert re.search(r'<div [^>]*id="recent-failures" data-hx-swap-oob="true">', html)
    assert f"#{estate['failed'].pk}" in html
    assert 'id="live-state" data-live' in page.content.decode()
    # The state panel's own queries only: session, user, cluster, the week's
    # counts, the log backup, the latest data backup, the failures of every kind.
    assert refresh_queries == 7 and refresh_queries < page_queries


@pytest.mark.parametrize("kind", ["data", "log"])
def test_a_task_page_refresh_gets_its_state(admin_client, estate, kind):
    task = estate["running"] if kind == "data" else estate["log"]
    url = f"/backups/{'data' if kind == 'data' else 'logs'}/{task.pk}/"
    _, page_queries = queries(admin_client, url)
    response, refresh_queries = queries(admin_client, url, **REFRESH)
    html = response.content.decode()
    assert "<html" not in html and "console-navbar" not in html
    assert f"#{task.pk}" in html and "status-badge" in html and "History" in html
    assert refresh_queries == page_queries - 1 <= 6  # the refresh draws no navigation (its alert count)
    assert "HX-Request" in response["Vary"]


def test_a_refresh_does_not_keep_an_idle_session_alive(admin_client, estate):
    """A page left open polls; that is not the operator at work."""
    import time

    session = admin_client.session
    session["_idle_refreshed"] = stamp = int(time.time()) - 120
    session.save()
    admin_client.get("/backups/data/", **REFRESH)
    assert admin_client.session["_idle_refreshed"] == stamp
    admin_client.get("/backups/data/")
    assert admin_client.session["_idle_refreshed"] > stamp
