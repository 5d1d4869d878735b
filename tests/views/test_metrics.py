"""The overview's core metrics (engine/metrics.py, includes/core_metrics.html):
each figure against hand-built data, the list it links to holding exactly as
many rows, and a constant number of queries whatever the estate."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.choices import CleanupStatus, DataBackupStatus, LogBackupStatus, PolicyState
from backups.engine import metrics
from backups.engine.rollups import rebuild_rollups
from backups.engine.transitions import transition
from backups.formats import readable_delay
from backups.models import DataBackupTask, RecoverableInterval, RestoreDrillRun
from tests import factories as f
from tests.views.test_perf import big_estate, plan_nodes, rows_read  # noqa: F401 - the fixture

OVERVIEW = "/backups/"


def page(client):
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    return response, response.context["metrics"]


def list_count(client, url):
    """The row count a linked list reports (the list's own total)."""
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["total"]


def finish(task, status, now=None, **fields):
    """End a running data backup through the engine (so its rollup is counted)."""
    if status == DataBackupStatus.FAILED:
        fields.setdefault("failure_reason", "storage unreachable")
    transition(DataBackupTask, task.pk, status, cause="test", now=now, **fields)


def running_backup(cluster, hours_ago):
    return f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS,
                            started_at=timezone.now() - timedelta(hours=hours_ago))


# --- Zero data and all failed ------------------------------------------------------------


def test_an_empty_estate_shows_zeros_and_no_rate(admin_client):
    response, m = page(admin_client)
    assert (m.protection.backed_up, m.protection.not_backed_up) == (0, [])
    assert m.success.rate is None and m.success.finished == 0
    assert len(m.success.daily) == metrics.DAYS
    assert m.failed_recent == 0 and m.lagging == [] and m.rpo.worst is None
    assert m.running == {"data": 0, "restore": 0, "cleanup": 0}
    assert (m.drills.succeeded, m.drills.run) == (0, 0)
    assert list_count(admin_client, m.links["drills_run"]) == 0
    body = response.content.decode()
    assert "Core metrics" in body and 'id="metrics-chart-data"' in body


def test_an_all_failed_estate(admin_client):
    clusters = [f.make_cluster() for _ in range(2)]
    for cluster in clusters:
        f.make_policy(cluster)
        finish(running_backup(cluster, 3), DataBackupStatus.FAILED)
    _response, m = page(admin_client)
    assert m.success.rate == 0.0 and (m.success.completed, m.success.failed) == (0, 2)
    assert m.failed_recent == 2
    assert m.protection.backed_up == 0
    assert m.protection.reasons == {metrics.LAST_FAILED: 2}
    assert list_count(admin_client, m.links["failed_week"]) == 2
    assert list_count(admin_client, m.links["failed_recent"]) == 2
    assert list_count(admin_client, m.links["completed_week"]) == 0


# --- Each figure --------------------------------------------------------------------------


def test_clusters_backed_up_and_why_not(admin_client):
    now = timezone.now()
    ok = f.make_cluster(name="a-ok")
    f.make_policy(ok)  # Mon full, Thu incremental: a cycle of 4 + 1 days
    finish(running_backup(ok, 30), DataBackupStatus.COMPLETED, now=now - timedelta(days=1))
    f.make_cluster(name="b-no-policy")
    paused = f.make_cluster(name="c-paused")
    f.make_policy(paused, state=PolicyState.PAUSED)
    failed = f.make_cluster(name="d-failed")
    f.make_policy(failed)
    finish(running_backup(failed, 2), DataBackupStatus.FAILED)
    stale = f.make_cluster(name="e-stale")
    f.make_policy(stale)
    f.make_data_task(stale, started_at=now - timedelta(days=9), ended_at=now - timedelta(days=8, hours=23))
    _response, m = page(admin_client)
    reasons = {item.cluster.name: item.reason for item in m.protection.not_backed_up}
    assert m.protection.backed_up == 1
    assert reasons == {"b-no-policy": "no_policy", "c-paused": "paused", "d-failed": "last_failed", "e-stale": "no_success"}
    assert next(i for i in m.protection.not_backed_up if i.reason == "no_success").days == 5


def test_a_success_older_than_the_cycle_does_not_count(admin_client):
    cluster = f.make_cluster()
    f.make_policy(cluster, schedule_days={"1": "full"})  # weekly: 7 + 1 days
    now = timezone.now()
    f.make_data_task(cluster, started_at=now - timedelta(days=8, hours=2), ended_at=now - timedelta(days=8, hours=1))
    assert page(admin_client)[1].protection.backed_up == 0
    f.make_data_task(cluster, started_at=now - timedelta(days=7, hours=2), ended_at=now - timedelta(days=7, hours=1))
    assert page(admin_client)[1].protection.backed_up == 1


def test_cycle_days_wraps_around_the_week_and_month():
    class P:
        def __init__(self, kind, days):
            self.schedule_kind, self.schedule_days = kind, dict.fromkeys(days, "full")

    assert metrics.cycle_days(P("weekly", ["1", "4"])) == 5
    assert metrics.cycle_days(P("weekly", [str(d) for d in range(1, 8)])) == 2
    assert metrics.cycle_days(P("monthly", ["1", "15"])) == 18
    assert metrics.cycle_days(P("weekly", [])) is None


def test_success_rate_of_the_week_from_the_rollups_and_its_lists(admin_client):
    cluster = f.make_cluster()
    f.make_policy(cluster)
    now = timezone.now()
    for n, status in enumerate([DataBackupStatus.COMPLETED] * 3 + [DataBackupStatus.FAILED]):
        finish(running_backup(cluster, n + 1), status, now=now - timedelta(minutes=n))
    # Ended 20 days ago: in the 30 days, not in the week.
    finish(running_backup(cluster, 24 * 20 + 1), DataBackupStatus.FAILED, now=now - timedelta(days=20))
    # Ended a minute before the week's first local midnight: within 7 × 24 hours, not in the week.
    week_start = metrics.local_midnight(metrics.day_of(now) - timedelta(days=metrics.WEEK - 1))
    before_week = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=week_start - timedelta(minutes=30))
    finish(before_week, DataBackupStatus.FAILED, now=week_start - timedelta(minutes=1))
    running_backup(cluster, 0)  # running: not in the rate
    _response, m = page(admin_client)
    assert (m.success.completed, m.success.failed, m.success.rate) == (3, 1, 75.0)
    assert sum(d[2] for d in m.success.daily) == 3
    assert list_count(admin_client, m.links["completed_week"]) == 3
    assert list_count(admin_client, m.links["failed_week"]) == 1
    assert list_count(admin_client, m.links["running_data"]) == m.running["data"] == 1


def test_the_rate_reads_rollups_not_rows(admin_client):
    # Rows written without the engine count once the rollups are rebuilt.
    cluster = f.make_cluster()
    f.make_data_task(cluster, status=DataBackupStatus.FAILED)
    assert page(admin_client)[1].success.failed == 0
    rebuild_rollups()
    assert page(admin_client)[1].success.failed == 1


def test_tenants_by_rpo_state_and_the_worst(admin_client, settings):
    settings.RPO_BREACHED_MINUTES = 60
    cluster = f.make_cluster(name="rpo")
    f.make_policy(cluster, log_delay_threshold_seconds=300)
    now = timezone.now()
    fresh, lagging, lost = (f.make_tenant(cluster, name=n) for n in ("fresh", "lagging", "lost"))
    for tenant, age in ((fresh, 30), (lagging, 1200)):
        RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1),
                                           end=now - timedelta(seconds=age))
    scratch = f.make_tenant(cluster, name="drill_7")  # a drill's scratch tenant: not counted
    RestoreDrillRun.objects.create(policy_name="daily", due_at=now, started_at=now, scratch_tenant=scratch)
    _response, m = page(admin_client)
    assert m.rpo.counts == {"ok": 1, "warning": 1, "breached": 1}
    assert m.rpo.worst.tenant == "lost" and m.rpo.worst.rpo.seconds is None
    assert metrics.rpo_distribution(m.rpo) == [1, 0, 0, 1, 0, 1]  # 30 s, 20 min, nothing
    lists = {state: m.rpo.of(state) for state in ("ok", "warning", "breached")}
    assert {state: count for state, _label, count, _rows in m.rpo_lists} == m.rpo.counts
    assert [t.tenant for t in lists["warning"]] == ["lagging"]
    body = page(admin_client)[0].content.decode()
    for state, tenants in lists.items():
        section = re.search(rf'<details id="m-rpo-{state}".*?</details>', body, re.S).group(0)
        assert section.count("<tr>") - 1 == len(tenants) == m.rpo.counts[state]
        for t in tenants:  # each row: the tenant, linking to its cluster's recovery page, and its RPO in words
            rpo = "nothing to restore to" if t.rpo.seconds is None else readable_delay(t.rpo.seconds)
            assert f'<a href="/clusters/{cluster.pk}/recovery/">{t.tenant}</a></td><td>{cluster.name}</td><td>{rpo}</td>' in section


def test_log_backups_over_their_delay_threshold(admin_client):
    now = timezone.now()
    late = f.make_cluster(name="late")
    policy = f.make_policy(late, log_delay_threshold_seconds=60)
    f.make_log_task(late, policy=policy, latest_point=now - timedelta(minutes=10))
    later = f.make_cluster(name="later")
    f.make_log_task(later, latest_point=now - timedelta(hours=1))  # no policy: the default 300 s
    f.make_log_task(f.make_cluster(), latest_point=now - timedelta(seconds=20))  # in time
    f.make_log_task(f.make_cluster(), status=LogBackupStatus.STOPPED, latest_point=now - timedelta(days=1))
    response, m = page(admin_client)
    assert [lag.task.cluster.name for lag in m.lagging] == ["later", "late"]
    section = re.search(r'<details id="m-log-lag".*?</details>', response.content.decode(), re.S).group(0)
    assert section.count("<tr>") - 1 == 2
    lag = m.lagging[1]  # each row: the cluster, linking to its log backup, its delay and its threshold in words
    assert (f'<a href="/backups/logs/{lag.task.pk}/">late</a></td><td>{readable_delay(lag.seconds)}</td>'
            f'<td>1 min</td>') in section


def test_running_work_and_their_lists(admin_client):
    cluster = f.make_cluster()
    running_backup(cluster, 1)
    f.make_restore_task(cluster)
    f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING)
    f.make_cleanup_task(cluster, status=CleanupStatus.NOT_STARTED)
    longest = running_backup(f.make_cluster(), 3)
    DataBackupTask.objects.filter(pk=longest.pk).update(progress=50, updated_at=timezone.now() - timedelta(hours=1))
    older_restore = f.make_restore_task(cluster, started_at=timezone.now() - timedelta(hours=2), finished_bytes=2**30)
    response, m = page(admin_client)
    assert m.running == {"data": 2, "restore": 2, "cleanup": 1}
    for kind in ("data", "restore", "cleanup"):
        assert list_count(admin_client, m.links[f"running_{kind}"]) == m.running[kind]
    # The longest running of each kind, with its progress and estimated finish:
    # 50 % in the 2 hours it had when it last reported, so 4 hours in all.
    shown = m.longest_running
    assert shown["data"][0].pk == longest.pk and shown["data"][1] == 50
    assert abs((shown["data"][2] - (longest.started_at + timedelta(hours=4))).total_seconds()) < 5
    assert shown["restore"][0].pk == older_restore.pk and shown["restore"][1] == 10
    assert shown["cleanup"][1] is None
    body = response.content.decode()
    assert f'href="/backups/data/{longest.pk}/">#{longest.pk}</a>' in body and "50%" in body


def drill(status, started, minutes=20):
    """A restore drill run started at ``started`` (ended ``minutes`` later unless running)."""
    ended = None if status == "running" else started + timedelta(minutes=minutes)
    return RestoreDrillRun.objects.create(
        policy_name="weekly", due_at=started, started_at=started, ended_at=ended, status=status,
        failure_reason="check failed" if status == "failed" else "")


def drill_figures(client):
    _response, m = page(client)
    lists = (list_count(client, m.links["drills_succeeded"]), list_count(client, m.links["drills_run"]))
    return (m.drills.succeeded, m.drills.run), lists


def test_restore_drills_this_week_all_failed(admin_client):
    now = timezone.now()
    for hours in (1, 30):
        drill("failed", now - timedelta(hours=hours))
    assert drill_figures(admin_client) == ((0, 2), (0, 2))


def test_restore_drills_this_week_mixed_and_their_lists(admin_client):
    now = timezone.now()
    week_start = metrics.local_midnight(metrics.day_of(now) - timedelta(days=metrics.WEEK - 1))
    for status, at in (("succeeded", now - timedelta(hours=2)), ("succeeded", week_start + timedelta(minutes=1)),
                       ("failed", now - timedelta(hours=5)), ("running", now - timedelta(minutes=3))):
        drill(status, at)
    drill("succeeded", week_start - timedelta(hours=2))  # ended before the week: not counted, not listed
    drill("failed", week_start - timedelta(days=3))
    figures, lists = drill_figures(admin_client)
    assert figures == lists == (2, 4)
    assert page(admin_client)[1].drills.since == week_start
    body = page(admin_client)[0].content.decode()
    assert "Restore drills succeeded this week" in body and "4 drills run this week" in body


def test_cluster_lists_hold_as_many_rows_as_the_figures(admin_client):
    f.make_cluster()
    ok = f.make_cluster()
    f.make_policy(ok)
    finish(running_backup(ok, 2), DataBackupStatus.COMPLETED)
    response, m = page(admin_client)
    body = response.content.decode()
    for anchor, figure in (("m-backed-up", m.protection.backed_up), ("m-not-backed-up", len(m.protection.not_backed_up))):
        section = re.search(rf'<details id="{anchor}".*?</details>', body, re.S).group(0)
        assert section.count("<tr>") - 1 == figure == 1
    # Each row: the cluster, linking to its page, why it is not backed up, and its last success.
    backed, = (item for item in m.protection.clusters if item.backed_up)
    lacking, = m.protection.not_backed_up
    assert f'<a href="/clusters/{ok.pk}/">{ok.name}</a></td><td>{timezone.localtime(backed.last_success):%Y-%m-%d %H:%M}</td>' in body
    assert f'<a href="/clusters/{lacking.cluster.pk}/">{lacking.cluster.name}</a></td><td>No backup policy</td><td>—</td>' in body


def test_the_charts_get_their_numbers_as_json(admin_client):
    cluster = f.make_cluster()
    finish(running_backup(cluster, 1), DataBackupStatus.COMPLETED, size_bytes=3 * 2**30)
    response, _m = page(admin_client)
    data = json.loads(re.search(r'<script id="metrics-chart-data" type="application/json">(.*?)</script>',
                                response.content.decode(), re.S).group(1))
    assert len(data["days"]) == metrics.DAYS
    assert data["completed"][-1] == 1 and data["failed"][-1] == 0 and data["gib"][-1] == 3.0
    assert data["rpo"]["tenants"] == [0, 0, 0, 0, 0, 0]


def test_the_other_lists_and_live_refreshes_compute_no_metrics(admin_client):
    assert "metrics" not in admin_client.get("/backups/data/").context
    response = admin_client.get(OVERVIEW, headers={"HX-Request": "true"})
    assert "metrics" not in response.context


def test_metrics_in_chinese(admin_client):
    admin_client.cookies["django_language"] = "zh-hans"
    body = admin_client.get(OVERVIEW, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "核心指标" in body and "已备份集群" in body


# --- A constant number of queries ----------------------------------------------------------


def queries(client):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(OVERVIEW).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("more", [1, 4])
def test_the_overview_costs_a_constant_number_of_queries(admin_client, more):
    baseline = queries(admin_client)
    now = timezone.now()
    for n in range(more):
        cluster = f.make_cluster()
        policy = f.make_policy(cluster)
        tenant = f.make_tenant(cluster)
        finish(running_backup(cluster, 5), DataBackupStatus.FAILED if n % 2 else DataBackupStatus.COMPLETED)
        running_backup(cluster, 1)
        log = f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(hours=2))
        RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1), round=log)
        f.make_restore_task(cluster)
        f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING)
        drill("succeeded" if n % 2 else "failed", now - timedelta(hours=n + 1))
    assert queries(admin_client) == baseline
    assert baseline <= 17  # 15, the navigation's open-alert count and the open-alerts panel


# --- No scan of the history (PostgreSQL, 100,000 tasks of every kind) -------------------------


@pytest.mark.django_db
def test_the_metrics_read_no_history(big_estate):
    """Every query of the metrics reads the task tables through an index, and
    a few thousand rows at most, out of half a million: the rollups and the
    current state, never the history."""
    from backups.models import TASK_MODELS

    tables = {model._meta.db_table for model in TASK_MODELS.values()}
    with CaptureQueriesContext(connection) as captured:
        m = metrics.core_metrics()
    assert m.success.finished > 0 and m.protection.clusters
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
            plan = cursor.fetchone()[0][0]["Plan"]
        for table in tables:
            scans = [n["Node Type"] for n in plan_nodes(plan) if n.get("Relation Name") == table]
            assert "Seq Scan" not in scans, (table, query["sql"])
            assert rows_read(plan, table) < 5_000, (table, rows_read(plan, table), query["sql"])
