"""/metrics (backups/views/prometheus.py): it parses with prometheus_client's
own parser, its values equal what the pages show for hand-built data, the
bearer token guards it, and a scrape costs a constant number of queries."""

import logging
import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from backups.choices import AlertSeverity, AlertStatus, CleanupStatus, DataBackupStatus, LogBackupStatus, PolicyState
from backups.engine import metrics
from backups.engine.transitions import transition
from backups.models import Alert, CleanupTask, DailyRollup, DataBackupTask, RecoverableInterval
from tests import factories as f
from tests.clock import frozen

URL = "/metrics"
TOKEN = "s3cret-scrape-token-0123456789"
P = "backup_console_"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    response = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    return response


def samples(client):
    """{(sample name, frozenset of labels): value} of one scrape, read by prometheus_client's parser."""
    text = scrape(client).content.decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found, name, **labels):
    return found[P + name, frozenset(labels.items())]


def finish(task, status, now=None):
    fields = {"failure_reason": "storage unreachable"} if status == DataBackupStatus.FAILED else {}
    transition(type(task), task.pk, status, cause="test", now=now, **fields)


# --- The token guard -------------------------------------------------------------------------


def test_it_is_off_without_a_token(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(URL).status_code == 404
    assert client.get(URL, headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer"])
def test_a_missing_or_wrong_token_is_refused(client, db, token, header):
    response = client.get(URL, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert P not in response.content.decode()


def test_the_right_token_needs_no_session_and_is_never_logged(client, db, token, caplog):
    with caplog.at_level(logging.DEBUG):
        response = scrape(client)
        client.get(URL, headers={"Authorization": "Bearer wrong-" + TOKEN})
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "sessionid" not in response.cookies
    assert all(TOKEN not in record.getMessage() for record in caplog.records)
    assert client.post(URL, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


# --- Its values are the console's --------------------------------------------------------------


def test_rpo_equals_the_overview_and_the_recovery_page(admin_client, token, settings):
    settings.RPO_BREACHED_MINUTES = 60
    cluster = f.make_cluster(name="rpo")
    f.make_policy(cluster, log_delay_threshold_seconds=300)
    with frozen() as now:
        fresh, lagging, lost = (f.make_tenant(cluster, name=n) for n in ("fresh", "lagging", "lost"))
        for tenant, age in ((fresh, 30), (lagging, 4000)):
            RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1),
                                               end=now - timedelta(seconds=age))
        found = samples(admin_client)
        overview = {t.tenant: t.rpo for t in admin_client.get("/backups/").context["metrics"].rpo.tenants}
        page = {s["tenant"].name: s["rpo"] for s in admin_client.get(f"/clusters/{cluster.pk}/recovery/").context["sections"]}
    for name, seconds in (("fresh", 30.0), ("lagging", 4000.0)):
        assert value(found, "tenant_rpo_seconds", cluster="rpo", tenant=name) == seconds
        assert overview[name].seconds == page[name].seconds == seconds
    assert value(found, "tenant_rpo_seconds", cluster="rpo", tenant="lost") == math.inf
    assert overview["lost"].seconds is page["lost"].seconds is None
    assert value(found, "cluster_rpo_seconds", cluster="rpo") == math.inf
    breached = {name: value(found, "tenant_rpo_breached", cluster="rpo", tenant=name) for name in page}
    assert breached == {name: int(rpo.state == "breached") for name, rpo in page.items()} == {
        "fresh": 0, "lagging": 1, "lost": 1}


def test_a_clusters_rpo_is_its_worst_tenants(admin_client, token):
    cluster = f.make_cluster(name="two")
    now = timezone.now()
    for name, age in (("a", 100), ("b", 700)):
        RecoverableInterval.objects.create(cluster=cluster, tenant=f.make_tenant(cluster, name=name),
                                           start=now - timedelta(days=1), end=now - timedelta(seconds=age))
    assert 700 <= value(samples(admin_client), "cluster_rpo_seconds", cluster="two") < 760


def test_log_delay_equals_the_log_list(admin_client, token):
    late = f.make_cluster(name="late")
    policy = f.make_policy(late, log_delay_threshold_seconds=60)
    tenant = f.make_tenant(late, name="t1")
    with frozen() as now:
        task = f.make_log_task(late, policy=policy, tenant=tenant, latest_point=now - timedelta(seconds=605))
        other = f.make_cluster(name="default-threshold")
        f.make_log_task(other, latest_point=now - timedelta(seconds=42))
        f.make_log_task(f.make_cluster(name="stopped"), status=LogBackupStatus.STOPPED, latest_point=now - timedelta(days=1))
        found = samples(admin_client)
        rows = {row.pk: row for row in admin_client.get("/backups/logs/?range=all").context["rows"]}
    assert value(found, "log_backup_delay_seconds", cluster="late", tenant="t1") == 605.0
    assert value(found, "log_backup_delay_threshold_seconds", cluster="late", tenant="t1") == 60
    assert (rows[task.pk].delay, rows[task.pk].delay_alert) == ("10 min 5 s", True)
    assert value(found, "log_backup_delay_seconds", cluster="default-threshold", tenant="") == 42.0
    assert value(found, "log_backup_delay_threshold_seconds", cluster="default-threshold", tenant="") == 300
    # A stopped log backup has no live delay: it is not exported.
    assert not [key for key in found if ("cluster", "stopped") in key[1] and "log_backup" in key[0]]
    # The overview's lagging list is the live ones over their threshold.
    assert [lag.seconds for lag in metrics.lagging_logs(now)] == [605.0]


def test_finished_tasks_are_the_rollups_summed_over_every_day(admin_client, token):
    cluster = f.make_cluster(name="counted")
    f.make_policy(cluster)
    now = timezone.now()
    for n, status in enumerate([DataBackupStatus.COMPLETED] * 3 + [DataBackupStatus.FAILED]):
        task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(hours=n + 2),
                                size_bytes=1000)
        finish(task, status, now=now - timedelta(hours=n + 1))
    old = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(days=40, hours=1))
    finish(old, DataBackupStatus.FAILED, now=now - timedelta(days=40))  # outside every page's window, still counted
    cleanup = f.make_cleanup_task(cluster, status=CleanupStatus.RUNNING, ended_at=None)
    transition(CleanupTask, cleanup.pk, CleanupStatus.COMPLETED, cause="test")
    found = samples(admin_client)
    assert value(found, "tasks_finished_total", cluster="counted", kind="data", outcome="completed") == 3
    assert value(found, "tasks_finished_total", cluster="counted", kind="data", outcome="failed") == 2
    assert value(found, "tasks_finished_total", cluster="counted", kind="cleanup", outcome="completed") == 1
    assert value(found, "tasks_written_bytes_total", cluster="counted", kind="data", outcome="completed") == 3000
    # The rollups the overview reads, summed over their days.
    m = admin_client.get("/backups/").context["metrics"]
    assert (m.success.completed, m.success.failed) == (3, 1)
    total = sum(DailyRollup.objects.filter(cluster=cluster, kind="data", outcome="failed").values_list("count", flat=True))
    assert total == 2


def test_open_alerts_by_severity(admin_client, token):
    cluster, quiet = f.make_cluster(name="alerted"), f.make_cluster(name="quiet")
    tenant = f.make_tenant(cluster, name="t1")
    now = timezone.now()

    def alert(rule, severity, cluster=None, tenant=None, status=AlertStatus.OPEN, subject=None):
        Alert.objects.create(rule=rule, severity=severity, status=status, cluster=cluster, tenant=tenant,
                             subject=subject or f"x:{Alert.objects.count()}", started_at=now - timedelta(hours=1),
                             ended_at=now if status == AlertStatus.RESOLVED else None)

    alert("data_failed", AlertSeverity.CRITICAL, cluster)
    alert("log_delay", AlertSeverity.CRITICAL, cluster)
    alert("rpo_breached", AlertSeverity.WARNING, cluster, tenant)
    alert("data_failed", AlertSeverity.CRITICAL, cluster, status=AlertStatus.RESOLVED)  # resolved: not counted
    alert("storage_full", AlertSeverity.INFO, subject="destination:1")  # of no one cluster
    found = samples(admin_client)
    fleet = {s: value(found, "open_alerts", severity=s) for s in ("critical", "warning", "info")}
    assert fleet == {"critical": 2, "warning": 1, "info": 1}
    assert sum(fleet.values()) == Alert.objects.filter(status=AlertStatus.OPEN).count()
    assert {s: value(found, "cluster_open_alerts", cluster="alerted", severity=s) for s in fleet} == {
        "critical": 2, "warning": 1, "info": 0}
    assert {s: value(found, "cluster_open_alerts", cluster=quiet.name, severity=s) for s in fleet} == dict.fromkeys(fleet, 0)
    assert value(found, "tenant_open_alerts", cluster="alerted", tenant="t1", severity="warning") == 1


def test_last_success_and_protection_equal_the_overview(admin_client, token):
    now = timezone.now()
    ok = f.make_cluster(name="ok")
    f.make_policy(ok)
    done = f.make_data_task(ok, started_at=now - timedelta(hours=3), ended_at=now - timedelta(hours=2, minutes=7))
    f.make_data_task(ok, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=1))  # newer, failed
    paused = f.make_cluster(name="paused")
    f.make_policy(paused, state=PolicyState.PAUSED)
    f.make_cluster(name="never")
    found = samples(admin_client)
    overview = {item.cluster.name: item for item in admin_client.get("/backups/").context["metrics"].protection.clusters}
    assert value(found, "cluster_last_data_backup_success_timestamp_seconds", cluster="ok") == pytest.approx(
        done.ended_at.timestamp()) == pytest.approx(overview["ok"].last_success.timestamp())
    assert (P + "cluster_last_data_backup_success_timestamp_seconds", frozenset({("cluster", "never")})) not in found
    for name in ("ok", "paused", "never"):
        assert value(found, "cluster_backed_up", cluster=name) == int(overview[name].backed_up)
    assert [value(found, "cluster_backup_policy_active", cluster=n) for n in ("ok", "paused", "never")] == [1, 0, 0]


def test_a_tenants_last_success_is_its_own_or_its_clusters(admin_client, token):
    now = timezone.now()
    cluster = f.make_cluster(name="multi")
    own, other = f.make_tenant(cluster, name="own"), f.make_tenant(cluster, name="other")
    whole = f.make_data_task(cluster, started_at=now - timedelta(days=2), ended_at=now - timedelta(days=2) + timedelta(minutes=9))
    mine = f.make_data_task(cluster, tenant=own, backup_method="logical", started_at=now - timedelta(hours=5),
                            ended_at=now - timedelta(hours=4))
    f.make_data_task(cluster, tenant=other, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=1))
    f.make_data_task(f.make_cluster(), started_at=now - timedelta(hours=2))  # another cluster's: not theirs
    f.make_tenant(f.make_cluster(name="bare"), name="none")
    found = samples(admin_client)
    name = "tenant_last_data_backup_success_timestamp_seconds"
    assert value(found, name, cluster="multi", tenant="own") == pytest.approx(mine.ended_at.timestamp())
    assert value(found, name, cluster="multi", tenant="other") == pytest.approx(whole.ended_at.timestamp())
    assert (P + name, frozenset({("cluster", "bare"), ("tenant", "none")})) not in found


def test_every_family_is_typed_and_documented(admin_client, token):
    f.make_cluster()
    text = scrape(admin_client).content.decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families[P + "tasks_finished"].type == "counter"
    assert families[P + "tenant_rpo_seconds"].type == "gauge"
    assert all(family.documentation for family in families.values())


# --- A constant number of queries ----------------------------------------------------------------


QUERIES = 8


def estate(n):
    now = timezone.now()
    for i in range(n):
        cluster = f.make_cluster()
        policy = f.make_policy(cluster)
        tenant = f.make_tenant(cluster)
        finish(f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(hours=3)),
               DataBackupStatus.FAILED if i % 2 else DataBackupStatus.COMPLETED, now=now - timedelta(hours=2))
        log = f.make_log_task(cluster, policy=policy, tenant=tenant if i % 2 else None, latest_point=now - timedelta(minutes=i))
        RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1), round=log)
        Alert.objects.create(rule="log_delay", severity="warning", subject=f"cluster:{cluster.pk}", cluster=cluster,
                             tenant=tenant, started_at=now)
        DailyRollup.objects.create(day=(now - timedelta(days=3 + i)).date(), cluster=cluster, kind="data",
                                   outcome="completed", count=i + 1, duration=timedelta(minutes=5))


def scrape_queries(client):
    with CaptureQueriesContext(connection) as captured:
        scrape(client)
    return len(captured.captured_queries)


@pytest.mark.parametrize("clusters", [1, 20])
def test_a_scrape_costs_a_constant_number_of_queries(client, db, token, clusters):
    estate(clusters)
    assert scrape_queries(client) == QUERIES
    assert DataBackupTask.objects.count() == clusters


def test_the_queries_do_not_grow_with_the_estate(client, db, token):
    estate(1)
    before = scrape_queries(client)
    estate(19)
    assert scrape_queries(client) == before
