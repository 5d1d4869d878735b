"""The five overview lists (OV-3..OV-8): filters, links, sorting, pages,
languages and query counts, through the Django test client."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backups.formats import readable_delay
from tests import factories as f
from tests.clock import frozen

pytestmark = pytest.mark.django_db

LISTS = ["/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/", "/backups/restores/"]


def shown(response):
    """IDs of the data tasks on a data-list page, in order."""
    return [int(pk) for pk in re.findall(r'data-task="(\d+)"', response.content.decode())]


def ids_in(response, prefix="#"):
    return response.content.decode()


@pytest.fixture
def cluster():
    return f.make_cluster(name="prod-east")


# --- addresses -----------------------------------------------------------

def test_root_redirects_to_the_overview(admin_client):
    response = admin_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/backups/"


def test_overview_shows_the_data_tab(admin_client, cluster):
    task = f.make_data_task(cluster)
    response = admin_client.get("/backups/")
    assert response.status_code == 200
    assert shown(response) == [task.pk]
    assert 'data-tab="data"' in response.content.decode()


@pytest.mark.parametrize("url", LISTS)
def test_every_list_renders_with_tabs_and_top_actions(admin_client, url):
    body = admin_client.get(url).content.decode()
    for tab in ("/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/"):
        assert f'href="{tab}' in body
    assert "Normal backups" in body and "Secondary backups" in body
    assert "/backups/policies/new/" in body and "/backups/instant/" in body


@pytest.mark.parametrize("url", LISTS)
def test_lists_require_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- OV-8: the time window ------------------------------------------------

def test_default_window_is_seven_days(admin_client, cluster):
    now = timezone.now()
    recent = f.make_data_task(cluster, started_at=now - timedelta(days=6))
    f.make_data_task(cluster, started_at=now - timedelta(days=9))
    response = admin_client.get("/backups/data/")
    assert shown(response) == [recent.pk]
    assert re.search(r'data-range="7d" class="[^"]*active', response.content.decode())


def test_a_running_task_that_started_before_the_window_is_in_it(admin_client, cluster):
    task = f.make_data_task(cluster, status="in_progress", started_at=timezone.now() - timedelta(days=3))
    assert shown(admin_client.get("/backups/data/?range=24h")) == [task.pk]


def test_a_task_that_ended_before_the_window_is_not_in_it(admin_client, cluster):
    now = timezone.now()
    f.make_data_task(cluster, started_at=now - timedelta(hours=30), ended_at=now - timedelta(hours=25))
    assert shown(admin_client.get("/backups/data/?range=24h")) == []


def test_a_task_that_ended_inside_the_window_is_in_it(admin_client, cluster):
    now = timezone.now()
    task = f.make_data_task(cluster, started_at=now - timedelta(hours=30), ended_at=now - timedelta(hours=23))
    assert shown(admin_client.get("/backups/data/?range=24h")) == [task.pk]


def test_a_task_starting_after_the_window_end_is_not_in_it(admin_client, cluster):
    f.make_data_task(cluster, started_at=timezone.now() - timedelta(days=1))
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert shown(admin_client.get(f"/backups/data/?range=custom&start={day}&end={day}")) == []


def test_custom_range_of_dates_includes_the_whole_end_day(admin_client, cluster):
    day = timezone.localdate() - timedelta(days=40)
    start = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 23, 0))
    task = f.make_data_task(cluster, started_at=start)
    f.make_data_task(cluster, started_at=start - timedelta(days=2))
    response = admin_client.get(f"/backups/data/?range=custom&start={day.isoformat()}&end={day.isoformat()}")
    assert shown(response) == [task.pk]


def test_custom_range_with_date_times(admin_client, cluster):
    base = timezone.localtime() - timedelta(days=50)
    task = f.make_data_task(cluster, started_at=base)
    start = (base - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (base + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert shown(admin_client.get(f"/backups/data/?range=custom&start={start}&end={end}")) == [task.pk]
    before = (base - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    assert shown(admin_client.get(f"/backups/data/?range=custom&start={start}&end={before}")) == []


def test_dates_without_range_custom_mean_a_custom_range(admin_client, cluster):
    day = timezone.localdate() - timedelta(days=60)
    task = f.make_data_task(cluster, started_at=timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 12)))
    # Redirected to the address that says so (tests/views/test_custom_range.py).
    assert shown(admin_client.get(f"/backups/data/?range=7d&start={day}&end={day}", follow=True)) == [task.pk]


def test_range_all_ignores_age(admin_client, cluster):
    old = f.make_data_task(cluster, started_at=timezone.now() - timedelta(days=400))
    assert shown(admin_client.get("/backups/data/?range=all")) == [old.pk]


@pytest.mark.parametrize("url,make", [
    ("/backups/logs/", lambda c, **kw: f.make_log_task(c, status="stopped", **kw)),
    ("/backups/cleanups/", lambda c, **kw: f.make_cleanup_task(c, **kw)),
    ("/backups/secondary/data/", lambda c, **kw: f.make_secondary_data_task(f.make_data_task(c, started_at=timezone.now() - timedelta(days=90)), **kw)),
    ("/backups/secondary/logs/", lambda c, **kw: f.make_secondary_log_task(f.make_log_task(c, status="stopped", started_at=timezone.now() - timedelta(days=90), ended_at=timezone.now() - timedelta(days=80)), status="stopped", **kw)),
])
def test_every_list_applies_the_window(admin_client, cluster, url, make):
    now = timezone.now()
    make(cluster, started_at=now - timedelta(days=20), ended_at=now - timedelta(days=19))
    assert "match these filters" in admin_client.get(url + "?range=7d").content.decode()
    assert "match these filters" not in admin_client.get(url + "?range=30d").content.decode()


def test_empty_result_says_so_and_offers_a_wider_range(admin_client, cluster):
    body = admin_client.get("/backups/data/?range=24h").content.decode()
    assert "No data backup tasks match these filters." in body
    assert 'class="empty-wider"' in body and "range=30d" in body


# --- status, cluster, tenant ---------------------------------------------

def test_status_filter_takes_several_statuses(admin_client, cluster):
    failed = f.make_data_task(cluster, status="failed", started_at=timezone.now() - timedelta(hours=3))
    running = f.make_data_task(cluster, status="in_progress")
    f.make_data_task(cluster, status="completed", started_at=timezone.now() - timedelta(hours=4))
    assert shown(admin_client.get("/backups/data/?status=failed")) == [failed.pk]
    assert shown(admin_client.get("/backups/data/?status=failed&status=in_progress")) == [running.pk, failed.pk]


def test_status_badge_links_to_that_status(admin_client, cluster):
    f.make_data_task(cluster, status="failed")
    body = admin_client.get("/backups/data/?range=30d").content.decode()
    assert re.search(r'class="badge[^"]*text-bg-danger" href="\?range=30d&amp;status=failed"', body)


def test_status_filter_uses_no_distinct(admin_client, cluster, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        admin_client.get("/backups/data/?status=failed&status=completed")
    assert not any("DISTINCT" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("url,make", [
    ("/backups/data/", lambda c: f.make_data_task(c)),
    ("/backups/logs/", lambda c: f.make_log_task(c)),
    ("/backups/cleanups/", lambda c: f.make_cleanup_task(c)),
    ("/backups/secondary/data/", lambda c: f.make_secondary_data_task(f.make_data_task(c))),
    ("/backups/secondary/logs/", lambda c: f.make_secondary_log_task(f.make_log_task(c))),
])
def test_cluster_filter_on_every_list(admin_client, url, make):
    mine, other = f.make_cluster(name="mine-1"), f.make_cluster(name="other-1")
    make(mine), make(other)
    body = admin_client.get(f"{url}?cluster={mine.pk}").content.decode()
    assert f'href="/clusters/{mine.pk}/"' in body and f'href="/clusters/{other.pk}/"' not in body


def test_tenant_filter(admin_client, cluster):
    sales, billing = f.make_tenant(cluster, name="sales"), f.make_tenant(cluster, name="billing")
    mine = f.make_data_task(cluster, tenant=sales)
    f.make_data_task(cluster, tenant=billing, started_at=timezone.now() - timedelta(hours=5))
    response = admin_client.get(f"/backups/data/?cluster={cluster.pk}&tenant={sales.pk}")
    assert shown(response) == [mine.pk]


def test_tenant_select_lists_only_the_chosen_clusters_tenants(admin_client, cluster):
    f.make_tenant(cluster, name="sales")
    f.make_tenant(f.make_cluster(), name="elsewhere")
    body = admin_client.get(f"/backups/data/?cluster={cluster.pk}").content.decode()
    assert ">sales</option>" in body and ">elsewhere</option>" not in body
    assert ">sales</option>" not in admin_client.get("/backups/data/").content.decode()


def test_no_select_grows_with_tasks_or_hosts(admin_client, cluster):
    def option_counts():
        body = admin_client.get("/backups/logs/").content.decode()
        return [s.count("<option") for s in re.findall(r"<select.*?</select>", body, re.S)]

    f.make_log_task(cluster, status="stopped")
    before = option_counts()
    for _ in range(15):
        f.make_log_task(cluster, status="stopped")
    assert option_counts() == before


# --- drill-down links ----------------------------------------------------

def test_cluster_name_links_to_the_cluster_overview(admin_client, cluster):
    f.make_data_task(cluster)
    assert f'<a href="/clusters/{cluster.pk}/">prod-east</a>' in admin_client.get("/backups/data/").content.decode()


def test_secondary_done_yes_links_to_the_copies_of_that_task(admin_client, cluster):
    old = timezone.now() - timedelta(days=100)
    done = f.make_data_task(cluster, started_at=old)
    copy = f.make_secondary_data_task(done)
    f.make_secondary_data_task(f.make_data_task(cluster, started_at=old))  # someone else's copy
    not_done = f.make_data_task(cluster)
    f.make_secondary_data_task(not_done, status="failed")  # failed copies do not count
    body = admin_client.get("/backups/data/?range=all").content.decode()
    link = f"/backups/secondary/data/?source={done.pk}&amp;range=all"
    assert f'href="{link}"' in body
    assert f"source={not_done.pk}&" not in body
    copies = admin_client.get(link.replace("&amp;", "&")).content.decode()
    assert re.findall(r'<td class="font-monospace">(\d+)</td>', copies) == [str(copy.pk)]


def test_backup_set_links_to_every_data_task_of_the_set(admin_client, cluster):
    old = timezone.now() - timedelta(days=100)
    backup_set = f.make_backup_set(cluster, number=4242)
    full = f.make_data_task(cluster, backup_set=backup_set, started_at=old)
    inc = f.make_data_task(cluster, backup_set=backup_set, mode="incremental", started_at=old + timedelta(days=1))
    f.make_data_task(cluster)
    f.make_secondary_data_task(inc)
    body = admin_client.get("/backups/secondary/data/?range=all").content.decode()
    link = f"/backups/data/?backup_set={backup_set.pk}&amp;range=all"
    assert f'<a href="{link}" class="font-monospace">4242</a>' in body
    response = admin_client.get(link.replace("&amp;", "&"))
    assert shown(response) == [inc.pk, full.pk]
    assert "4242" in response.content.decode()  # the chip names the set


def test_failed_task_offers_view_reason(admin_client, cluster):
    f.make_data_task(cluster, status="failed", failure_reason="Storage unreachable: nfs timed out")
    f.make_data_task(cluster, started_at=timezone.now() - timedelta(hours=5))
    body = admin_client.get("/backups/data/").content.decode()
    assert body.count("View reason") == 1
    assert 'data-reason="Storage unreachable: nfs timed out"' in body


def test_expanded_row_shows_method_version_directory_and_duration(admin_client, cluster):
    task = f.make_data_task(cluster, backup_method="logical", data_version=777, storage_directory="/nfs/prod/777")
    body = admin_client.get("/backups/data/").content.decode()
    details = body[body.index(f'id="task-{task.pk}-details"'):]
    assert "Logical" in details[:2000] and "777" in details[:2000] and "/nfs/prod/777" in details[:2000]
    assert "30 min" in details[:2000]


def test_data_detail_page(admin_client, cluster):
    task = f.make_data_task(cluster, status="failed", failure_reason="compaction needed")
    body = admin_client.get(task.get_absolute_url()).content.decode()
    assert "compaction needed" in body


# --- log lists -----------------------------------------------------------

@pytest.mark.parametrize("seconds,text", [(12, "12 s"), (185, "3 min 5 s"), (7440, "2 h 4 min"), (7200, "2 h"), (90000, "1 d 1 h")])
def test_readable_delay(seconds, text):
    assert readable_delay(seconds) == text


def test_log_delay_is_flagged_over_the_policy_threshold(admin_client, cluster):
    policy = f.make_policy(cluster, log_delay_threshold_seconds=60)
    with frozen() as now:  # the delay is shown to the second
        f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(seconds=185))
        body = admin_client.get("/backups/logs/").content.decode()
    assert "bi-exclamation-triangle-fill" in body and "3 min 5 s" in body


def test_log_delay_under_the_default_threshold_is_not_flagged(admin_client, cluster):
    with frozen() as now:
        f.make_log_task(cluster, latest_point=now - timedelta(seconds=12))
        body = admin_client.get("/backups/logs/").content.decode()
    assert "12 s" in body and "bi-exclamation-triangle-fill" not in body


@pytest.mark.parametrize("url,make,action", [
    ("/backups/logs/", f.make_log_task, "logs"),
    ("/backups/secondary/logs/", lambda c, **kw: f.make_secondary_log_task(f.make_log_task(c, status="stopped"), **kw), "secondary/logs"),
])
@pytest.mark.parametrize("status,offers", [
    ("starting", "stop"), ("in_progress", "stop"), ("stopping", None), ("stopped", "start"), ("failed", None),
])
def test_start_and_stop_appear_only_on_the_right_statuses(admin_client, cluster, url, make, action, status, offers):
    task = make(cluster, status=status)
    body = admin_client.get(url).content.decode()
    for verb in ("stop", "start"):
        form = f'<form method="post" action="/backups/{action}/{task.pk}/{verb}/"'
        assert (form in body) == (verb == offers), (verb, status)
    if offers:
        assert "csrfmiddlewaretoken" in body


def test_cleanup_statuses_use_their_own_wording_in_chinese(admin_client, cluster):
    f.make_cleanup_task(cluster, status="failed")
    body = admin_client.get("/backups/cleanups/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "任务失败" in body


# --- sorting and pages ---------------------------------------------------

def test_sort_by_start_time(admin_client, cluster):
    now = timezone.now()
    a = f.make_data_task(cluster, started_at=now - timedelta(hours=3))
    b = f.make_data_task(cluster, started_at=now - timedelta(hours=1))
    assert shown(admin_client.get("/backups/data/")) == [b.pk, a.pk]
    assert shown(admin_client.get("/backups/data/?sort=started_at")) == [a.pk, b.pk]
    assert shown(admin_client.get("/backups/data/?sort=-started_at")) == [b.pk, a.pk]


def test_pages(admin_client, cluster):
    now = timezone.now()
    tasks = [f.make_data_task(cluster, started_at=now - timedelta(hours=i + 1)) for i in range(25)]
    first = admin_client.get("/backups/data/?per_page=10")
    assert shown(first) == [t.pk for t in tasks[:10]]
    assert "25 tasks" in first.content.decode()
    third = admin_client.get("/backups/data/?per_page=10&page=3")
    assert shown(third) == [t.pk for t in tasks[20:]]
    beyond = admin_client.get("/backups/data/?per_page=10&page=9")
    assert beyond.status_code == 200 and shown(beyond) == [t.pk for t in tasks[20:]]
    assert "showing the last page" in beyond.content.decode()


# --- languages -----------------------------------------------------------

def test_chinese_from_accept_language(admin_client, cluster):
    f.make_data_task(cluster, status="in_progress")
    body = admin_client.get("/backups/data/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    for text in ("数据备份任务", "进行中", "所属集群", "备份集 ID", "是否做过二次备份", "近 7 天", "新建备份策略", "立即备份", "普通备份", "二次备份"):
        assert text in body, text


def test_every_page_offers_the_language_switch(admin_client):
    for url in LISTS + ["/clusters/"]:
        assert 'action="/i18n/setlang/"' in admin_client.get(url).content.decode()


def test_times_show_the_zone(admin_client, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    body = admin_client.get("/backups/data/").content.decode()
    assert "Asia/Shanghai" in body


# --- query counts --------------------------------------------------------

def _fill(cluster, n):
    tenant = f.make_tenant(cluster)
    policy = f.make_policy(cluster)
    now = timezone.now()
    for i in range(n):
        data = f.make_data_task(cluster, tenant=tenant, started_at=now - timedelta(hours=i + 1), status="failed" if i % 3 else "completed")
        if i % 2 == 0 and data.status == "completed":
            f.make_secondary_data_task(data)
        log = f.make_log_task(cluster, policy=policy if i % 2 else None, status="stopped", started_at=now - timedelta(hours=i + 2), ended_at=now - timedelta(hours=i + 1))
        f.make_secondary_log_task(log, status="stopped")
        f.make_cleanup_task(cluster, started_at=now - timedelta(hours=i + 1))
        f.make_restore_task(cluster, source_tenant=tenant, started_at=now - timedelta(hours=i + 1),
                            status="completed", ended_at=now - timedelta(hours=i))


# session, user, the cluster/tenant choices (options and validation in one
# query), the page with its capped count (issue 5), the navigation's open-alert count.
QUERIES = {"/backups/data/": 5, "/backups/logs/": 5, "/backups/cleanups/": 5, "/backups/secondary/data/": 5, "/backups/secondary/logs/": 5,
           "/backups/restores/": 5}


@pytest.mark.parametrize("url", LISTS)
def test_query_count_does_not_grow_with_rows(admin_client, django_assert_num_queries, url):
    small, big = f.make_cluster(), f.make_cluster()
    _fill(small, 3)
    _fill(big, 60)
    admin_client.get(url)  # warm the session
    with django_assert_num_queries(QUERIES[url]) as few:
        admin_client.get(f"{url}?cluster={small.pk}&per_page=100")
    with django_assert_num_queries(QUERIES[url]) as many:
        response = admin_client.get(f"{url}?cluster={big.pk}&per_page=100")
    assert response.status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)


# --- every row reaches its task page and its failure reason (issue 11) ----------------

def _failed_of_every_kind(cluster, reason):
    """{list URL: (a failed task in it, its task page)}."""
    log = f.make_log_task(cluster, status="failed", failure_reason=reason)
    made = {
        "/backups/data/": f.make_data_task(cluster, status="failed", failure_reason=reason),
        "/backups/logs/": log,
        "/backups/cleanups/": f.make_cleanup_task(cluster, status="failed", failure_reason=reason),
        "/backups/secondary/data/": f.make_secondary_data_task(f.make_data_task(cluster), status="failed", failure_reason=reason),
        "/backups/secondary/logs/": f.make_secondary_log_task(log, status="failed", failure_reason=reason),
        "/backups/restores/": f.make_restore_task(cluster, status="failed", failure_reason=reason, ended_at=timezone.now()),
    }
    pages = {"/backups/data/": "data", "/backups/logs/": "logs", "/backups/cleanups/": "cleanups",
             "/backups/secondary/data/": "secondary/data", "/backups/secondary/logs/": "secondary/logs",
             "/backups/restores/": "restores"}
    return {url: (task, f"/backups/{pages[url]}/{task.pk}/") for url, task in made.items()}


@pytest.mark.parametrize("url", LISTS)
def test_every_row_links_to_its_task_page(admin_client, cluster, url):
    tasks = _failed_of_every_kind(cluster, "x")
    task, page = tasks[url]
    body = admin_client.get(url).content.decode()
    assert f'<a href="{page}" class="btn btn-sm btn-icon"' in body
    assert admin_client.get(page).status_code == 200


@pytest.mark.parametrize("url", LISTS)
def test_every_failed_row_offers_view_reason(admin_client, cluster, url):
    tasks = _failed_of_every_kind(cluster, "Archive destination <full> & unreachable")
    task, page = tasks[url]
    body = admin_client.get(url).content.decode()
    assert body.count("View reason") == 1, "only the failed row offers it"
    button = re.search(r'<a href="([^"]+)" class="btn btn-sm btn-outline-danger view-reason"\s+[^>]*data-reason="([^"]*)" '
                       r'data-reason-for="(\d+)"', body)
    assert button and button.groups() == (f"{page}#failure-reason", "Archive destination &lt;full&gt; &amp; unreachable", str(task.pk))
    assert body.count('id="reason-modal"') == 1  # the modal the button opens


@pytest.mark.parametrize("url", ["/backups/logs/", "/backups/secondary/logs/"])
def test_a_log_row_offers_its_move_beside_its_details(admin_client, cluster, url):
    log = f.make_log_task(cluster, status="stopped")
    task = log if url == "/backups/logs/" else f.make_secondary_log_task(log, status="stopped")
    body = admin_client.get(url).content.decode()
    assert f'action="{url}{task.pk}/start/"' in body and f'href="{url}{task.pk}/"' in body


# --- Start only on the cluster's current log backup (issue 11) ------------------------

def _pieces(cluster):
    """A stopped log backup of three weeks ago, and the cluster's newer, current one."""
    now = timezone.now()
    ancient = f.make_log_task(cluster, status="stopped", started_at=now - timedelta(days=22), ended_at=now - timedelta(days=21))
    current = f.make_log_task(cluster, status="stopped", started_at=now - timedelta(days=2), ended_at=now - timedelta(hours=5))
    return ancient, current


def _startable(body, path):
    return sorted(int(pk) for pk in re.findall(rf'<form method="post" action="{re.escape(path)}(\d+)/start/"', body))


def test_start_is_offered_only_on_the_clusters_current_log_backup(admin_client, cluster):
    ancient, current = _pieces(cluster)
    elsewhere = f.make_log_task(f.make_cluster(name="prod-west"), status="stopped")  # another cluster's own current one
    body = admin_client.get("/backups/logs/?range=all").content.decode()
    assert _startable(body, "/backups/logs/") == sorted([current.pk, elsewhere.pk])
    assert f'href="/backups/logs/{ancient.pk}/"' in body  # still listed, with its page


def test_secondary_start_is_offered_only_on_the_newest_copy_of_the_current_log_backup(admin_client, cluster):
    ancient, current = _pieces(cluster)
    now = timezone.now()
    f.make_secondary_log_task(ancient, status="stopped")  # copy of an old piece
    older_copy = f.make_secondary_log_task(current, status="stopped", started_at=now - timedelta(days=2))
    newest_copy = f.make_secondary_log_task(current, status="stopped", started_at=now - timedelta(days=1))
    body = admin_client.get("/backups/secondary/logs/?range=all").content.decode()
    assert _startable(body, "/backups/secondary/logs/") == [newest_copy.pk]
    assert older_copy.pk != newest_copy.pk


@pytest.mark.parametrize("url", ["/backups/logs/", "/backups/secondary/logs/"])
def test_the_current_pieces_cost_no_query_of_their_own(admin_client, django_assert_num_queries, cluster, url):
    for other in [cluster] + [f.make_cluster() for _ in range(4)]:
        ancient, current = _pieces(other)
        f.make_secondary_log_task(ancient, status="stopped")
        f.make_secondary_log_task(current, status="stopped")
    admin_client.get(url)
    with django_assert_num_queries(5):  # as QUERIES says
        body = admin_client.get(f"{url}?range=all").content.decode()
    assert len(_startable(body, url)) == 5
