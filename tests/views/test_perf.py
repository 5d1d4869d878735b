"""What keeps the lists fast at millions of rows (issue 5), as tests, not
timings: a constant, small number of queries per page; no COUNT(*) without a
bound; and, on PostgreSQL with realistic statistics, index scans (never a
sequential scan of the task table) for every list's main queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.choices import TaskKind
from backups.devtools import fill
from backups.models import RecoverableInterval
from tests import factories as f
from tests.services import require_postgres

LISTS = {
    "/backups/data/": TaskKind.DATA,
    "/backups/logs/": TaskKind.LOG,
    "/backups/cleanups/": TaskKind.CLEANUP,
    "/backups/secondary/data/": TaskKind.SECONDARY_DATA,
    "/backups/secondary/logs/": TaskKind.SECONDARY_LOG,
    "/backups/restores/": TaskKind.RESTORE,
}
SORTS = {
    "/backups/data/": "-ended_at",
    "/backups/cleanups/": "-ended_at",
    "/backups/secondary/data/": "-ended_at",
    "/backups/restores/": "-ended_at",
}
# session, user, cluster/tenant choices, the page with its capped count, and the
# navigation's count of open alerts (one bounded COUNT, backups/views/alerts.py)
MAX_QUERIES = 5


def variants(url, cluster_id, tenant_id=None):
    yield url
    yield f"{url}?range=24h"
    yield f"{url}?range=30d&per_page=100"
    yield f"{url}?range=custom&start=2020-01-01&end={timezone.localdate().isoformat()}"
    yield f"{url}?status=failed&cluster={cluster_id}"
    yield f"{url}?page=2&per_page=10"
    if url in SORTS:
        yield f"{url}?sort={SORTS[url]}"
        yield f"{url}?sort=started_at&status=completed"
    if tenant_id and url in ("/backups/data/", "/backups/secondary/data/"):
        yield f"{url}?cluster={cluster_id}&tenant={tenant_id}"


@pytest.fixture
def estate(db):
    from tests.views.test_lists import _fill

    cluster = f.make_cluster(name="perf-1")
    _fill(cluster, 30)
    now = timezone.now()
    for i in range(20):  # enough secondary copies for a second page of ten
        f.make_secondary_data_task(f.make_data_task(cluster, started_at=now - timedelta(hours=40 + i)))
    return cluster


# --- queries per page ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_every_list_page_costs_at_most_five_queries(admin_client, estate, url):
    tenant = f.make_tenant(estate, name="perf-tenant")
    admin_client.get(url)  # the session exists
    counts = {}
    for address in variants(url, estate.pk, tenant.pk):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(address)
        assert response.status_code == 200, address
        counts[address] = len(queries.captured_queries)
    assert max(counts.values()) <= MAX_QUERIES, counts
    assert len(set(counts.values())) == 1, f"not constant: {counts}"


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_query_count_does_not_grow_with_the_page_size(admin_client, estate, url):
    admin_client.get(url)
    sizes = []
    for per_page in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(f"{url}?range=30d&per_page={per_page}")
        sizes.append(len(queries.captured_queries))
    assert sizes[0] == sizes[1] <= MAX_QUERIES


# --- no unbounded counts ---------------------------------------------------

COUNT = re.compile(r"COUNT\(", re.I)


def bounded(sql):
    """Every COUNT( in ``sql`` counts a subquery that has a LIMIT."""
    for match in COUNT.finditer(sql):
        rest = sql[match.end():]
        inner = re.match(r"\s*\*?\s*\)\s*(?:AS\s+\w+\s*)?FROM\s*\((.*)", rest, re.S | re.I) or re.match(r"\s*\S+\)\s*FROM\s*\((.*)", rest, re.S | re.I)
        if not inner or not re.search(r"\bLIMIT\s+\d+", inner.group(1), re.I):
            return False
    return True


def test_the_bound_check_itself():
    assert bounded('SELECT COUNT(*) FROM (SELECT "t"."id" FROM "t" WHERE x LIMIT 10001) capped')
    assert bounded('SELECT COUNT(*) AS c FROM (SELECT 1 FROM (SELECT "t"."id" FROM "t") parts LIMIT 10001) capped')
    assert not bounded('SELECT COUNT(*) AS c FROM (SELECT "t"."id" FROM "t" WHERE x) capped')
    assert not bounded('SELECT COUNT(*) AS "__count" FROM "t" WHERE x')
    assert bounded("SELECT 1")


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_no_count_without_a_bound(admin_client, estate, url):
    addresses = list(variants(url, estate.pk)) + [f"{url}?page=999999", f"{url}?range=all", f"{url}?range=24h&page=3"]
    for address in addresses:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(address)
        assert response.status_code == 200, address
        for query in queries.captured_queries:
            assert bounded(query["sql"]), (address, query["sql"])


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_page_past_the_end_shows_the_last_page_in_the_same_queries(admin_client, estate, url):
    """A page number past the last page (typed, or a stale link) shows the
    last page, with a notice, from the same page query: no extra round trip."""
    last = admin_client.get(f"{url}?range=30d&per_page=10&page=1")
    total = last.context["total"]
    assert total > 10
    last_number = -(-total // 10)
    expected = admin_client.get(f"{url}?range=30d&per_page=10&page={last_number}")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(f"{url}?range=30d&per_page=10&page={last_number + 40}")
    assert "showing the last page" in response.content.decode()
    assert response.context["page"].number == last_number
    assert [row.pk for row in response.context["rows"]] == [row.pk for row in expected.context["rows"]]
    assert len(queries.captured_queries) <= MAX_QUERIES


@pytest.mark.django_db
def test_pages_stop_at_the_count_cap_with_a_notice(admin_client, estate, monkeypatch):
    from backups import paging
    from backups.views import lists

    # The estate's window holds more than 20 cleanups.
    monkeypatch.setattr(lists, "COUNT_CAP", 20)
    monkeypatch.setattr(paging, "COUNT_CAP", 20)
    response = admin_client.get("/backups/cleanups/?range=30d&per_page=10&page=7")
    assert response.context["total_capped"]
    assert "Narrow the time range" in response.content.decode()
    assert response.context["page"].number == 2


@pytest.mark.django_db
def test_a_page_beyond_the_cap_of_a_small_window_is_just_past_its_end(admin_client, estate):
    from backup_console.lists import COUNT_CAP

    response = admin_client.get(f"/backups/cleanups/?range=30d&per_page=10&page={COUNT_CAP // 10 + 5}")
    body = response.content.decode()
    assert "There is no page" in body and "showing the last page" in body
    assert "Narrow the time range" not in body  # one notice, and the true one
    assert response.context["page"].number == -(-response.context["total"] // 10)


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_only_start_and_end_time_sort(admin_client, estate, url):
    body = admin_client.get(url).content.decode()
    sorts = set(re.findall(r'class="sort-link[^"]*" href="\?[^"]*sort=(-?\w+)', body))
    assert sorts <= {"started_at", "ended_at", "-started_at", "-ended_at"}, sorts


# --- the indexes are used (PostgreSQL, realistic statistics) ---------------

ROWS_PER_KIND = 100_000
# 200 days of fleet history at 500 rows a day: a 7-day window is 3.5 % of the
# table, near the 1.4 % it is at the benchmark's million rows.  At the fill's
# own 2,000 a day (50 days) a window held a seventh of the table, where a
# sequential scan that stops at the count's cap costs about what the index
# does, and the plan flipped between runs.
DAILY_ROWS = 500


@pytest.fixture(scope="module")
def big_estate(django_db_setup, django_db_blocker):
    """100,000 tasks of every kind, ANALYZEd, in a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        require_postgres()  # EXPLAIN checks need PostgreSQL: skip locally, fail in CI
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fill, "FLEET_DAILY_ROWS", DAILY_ROWS)
                fill.fill(dict.fromkeys(TaskKind, ROWS_PER_KIND))
            with connection.cursor() as cursor:
                # Statistics from every row, not a random sample of 30,000: the
                # plans checked below must not change from run to run.
                cursor.execute("SET LOCAL default_statistics_target = 1000")
                for model in [*fill.FILL_MODELS.values(), RecoverableInterval]:
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            from django.contrib.auth import get_user_model

            from clusters.models import Cluster

            user = get_user_model().objects.create_superuser("perf", "perf@example.com", "pw-perf-123456")
            yield {"cluster": Cluster.objects.get(name="fleet-007"), "user": user}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        return cursor.fetchone()[0][0]["Plan"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_main_list_queries_use_indexes_not_a_seq_scan(big_estate, client, url):
    table = fill.FILL_MODELS[LISTS[url]]._meta.db_table
    client.force_login(big_estate["user"])
    cluster = big_estate["cluster"].pk
    addresses = [url, f"{url}?status=failed&cluster={cluster}", f"{url}?per_page=50&page=60"]  # deep: offset 2,950 of the window's 3,500
    if url in SORTS:
        addresses.append(f"{url}?sort={SORTS[url]}")
    for address in addresses:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(address)
        assert response.status_code == 200, address
        page_queries = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
        assert page_queries, address
        for sql in page_queries:
            scans = [(n["Node Type"], n.get("Index Name")) for n in plan_nodes(explain(sql)) if n.get("Relation Name") == table]
            assert scans, (address, sql)
            assert all(kind != "Seq Scan" for kind, _index in scans), (address, scans, sql)


def rows_read(plan, table):
    """Rows the plan's scans of ``table`` touched: returned plus filtered out,
    over all loops (a bitmap's index entries are not rows: its heap scan's are)."""
    total = 0
    for node in plan_nodes(plan):
        if node.get("Relation Name") == table:
            loops = node.get("Actual Loops", 1)
            total += loops * (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                              + node.get("Rows Removed by Index Recheck", 0))
    return total


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_sparse_window_reads_its_own_rows_not_the_history(big_estate, client, url):
    """A day of one cluster, fewer rows than a page: the page and its count
    read the rows of that window (through the cluster's index, and the few
    tasks alive at the window's bound through the span index), not the
    cluster's two hundred days of history, which the one-condition window walked
    when it held fewer rows than a page."""
    from backups.timerange import preset_window

    model = fill.FILL_MODELS[LISTS[url]]
    table = model._meta.db_table
    cluster = big_estate["cluster"]
    client.force_login(big_estate["user"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{url}?range=24h&cluster={cluster.pk}&per_page=50")
    assert response.status_code == 200
    sql = max((q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]), key=len)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]["Plan"]
    window = preset_window("24h")
    in_window = model.objects.filter(window.q())
    history = model.objects.filter(cluster=cluster).count()
    # What the window's own index ranges read: the cluster's rows in it, twice
    # (page and count), plus slack for the page's joins and the tasks alive at
    # the window's bound.
    in_page = in_window.filter(cluster=cluster).count()
    assert in_page < 50
    bound = 2 * in_page + 200
    assert history > 2 * bound, "the estate is too small to tell a history walk from a window read"
    read = rows_read(plan, table)
    assert read <= bound, (read, bound, history)
    used = {node.get("Index Name") for node in plan_nodes(plan)}
    assert any(name and name.endswith("_span") for name in used), used


# --- the recovery page and "can I restore to T?" ------------------------------


def recovery_addresses(cluster, tenant, yes, no):
    base = f"/clusters/{cluster.pk}/recovery/"
    local = lambda moment: timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
    return [base, f"{base}?days=30", f"{base}?tenant={tenant.pk}&at={local(yes)}", f"{base}?tenant={tenant.pk}&at={local(no)}"]


def recovery_queries(client, addresses):
    counts = {}
    for address in addresses:
        client.get(address)  # warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(address)
        assert response.status_code == 200, address
        counts[address] = len(queries.captured_queries)
    return counts


# What the recovery page may cost, whatever the history: session, user,
# cluster, tenants, intervals, RPO thresholds, the kept sets, the rows its
# shown lines name (each by id, skipped when it names none), cleanups,
# policies and the alert badge. An answer reads at most two more (the chain
# of the sets it names).
RECOVERY_PAGE_QUERIES = 17


def assert_bounded(counts):
    """The page costs at most RECOVERY_PAGE_QUERIES in both views and an answer at most two more, yes or no."""
    page, month, yes, no = counts.values()
    assert max(page, month) <= RECOVERY_PAGE_QUERIES and max(yes, no) <= RECOVERY_PAGE_QUERIES + 2, counts


@pytest.mark.django_db
def test_the_recovery_page_and_its_answer_cost_the_same_queries_whatever_the_history(admin_client):
    """The page, its 30-day view, a yes and a no: no more queries for eight
    tenants with a month of history than the bound one tenant with a day has."""
    from backups.choices import BackupMode, DataBackupStatus
    from backups.engine.transitions import transition
    from backups.models import DataBackupTask

    now = timezone.now().replace(microsecond=0)

    def history(cluster, days):
        """A nightly round with a backup in it: a full each week, incrementals between."""
        backup_set = None
        for day in range(days, 0, -1):
            start = now - timedelta(days=day)
            f.make_log_task(cluster, status="stopped", started_at=start, ended_at=start + timedelta(hours=20),
                            latest_point=start + timedelta(hours=20))
            full = backup_set is None or day % 7 == 0
            task = f.make_data_task(cluster, started_at=start + timedelta(hours=1), status=DataBackupStatus.IN_PROGRESS,
                                    mode=BackupMode.FULL if full else BackupMode.INCREMENTAL,
                                    **({} if full else {"backup_set": backup_set}))
            transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", now=start + timedelta(hours=2), progress=100)
            backup_set = task.backup_set
        return now - timedelta(days=1, hours=-10), now - timedelta(days=days, hours=1)  # inside the newest round; before all

    small, big = f.make_cluster(name="small"), f.make_cluster(name="big")
    small_tenant = f.make_tenant(small, name="only")
    big_tenants = [f.make_tenant(big, name=f"t{n}") for n in range(8)]
    small_counts = recovery_queries(admin_client, recovery_addresses(small, small_tenant, *history(small, 1)))
    big_counts = recovery_queries(admin_client, recovery_addresses(big, big_tenants[3], *history(big, 30)))
    assert RecoverableInterval.objects.filter(tenant=big_tenants[3]).count() > 1  # gaps between the nightly rounds
    assert_bounded(small_counts)
    assert_bounded(big_counts)  # eight tenants and thirty days: no read per tenant, row or day


@pytest.mark.django_db
def test_the_fleet_fill_keeps_recoverable_intervals_and_the_page_reads_them_in_constant_queries(big_estate, client):
    # Where a fleet cluster's log sessions start just after its backups, no set is covered:
    # take the fleet tenant with the most intervals.
    from django.db.models import Count

    from clusters.models import Tenant

    tenant = (Tenant.objects.filter(cluster__name__startswith=fill.FLEET_PREFIX).select_related("cluster")
              .annotate(n=Count("recoverable_intervals")).order_by("-n", "pk").first())
    cluster = tenant.cluster
    stored = list(RecoverableInterval.objects.filter(tenant=tenant).order_by("start"))
    assert len(stored) > 1, "the fill keeps no recoverable intervals for the fleet's tenants"
    newest = stored[-1]
    client.force_login(big_estate["user"])
    yes = newest.start + (newest.effective_end - newest.start) / 2
    addresses = recovery_addresses(cluster, tenant, yes, stored[0].start - timedelta(hours=6))
    assert_bounded(recovery_queries(client, addresses))
    assert "can be restored to" in client.get(addresses[2]).content.decode()
    assert "cannot be restored to" in client.get(addresses[3]).content.decode()


# --- the alert list (告警): read like the task lists ------------------------------

ALERT_ROWS = 60_000


@pytest.fixture(scope="module")
def alert_estate(django_db_setup, django_db_blocker):
    """60,000 alerts of 40 clusters over 250 days (a few open), ANALYZEd, rolled back at the end."""
    from django.contrib.auth import get_user_model

    from backups.choices import AlertRule, AlertSeverity, AlertStatus
    from backups.models import Alert

    with django_db_blocker.unblock():
        require_postgres()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            clusters = [f.make_cluster(name=f"alerting-{n:02d}") for n in range(40)]
            now = timezone.now()
            rules, severities = list(AlertRule), list(AlertSeverity)
            rows = []
            for n in range(ALERT_ROWS):
                started = now - timedelta(minutes=6 * n + 7)
                open_ = n < 30
                rows.append(Alert(rule=rules[n % len(rules)], severity=severities[n % 3], cluster=clusters[n % 40],
                                  subject=f"data:{n}", started_at=started, ended_at=None if open_ else started + timedelta(minutes=20),
                                  status=AlertStatus.OPEN if open_ else AlertStatus.RESOLVED, value=n % 100, threshold=50))
            Alert.objects.bulk_create(rows, batch_size=5000)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL default_statistics_target = 1000")
                cursor.execute(f"ANALYZE {Alert._meta.db_table}")
            user = get_user_model().objects.create_superuser("alerts-perf", "ap@example.com", "pw-perf-123456")
            yield {"cluster": clusters[7], "user": user}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.mark.django_db
def test_the_alert_list_uses_indexes_not_a_seq_scan(alert_estate, client):
    table = "backups_alert"
    client.force_login(alert_estate["user"])
    cluster = alert_estate["cluster"].pk
    for address in ("/alerts/", f"/alerts/?status=open&cluster={cluster}", "/alerts/?range=30d&per_page=50&page=60",
                    "/alerts/?sort=-ended_at", "/alerts/?range=30d&rule=log_delay", "/backups/calendar/"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(address)
        assert response.status_code == 200, address
        page_queries = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
        assert page_queries, address
        for sql in page_queries:
            assert bounded(sql), (address, sql)
            scans = [(n["Node Type"], n.get("Index Name")) for n in plan_nodes(explain(sql)) if n.get("Relation Name") == table]
            assert scans, (address, sql)
            assert all(kind != "Seq Scan" for kind, _index in scans), (address, scans, sql)
