"""The alert pages (告警): /alerts/ read like a task list (filters, constant
queries), an alert's page, acknowledging it (operators only, POST only,
audited, one winner of two), silencing a cluster for a maintenance window,
the navigation's count and the panels on the cluster page and the overview."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.choices import AlertRule, AlertSeverity, AlertStatus
from backups.engine import alert_actions
from backups.engine.services import ActionRefused
from backups.models import Alert, AuditEntry, ClusterSilence
from tests import factories as f
from tests.roles import user_in
from tests.views.test_roles import snapshot

pytestmark = pytest.mark.django_db

LIST = reverse("alerts:list")
NOW = timezone.now().replace(microsecond=0)


def ago(hours):
    return NOW - timedelta(hours=hours)


def make_alert(cluster, rule=AlertRule.DATA_FAILED, severity=AlertSeverity.CRITICAL, subject=None, started_at=None,
               ended_at=None, **kw):
    return Alert.objects.create(
        rule=rule, severity=severity, cluster=cluster, subject=subject or f"cluster:{cluster.pk}",
        started_at=started_at or ago(1), ended_at=ended_at,
        status=AlertStatus.RESOLVED if ended_at else AlertStatus.OPEN, **kw)


@pytest.fixture
def estate():
    prod = f.make_cluster(name="prod-a")
    sales = f.make_tenant(prod, name="sales")
    other = f.make_cluster(name="prod-b")
    task = f.make_data_task(prod, status="failed")
    failed = make_alert(prod, subject=f"data:{task.pk}", tenant=sales)
    delay = make_alert(other, AlertRule.LOG_DELAY, AlertSeverity.WARNING, started_at=ago(5), ended_at=ago(4),
                       value=900, threshold=300)
    old = make_alert(other, AlertRule.STORAGE_FULL, AlertSeverity.WARNING, subject="destination:7",
                     started_at=ago(24 * 20), ended_at=ago(24 * 19), value=93, threshold=90)
    return {"prod": prod, "other": other, "task": task, "failed": failed, "delay": delay, "old": old}


def listed(response):
    return [int(pk) for pk in re.findall(r'data-alert="(\d+)"', response.content.decode().split('id="live-rows"', 1)[1])]


def row_of(response, pk):
    return re.search(rf'<tr[^>]*data-alert="{pk}".*?</tr>', response.content.decode(), re.S).group(0)


# --- The list --------------------------------------------------------------------------


def test_the_list_shows_open_and_resolved_alerts_with_their_columns(client_as, estate):
    client = client_as("viewer")
    response = client.get(LIST)
    assert response.status_code == 200
    assert listed(response) == [estate["failed"].pk, estate["delay"].pk]  # the 7-day window, newest first
    failed = row_of(response, estate["failed"].pk)
    for text in ("Critical", "Data backup failed", f'href="/clusters/{estate["prod"].pk}/"', "sales",
                 f'href="/backups/data/{estate["task"].pk}/"', f"Data backup #{estate['task'].pk}", "Open"):
        assert text in failed, text
    delay = row_of(response, estate["delay"].pk)
    for text in ("Warning", "Log backup delay", "15 min", "/ 5 min", "1 h", ago(4).astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M:%S")):
        assert text in delay, text
    assert "2 alerts" in response.content.decode()


@pytest.mark.parametrize("query, expected", [
    ({"status": "open"}, ["failed"]),
    ({"status": "resolved"}, ["delay"]),
    ({"severity": "warning"}, ["delay"]),
    ({"severity": ["warning", "critical"]}, ["failed", "delay"]),
    ({"rule": "log_delay"}, ["delay"]),
    ({"rule": "storage_full", "range": "30d"}, ["old"]),
    ({"range": "all"}, ["failed", "delay", "old"]),
    ({"range": "24h"}, ["failed", "delay"]),
    ({"cluster": "prod"}, ["failed"]),
])
def test_each_filter_narrows_the_list(client_as, estate, query, expected):
    if query.get("cluster") == "prod":
        query = {**query, "cluster": estate["prod"].pk}
    response = client_as("viewer").get(LIST, query)
    assert response.status_code == 200
    assert listed(response) == [estate[name].pk for name in expected]


@pytest.mark.parametrize("query", [{"severity": "fatal"}, {"rule": "nope"}, {"status": "closed"}, {"cluster": "999999"}])
def test_a_bad_filter_answers_400_with_its_message(client_as, estate, query):
    response = client_as("viewer").get(LIST, query)
    assert response.status_code == 400
    assert "These filters cannot be applied" in response.content.decode()
    assert "is not one of the available choices" in response.content.decode()


def test_a_live_refresh_answers_only_the_rows(client_as, estate):
    response = client_as("viewer").get(LIST, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<nav" not in body and f'data-alert="{estate["failed"].pk}"' in body
    assert 'id="result-count"' in body


def test_the_export_holds_the_filtered_alerts(client_as, estate):
    response = client_as("viewer").get(LIST, {"_export": "csv", "range": "all", "severity": "warning"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 3, lines
    assert "Severity" in lines[0] and "Threshold" in lines[0] and "Text" in lines[0]
    assert "Backup storage over threshold" in text and "93 %" in text and "90 %" in text


def test_the_list_and_its_pages_cost_constant_queries(client_as, estate):
    client = client_as("viewer")
    client.get(LIST)
    counts = {}
    for address in (LIST, f"{LIST}?range=all", f"{LIST}?status=open&cluster={estate['prod'].pk}",
                    f"{LIST}?severity=warning&rule=log_delay", f"{LIST}?sort=-ended_at&per_page=10&page=2",
                    f"{LIST}?range=custom&start=2020-01-01"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        counts[address] = len(queries.captured_queries)
    for n in range(30):
        make_alert(estate["prod"], AlertRule.LOG_GAP, subject=f"log:{n}", started_at=ago(2 + n), ended_at=ago(1 + n))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{LIST}?range=all&per_page=100").status_code == 200
    counts["more rows"] = len(queries.captured_queries)
    # session, user, the user's and its groups' permissions, the admin-link check (every
    # page's for a viewer), cluster choices, the page with its capped count, the silences,
    # the navigation's count
    assert max(counts.values()) <= 9, counts
    assert len(set(counts.values())) == 1, f"not constant: {counts}"


# --- An alert's page ---------------------------------------------------------------------


def test_the_detail_page_shows_text_values_history_and_links(client_as, estate):
    alert = estate["delay"]
    response = client_as("viewer").get(reverse("alerts:detail", args=[alert.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Log backup delay: prod-b (15 min, threshold 5 min)" in body
    assert re.search(r"Opened.*Resolved", body.split('id="alert-history"')[1], re.S)
    assert f'href="/clusters/{estate["other"].pk}/"' in body
    assert 'id="acknowledge"' not in body  # a viewer, and a resolved alert


def test_a_missing_alert_is_404(client_as):
    assert client_as("viewer").get(reverse("alerts:detail", args=[999999])).status_code == 404


# --- Acknowledge -------------------------------------------------------------------------


def ack_url(alert):
    return reverse("alerts:acknowledge", args=[alert.pk])


def test_an_operator_acknowledges_with_a_note_and_it_is_audited(client_as, estate):
    alert = estate["failed"]
    client = client_as("operator")
    page = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert 'id="acknowledge"' in page
    response = client.post(ack_url(alert), {"note": "disk replaced, rerunning"}, follow=True)
    assert response.status_code == 200
    assert f"Alert #{alert.pk} acknowledged." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "operator" and alert.acknowledge_note == "disk replaced, rerunning"
    assert alert.acknowledged_at is not None and alert.status == AlertStatus.OPEN
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ALERT_ACKNOWLEDGE)
    assert entry.outcome == AuditEntry.Outcome.DONE and entry.actor_name == "operator"
    assert entry.cluster_id == estate["prod"].pk and entry.object_id == alert.pk
    # The list says who and when, with the note.
    row = row_of(client.get(LIST), alert.pk)
    assert "operator" in row and "disk replaced, rerunning" in row


@pytest.mark.parametrize("role", ["viewer", None])
def test_a_viewer_or_a_user_without_a_role_may_not_acknowledge(client_as, estate, role):
    alert = estate["failed"]
    client = client_as(role, role or "nobody")
    before = snapshot()
    response = client.post(ack_url(alert), {"note": "mine"})
    assert response.status_code == 403
    assert snapshot() == before
    if role == "viewer":
        assert AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_ACKNOWLEDGE,
                                         outcome=AuditEntry.Outcome.FORBIDDEN, object_id=alert.pk).exists()


def test_acknowledge_is_post_only(client_as, estate):
    response = client_as("operator").get(ack_url(estate["failed"]))
    assert response.status_code == 405
    assert Alert.objects.get(pk=estate["failed"].pk).acknowledged_at is None


def test_a_note_too_long_is_refused_on_its_field_and_nothing_is_written(client_as, estate):
    alert = estate["failed"]
    client = client_as("operator")
    before = snapshot()
    response = client.post(ack_url(alert), {"note": "x" * 501})
    assert response.status_code == 400
    assert "Ensure this value has at most 500 characters (it has 501)." in response.content.decode()
    assert snapshot() == before


def test_unknown_parameters_are_refused(client_as, estate):
    before = snapshot()
    response = client_as("operator").post(ack_url(estate["failed"]), {"note": "ok", "acknowledged_by": "1"})
    assert response.status_code == 400 and "Unknown parameter(s): acknowledged_by" in response.content.decode()
    assert snapshot() == before


def test_a_resolved_alert_cannot_be_acknowledged(client_as, estate):
    response = client_as("operator").post(ack_url(estate["delay"]), {"note": ""}, follow=True)
    assert "has resolved: there is nothing to acknowledge" in response.content.decode()
    assert Alert.objects.get(pk=estate["delay"].pk).acknowledged_at is None


def test_the_second_of_two_operators_is_told_who_was_first(client_as, estate):
    alert = estate["failed"]
    first = user_in("operator", "alice")
    alert_actions.acknowledge(alert.pk, first, "on it")
    response = client_as("operator", "bob").post(ack_url(alert), {"note": "me too"}, follow=True)
    body = response.content.decode()
    assert f"Alert #{alert.pk} was already acknowledged by alice at" in body
    alert.refresh_from_db()
    assert alert.acknowledged_by == first and alert.acknowledge_note == "on it"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_ACKNOWLEDGE, outcome=AuditEntry.Outcome.REFUSED,
                                     actor_name="bob").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_acknowledging_at_once_make_one_winner():
    cluster = f.make_cluster(name="race")
    alert = make_alert(cluster)
    users = [user_in("operator", f"op{n}") for n in range(2)]
    barrier, results = threading.Barrier(2), {}

    def press(user):
        barrier.wait()
        try:
            results[user.username] = alert_actions.acknowledge(alert.pk, user, f"by {user.username}")
        except ActionRefused as refused:
            results[user.username] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results.values() if isinstance(r, ActionRefused)]
    assert len(refused) == 1 and "was already acknowledged by" in str(refused[0])
    alert.refresh_from_db()
    winner = next(name for name, r in results.items() if not isinstance(r, ActionRefused))
    assert alert.acknowledged_by.username == winner and alert.acknowledge_note == f"by {winner}"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_ACKNOWLEDGE).count() == 1


# --- Silences ----------------------------------------------------------------------------


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def silence_data(**changes):
    """A window from now; a timedelta in ``changes`` is a moment that far from
    now, taken when the test runs (a module-level NOW would be minutes old by
    then, and "from" must not be in the past)."""
    now = timezone.now()
    data = {"starts_at": timedelta(minutes=1), "ends_at": timedelta(hours=3), "reason": "storage upgrade", **changes}
    return {key: local(now + value) if isinstance(value, timedelta) else value for key, value in data.items()}


def test_an_operator_silences_a_cluster_and_ends_it_now(client_as, estate):
    cluster = estate["prod"]
    client = client_as("operator")
    page = client.get(cluster.get_absolute_url()).content.decode()
    assert reverse("alerts:silence_create", args=[cluster.pk]) in page
    response = client.post(reverse("alerts:silence_create", args=[cluster.pk]), silence_data(), follow=True)
    assert response.status_code == 200 and "Alerts of prod-a are silenced until" in response.content.decode()
    silence = ClusterSilence.objects.get()
    assert silence.cluster == cluster and silence.reason == "storage upgrade" and silence.created_by.username == "operator"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CLUSTER_SILENCE, cluster=cluster).count() == 1
    body = response.content.decode()
    assert f'data-silence="{silence.pk}"' in body and "storage upgrade" in body
    assert f'data-silence="{silence.pk}"' in client.get(LIST).content.decode()
    # End now (it has not begun yet: it is removed).
    response = client.post(reverse("alerts:silence_end", args=[silence.pk]), follow=True)
    assert "The silence of prod-a has ended." in response.content.decode()
    assert not ClusterSilence.objects.filter(ends_at__gt=timezone.now()).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SILENCE_END, cluster=cluster).count() == 1


def test_ending_a_running_silence_keeps_it_with_its_end_now(client_as, estate):
    silence = ClusterSilence.objects.create(cluster=estate["prod"], starts_at=ago(1), ends_at=timezone.now() + timedelta(hours=1),
                                            reason="patching")
    client_as("operator").post(reverse("alerts:silence_end", args=[silence.pk]))
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now()
    response = client_as("operator", "op2").post(reverse("alerts:silence_end", args=[silence.pk]), follow=True)
    assert "has already ended" in response.content.decode()


@pytest.mark.parametrize("changes, message", [
    ({"ends_at": -timedelta(hours=1)}, "The silence must end after it starts."),
    ({"starts_at": -timedelta(hours=3), "ends_at": -timedelta(hours=1)}, "The silence must end in the future."),
    ({"starts_at": -timedelta(hours=3)}, "The silence cannot start in the past."),
    ({"ends_at": timedelta(days=8)}, "A silence lasts at most 7 days."),
    ({"reason": ""}, "This field is required."),
    ({"reason": "r" * 201}, "Ensure this value has at most 200 characters"),
    ({"ends_at": "tomorrow"}, "Enter a valid date/time."),
    ({"cluster": "3"}, "Unknown parameter(s): cluster"),
])
def test_a_bad_maintenance_window_is_refused_with_its_message(client_as, estate, changes, message):
    client = client_as("operator")
    before = snapshot()
    response = client.post(reverse("alerts:silence_create", args=[estate["prod"].pk]), silence_data(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


def test_a_viewer_may_not_silence_or_end_a_silence(client_as, estate):
    silence = ClusterSilence.objects.create(cluster=estate["prod"], starts_at=ago(1), ends_at=timezone.now() + timedelta(hours=1))
    client = client_as("viewer")
    before = snapshot()
    assert client.post(reverse("alerts:silence_create", args=[estate["prod"].pk]), silence_data()).status_code == 403
    assert client.get(reverse("alerts:silence_create", args=[estate["prod"].pk])).status_code == 403
    assert client.post(reverse("alerts:silence_end", args=[silence.pk])).status_code == 403
    assert snapshot() == before
    page = client.get(estate["prod"].get_absolute_url()).content.decode()
    assert f'data-silence="{silence.pk}"' in page
    assert reverse("alerts:silence_end", args=[silence.pk]) not in page


# --- The navigation's count and the panels -------------------------------------------------


def nav_count(body):
    match = re.search(r'id="nav-alerts".*?</a>', body, re.S).group(0)
    found = re.search(r'nav-alert-count"[^>]*>(\d+)\+?<', match)
    return int(found.group(1)) if found else 0


def test_the_navigation_counts_open_alerts_in_one_query(client_as, estate):
    client = client_as("viewer")
    page = reverse("backups:calendar")
    client.get(page)
    with CaptureQueriesContext(connection) as one:
        body = client.get(page).content.decode()
    assert nav_count(body) == 1
    for n in range(3):
        make_alert(estate["other"], AlertRule.LOG_GAP, subject=f"log:{n}")
    with CaptureQueriesContext(connection) as four:
        body = client.get(page).content.decode()
    assert nav_count(body) == 4
    assert len(one) == len(four)
    assert sum('"backups_alert"' in q["sql"] for q in four.captured_queries) == 1


def test_the_cluster_page_and_the_overview_show_open_alerts(client_as, estate):
    client = client_as("viewer")
    cluster_page = client.get(estate["prod"].get_absolute_url()).content.decode()
    panel = cluster_page.split('id="open-alerts"')[1].split("</section>")[0]
    assert f'data-alert="{estate["failed"].pk}"' in panel and f'data-alert="{estate["delay"].pk}"' not in panel
    assert f"cluster={estate['prod'].pk}" in panel
    other_page = client.get(estate["other"].get_absolute_url()).content.decode()
    assert "No open alerts." in other_page
    overview = client.get(reverse("backups:overview")).content.decode()
    assert f'data-alert="{estate["failed"].pk}"' in overview.split('id="open-alerts"')[1].split("</section>")[0]


def test_the_list_links_to_the_channels_for_admins_only(client_as, estate):
    channels = reverse("channels:list")
    assert f'href="{channels}"' in client_as("admin", "a1").get(LIST).content.decode()
    for role in ("operator", "viewer"):
        assert f'href="{channels}"' not in client_as(role, f"{role}-x").get(LIST).content.decode()
