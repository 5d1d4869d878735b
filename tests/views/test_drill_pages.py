"""The restore drills page (/backups/drills/): policies and their runs, the
policy form with every refusal on its field, the buttons, roles and the audit trail."""

import random
import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backups.choices import DataBackupStatus, DrillStatus
from backups.engine import drills
from backups.engine.outcomes import details_of
from backups.engine.transitions import transition
from backups.models import AuditEntry, DataBackupTask, RestoreDrillPolicy, RestoreDrillRun, RestoreTask
from tests import factories as f
from tests.views.test_roles import snapshot

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
LIST = reverse("backups:drill_list")
NEW = reverse("backups:drill_create")


def at(hours):
    return NOW + timedelta(hours=hours)


@pytest.fixture
def estate():
    source = f.make_cluster(name="prod")
    tenant = f.make_tenant(source, name="sales")
    target = f.make_cluster(name="scratch")
    f.make_log_task(source, started_at=at(-30), latest_point=at(-1))
    full = f.make_data_task(source, started_at=at(-20), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-19), progress=100)
    policy = RestoreDrillPolicy.objects.create(name="weekly-prod", target_cluster=target, run_at=time(3), schedule_days=[1, 4])
    policy.clusters.set([source])
    return {"source": source, "tenant": tenant, "target": target, "policy": policy}


def form(estate, **changes):
    data = {"name": "nightly", "enabled": "on", "clusters": [estate["source"].pk], "run_at": "04:15",
            "target_cluster": estate["target"].pk, "keep_hours": "12", **{f"day_{d}": "on" for d in range(1, 8)}}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def listed(response):
    return [row.record.pk for row in response.context["table"].paginated_rows]


def test_the_page_lists_policies_and_runs_with_their_columns(client_as, estate):
    ok = drills.run_drill(estate["policy"].pk, at(-2), rng=random.Random(1))
    RestoreDrillRun.objects.filter(pk=ok.pk).update(status=DrillStatus.SUCCEEDED, ended_at=at(-1.5), recovery_seconds=125,
                                                    check_code="drill_checked",
                                                    check_params={"tenant": "drill_1", "cluster": "scratch", "time": "T"})
    bare = f.make_cluster(name="bare")
    empty = RestoreDrillPolicy.objects.create(name="empty", target_cluster=estate["target"], run_at=time(5), schedule_days=[1])
    empty.clusters.set([bare])
    failed = drills.run_drill(empty.pk, at(-1), rng=random.Random(1))
    client = client_as("viewer")
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "weekly-prod" in body and "Mon, Thu · 03:00" in body and "kept 24 hours" in body
    row = re.search(rf'<tr[^>]*data-drill="{ok.pk}".*?</tr>', body, re.S).group(0)
    for text in (f">{ok.pk}<", "weekly-prod", "prod</a> / sales", f"drill_{ok.pk}", "2 min 5 s", "Succeeded",
                 f'href="/backups/restores/{ok.restore_task_id}/"', "Tenant drill_1 exists on scratch, restored to T.",
                 timezone.localtime(ok.restore_point).strftime("%Y-%m-%d %H:%M:%S")):
        assert text in row, text
    failed_row = re.search(rf'<tr[^>]*data-drill="{failed.pk}".*?</tr>', body, re.S).group(0)
    assert "Failed" in failed_row and "No recoverable tenant" in failed_row
    # Filters: status and cluster.
    assert listed(client.get(LIST, {"status": "failed"})) == [failed.pk]
    assert listed(client.get(LIST, {"cluster": estate["source"].pk})) == [ok.pk]
    # A time range that ends before both started: nothing.
    early = client.get(LIST, {"range": "custom", "start": (NOW - timedelta(days=5)).date().isoformat(),
                              "end": (NOW - timedelta(days=3)).date().isoformat()})
    assert listed(early) == []
    assert listed(client.get(LIST)) == [failed.pk, ok.pk]
    assert client.get(LIST, {"status": "nonsense"}).status_code == 400


def test_the_page_costs_the_same_queries_for_more_runs(client_as, estate, django_assert_max_num_queries):
    client = client_as("admin")
    for hours in range(3):
        drills.run_drill(estate["policy"].pk, at(-hours), rng=random.Random(hours))
    client.get(LIST)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for hours in range(3, 15):
        drills.run_drill(estate["policy"].pk, at(-hours), rng=random.Random(hours))
    with django_assert_max_num_queries(len(few)):
        assert client.get(LIST).status_code == 200


def test_an_operator_creates_a_policy_with_its_beat_entry_and_audit_row(client_as, estate):
    response = client_as("operator").post(NEW, form(estate))
    assert response.status_code == 302 and response["Location"] == LIST
    policy = RestoreDrillPolicy.objects.get(name="nightly")
    assert list(policy.clusters.all()) == [estate["source"]] and policy.schedule_days == [1, 2, 3, 4, 5, 6, 7]
    assert policy.keep_hours == 12 and policy.run_at == time(4, 15)
    entry = PeriodicTask.objects.get(pk=policy.periodic_task_id)
    assert entry.enabled and entry.crontab.hour == "4" and entry.crontab.day_of_week == "*"
    audit = AuditEntry.objects.get(action=AuditEntry.Action.DRILL_POLICY_CREATE)
    assert audit.actor_name == "operator" and details_of(audit) == f"Restore drill policy #{policy.pk}: nightly."


def test_an_edit_is_audited_old_to_new(client_as, estate):
    policy = estate["policy"]
    client = client_as("operator")
    response = client.post(reverse("backups:drill_edit", args=[policy.pk]),
                           form(estate, name="weekly-prod", keep_hours="48", day_2="on"))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.keep_hours == 48
    text = details_of(AuditEntry.objects.get(action=AuditEntry.Action.DRILL_POLICY_EDIT))
    assert "Scratch tenant kept (hours): 24 → 48" in text and "Drill days:" in text


@pytest.mark.parametrize("changes, field, words", [
    ({"keep_hours": "0"}, "keep_hours", "greater than or equal to 1"),
    ({"keep_hours": "721"}, "keep_hours", "less than or equal to 720"),
    ({"clusters": None}, "clusters", "Choose at least one cluster, or all clusters."),
    ({"target_cluster": "999999"}, "target_cluster", "Select a valid choice"),
    ({"target_cluster": "maintenance"}, "target_cluster", "is maintenance: scratch tenants need a running cluster"),
    ({**{f"day_{d}": None for d in range(1, 8)}}, "day_1", "Pick at least one day for the drills."),
    ({"name": "weekly-prod"}, "name", "A restore drill policy with this name already exists."),
    ({"run_at": "25:00"}, "run_at", "Enter a valid time"),
    ({"surprise": "1"}, "__all__", "Unknown parameter(s): surprise"),
])
def test_every_refusal_shows_its_message_on_its_field_and_writes_nothing(client_as, estate, changes, field, words):
    if changes.get("target_cluster") == "maintenance":
        changes = {"target_cluster": f.make_cluster(name="down", status="maintenance").pk}
    client = client_as("operator")
    before = snapshot()
    response = client.post(NEW, form(estate, **changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and any(words in e for e in errors[field]), errors
    assert words.split("(")[0] in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert snapshot() == before


def test_all_clusters_needs_no_chosen_cluster(client_as, estate):
    assert client_as("operator").post(NEW, form(estate, clusters=None, all_clusters="on")).status_code == 302
    assert RestoreDrillPolicy.objects.get(name="nightly").all_clusters


def test_disable_enable_delete_are_audited_and_follow_beat(client_as, estate):
    policy = estate["policy"]
    client = client_as("operator")
    client.post(reverse("backups:drill_disable", args=[policy.pk]))
    policy.refresh_from_db()
    assert not policy.enabled and PeriodicTask.objects.get(pk=policy.periodic_task_id).enabled is False
    response = client.post(reverse("backups:drill_disable", args=[policy.pk]), follow=True)
    assert "is already disabled" in response.content.decode()
    client.post(reverse("backups:drill_enable", args=[policy.pk]))
    policy.refresh_from_db()
    assert policy.enabled and PeriodicTask.objects.get(pk=policy.periodic_task_id).enabled
    run = drills.run_drill(policy.pk, at(0), rng=random.Random(1))
    entry = policy.periodic_task_id
    client.post(reverse("backups:drill_delete", args=[policy.pk]))
    assert not RestoreDrillPolicy.objects.exists() and not PeriodicTask.objects.filter(pk=entry).exists()
    run.refresh_from_db()
    assert run.policy is None and run.policy_name == "weekly-prod"  # the run stays, under the policy's name
    done = list(AuditEntry.objects.filter(outcome="done").order_by("id").values_list("action", flat=True))
    assert done == ["drill_policy_disable", "drill_policy_enable", "drill_policy_delete"]
    refused = AuditEntry.objects.get(outcome="refused")
    assert refused.action == "drill_policy_disable" and "already disabled" in details_of(refused)
    trail = client_as("admin", "auditor").get(reverse("backups:audit_list")).content.decode()
    assert f"Restore drill policy #{policy.pk}" in trail and "Delete restore drill policy" in trail


def test_run_now_starts_a_drill_and_is_audited(client_as, estate):
    client = client_as("operator")
    response = client.post(reverse("backups:drill_run", args=[estate["policy"].pk]), follow=True)
    run = RestoreDrillRun.objects.get()
    assert run.status == DrillStatus.RUNNING and RestoreTask.objects.get(pk=run.restore_task_id).new_tenant_name == f"drill_{run.pk}"
    assert f"Restore drill #{run.pk} started: sales to" in response.content.decode()
    audit = AuditEntry.objects.get(action=AuditEntry.Action.DRILL_RUN_NOW)
    assert audit.actor_name == "operator" and details_of(audit) == f"Restore drill #{run.pk} of policy weekly-prod."
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.RESTORE_START).exists()


def test_run_now_with_nothing_to_restore_records_a_failed_drill_and_warns(client_as, estate):
    bare = f.make_cluster(name="bare")
    estate["policy"].clusters.set([bare])
    response = client_as("operator").post(reverse("backups:drill_run", args=[estate["policy"].pk]), follow=True)
    body = response.content.decode()
    assert "alert-warning" in body and "No recoverable tenant" in body
    assert RestoreDrillRun.objects.get().status == DrillStatus.FAILED


def test_a_viewer_sees_but_is_offered_no_button_and_cannot_post(client_as, estate):
    client = client_as("viewer")
    body = client.get(LIST).content.decode()
    assert "weekly-prod" in body
    assert "/backups/drills/new/" not in body and "/run/" not in body and "/edit/" not in body and "/delete/" not in body
    before = snapshot()
    pk = estate["policy"].pk
    for name in ("drill_run", "drill_disable", "drill_delete", "drill_edit"):
        assert client.post(reverse(f"backups:{name}", args=[pk]), form(estate)).status_code == 403, name
    assert client.post(NEW, form(estate)).status_code == 403 and client.get(NEW).status_code == 403
    assert snapshot() == before
    forbidden = set(AuditEntry.objects.filter(outcome="forbidden").values_list("action", flat=True))
    assert forbidden == {"drill_run_now", "drill_policy_disable", "drill_policy_delete", "drill_policy_edit",
                         "drill_policy_create"}


def test_an_operator_is_offered_every_button(client_as, estate):
    body = client_as("operator").get(LIST).content.decode()
    pk = estate["policy"].pk
    for address in ("/backups/drills/new/", f"/backups/drills/{pk}/run/", f"/backups/drills/{pk}/edit/",
                    f"/backups/drills/{pk}/disable/", f"/backups/drills/{pk}/delete/"):
        assert address in body, address


def test_the_overview_links_the_drills_beside_restore_tasks(client_as, estate):
    body = client_as("viewer").get(reverse("backups:restore_list")).content.decode()
    assert re.search(r'data-tab="restores">[^<]*</a>\s*</li>\s*<li class="nav-item"><a class="nav-link" href="/backups/drills/"', body)


def test_the_page_reads_in_chinese(client_as, estate):
    client = client_as("viewer")
    body = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "恢复抽检" in body


def test_the_admin_edits_policies_and_only_shows_drills(client_as, estate):
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(1))
    client = client_as("admin")
    assert client.get("/admin/backups/restoredrillpolicy/").status_code == 200
    assert client.get(f"/admin/backups/restoredrillpolicy/{estate['policy'].pk}/change/").status_code == 200
    assert client.get("/admin/backups/restoredrillrun/").status_code == 200
    page = client.get(f"/admin/backups/restoredrillrun/{run.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read-only: the engine writes runs
    assert client.get("/admin/backups/restoredrillrun/add/").status_code == 403
    assert client.post(f"/admin/backups/restoredrillrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RestoreDrillRun.objects.filter(pk=run.pk).exists()


@pytest.mark.parametrize("value", ["a%00b", "7" * 10_000, "%E5%82%99%F0%9F%98%80", "-1", "99999999999999999999999"])
def test_hostile_query_strings_never_break_the_page(client_as, estate, value):
    client = client_as("viewer")
    for param in ("range", "start", "end", "status", "cluster", "page", "per_page", "sort"):
        assert client.get(f"{LIST}?{param}={value}").status_code < 500, param
