"""The audit trail: every operator action and admin change is one row in the
same transaction (none for a refusal); the page filters by time range, user,
cluster and action without counting the trail; task pages show every event."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.choices import BackupMode
from backups.engine import services
from backups.models import AuditEntry, BackupPolicy, LogBackupTask, TaskEvent
from tests.roles import build_estate, policy_data, user_in

pytestmark = pytest.mark.django_db
A = AuditEntry.Action


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.SIM_FAILURE_RATE = 0


@pytest.fixture
def estate():
    return build_estate()


@pytest.fixture
def operator():
    return user_in("operator")


@pytest.fixture
def op_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def only_entry():
    (entry,) = AuditEntry.objects.all()
    return entry


# --- What is recorded ----------------------------------------------------------------------


def test_instant_backup_is_audited(op_client, operator, estate):
    op_client.post(reverse("backups:instant_backup"), {"cluster": estate["cluster"].pk, "mode": "incremental"})
    entry = only_entry()
    assert (entry.actor, entry.actor_name, entry.action, entry.cluster) == (operator, "operator", A.INSTANT_BACKUP, estate["cluster"])
    assert entry.content_type.model == "databackuptask" and "Incremental data backup #" in entry.message


def test_stop_and_start_are_audited(op_client, estate):
    op_client.post(reverse("backups:log_stop", args=[estate["log"].pk]))
    op_client.post(reverse("backups:log_start", args=[estate["stopped"].pk]))
    op_client.post(reverse("backups:secondary_log_stop", args=[estate["secondary_log"].pk]))
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "object_id", "cluster_id"))
    assert rows == [
        (A.LOG_STOP, estate["log"].pk, estate["cluster"].pk),
        (A.LOG_START, estate["stopped"].pk, estate["stopped"].cluster_id),
        (A.LOG_STOP, estate["secondary_log"].pk, estate["cluster"].pk),
    ]


def test_policy_create_edit_pause_resume_are_audited(op_client, estate):
    op_client.post(reverse("backups:policy_create"), policy_data(estate["bare"], estate["destination"], log_backup_enabled=None, backup_method="logical"))
    policy = BackupPolicy.objects.get(cluster=estate["bare"])
    op_client.post(reverse("backups:policy_edit", args=[policy.pk]),
                   policy_data(estate["bare"], estate["destination"], log_backup_enabled=None, backup_method="logical", retention_days="30"))
    op_client.post(reverse("backups:policy_pause", args=[policy.pk]))
    op_client.post(reverse("backups:policy_resume", args=[policy.pk]))
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "object_id"))
    assert rows == [(A.POLICY_CREATE, policy.pk), (A.POLICY_EDIT, policy.pk), (A.POLICY_PAUSE, policy.pk), (A.POLICY_RESUME, policy.pk)]
    assert "retention_days" in AuditEntry.objects.get(action=A.POLICY_EDIT).message


def test_refusals_are_not_audited(op_client, estate):
    op_client.post(reverse("backups:log_start", args=[estate["log"].pk]))  # not stopped
    op_client.post(reverse("backups:policy_resume", args=[estate["policy"].pk]))  # already active
    op_client.post(reverse("backups:instant_backup"), {"cluster": estate["bare"].pk, "mode": "full"})  # no policy
    op_client.post(reverse("backups:log_stop", args=[estate["log"].pk]), {"force": "1"})  # unknown parameter
    assert AuditEntry.objects.count() == 0


def test_an_audit_failure_rolls_the_action_back(op_client, estate, monkeypatch):
    """Same transaction: no change without its audit row."""
    from backups.engine import audit

    def broken(*args, **kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        services.stop_log_backup("log", estate["log"].pk, user_in("viewer"))
    assert LogBackupTask.objects.get(pk=estate["log"].pk).status == "in_progress"
    assert TaskEvent.objects.count() == 0


def test_admin_changes_to_tasks_are_audited(estate):
    admin = Client()
    admin.force_login(user_in("admin"))
    log = estate["log"]
    url = f"/admin/backups/logbackuptask/{log.pk}/change/"
    page = admin.get(url)
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({
        "cluster": log.cluster_id, "host": log.host_id, "backup_method": log.backup_method, "storage_directory": "/moved/clog",
        "started_at_0": log.started_at.strftime("%Y-%m-%d"), "started_at_1": log.started_at.strftime("%H:%M:%S"),
        "ended_at_0": "", "ended_at_1": "", "latest_point_0": "", "latest_point_1": "", "tenant": "", "policy": log.policy_id,
        "backups-taskevent-content_type-object_id-TOTAL_FORMS": "0", "backups-taskevent-content_type-object_id-INITIAL_FORMS": "0",
    })
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    entry = only_entry()
    assert (entry.action, entry.actor_name, entry.object_id, entry.cluster_id) == (A.ADMIN_CHANGE, "admin", log.pk, log.cluster_id)
    assert "Storage directory" in entry.message
    # A bulk delete from the changelist: one row per object.
    cleanup = estate["cleanup"]
    response = admin.post("/admin/backups/cleanuptask/", {"action": "delete_selected", "_selected_action": [cleanup.pk], "post": "yes"})
    assert response.status_code == 302
    deleted = AuditEntry.objects.get(action=A.ADMIN_DELETE)
    assert (deleted.object_id, deleted.content_type.model) == (cleanup.pk, "cleanuptask")


def test_admin_role_changes_are_audited():
    admin = Client()
    admin.force_login(user_in("admin"))
    viewer = user_in("viewer")
    from django.contrib.auth.models import Group

    response = admin.post(f"/admin/auth/user/{viewer.pk}/change/", {
        "username": "viewer", "password": viewer.password, "is_active": "on", "groups": [Group.objects.get(name="operator").pk],
        "last_login_0": "", "last_login_1": "", "date_joined_0": viewer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": viewer.date_joined.strftime("%H:%M:%S"),
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = only_entry()
    assert (entry.action, entry.content_type.model, entry.object_id) == (A.ADMIN_CHANGE, "user", viewer.pk)


def test_the_trail_is_read_only_in_the_admin(estate):
    services.stop_log_backup("log", estate["log"].pk, user_in("operator"))
    admin = Client()
    admin.force_login(user_in("admin"))
    entry = AuditEntry.objects.get()
    assert admin.get("/admin/backups/auditentry/").status_code == 200
    assert admin.post(f"/admin/backups/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.count() == 1


# --- The page ------------------------------------------------------------------------------


def make_entries(estate):
    now = timezone.now()
    alice, bob = user_in("operator", "alice"), user_in("operator", "bob")
    rows = [
        (alice, A.LOG_STOP, estate["cluster"], now - timedelta(hours=1)),
        (bob, A.INSTANT_BACKUP, estate["cluster"], now - timedelta(hours=30)),
        (alice, A.POLICY_PAUSE, estate["stopped"].cluster, now - timedelta(days=3)),
        (bob, A.ADMIN_CHANGE, estate["bare"], now - timedelta(days=20)),
        (alice, A.ADMIN_DELETE, None, now - timedelta(days=60)),
    ]
    return [
        AuditEntry.objects.create(actor=user, actor_name=user.username, action=action, cluster=cluster, created_at=when,
                                  object_repr=f"thing {i}", message=f"row {i}")
        for i, (user, action, cluster, when) in enumerate(rows)
    ], alice, bob


def shown(response):
    assert response.status_code == 200, response.content[:2000]
    return [row.record.message for row in response.context["table"].paginated_rows]


@pytest.fixture
def viewer_client(client_as):
    return client_as("viewer")


def test_audit_page_filters(viewer_client, estate):
    entries, alice, bob = make_entries(estate)
    url = reverse("backups:audit_list")
    assert shown(viewer_client.get(url)) == ["row 0", "row 1", "row 2"]  # last 7 days
    assert shown(viewer_client.get(url, {"range": "24h"})) == ["row 0"]
    assert shown(viewer_client.get(url, {"range": "all"})) == [f"row {i}" for i in range(5)]
    assert shown(viewer_client.get(url, {"range": "all", "actor": bob.pk})) == ["row 1", "row 3"]
    assert shown(viewer_client.get(url, {"range": "all", "cluster": estate["cluster"].pk})) == ["row 0", "row 1"]
    assert shown(viewer_client.get(url, {"range": "all", "action": "admin_delete"})) == ["row 4"]
    day = (timezone.localtime(entries[3].created_at)).date().isoformat()
    assert shown(viewer_client.get(url, {"range": "custom", "start": day, "end": day})) == ["row 3"]


def test_audit_page_says_what_is_wrong_with_a_filter(viewer_client, estate):
    response = viewer_client.get(reverse("backups:audit_list"), {"action": "explode", "start": "2025-02-30"})
    assert response.status_code == 400
    assert b'id="filter-errors"' in response.content


def test_audit_page_counts_nothing(viewer_client, estate):
    make_entries(estate)
    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get(reverse("backups:audit_list"), {"range": "all"})
    assert response.status_code == 200
    audit_sql = [q["sql"] for q in queries.captured_queries if "backups_auditentry" in q["sql"]]
    assert audit_sql and not any("COUNT(" in sql.upper() for sql in audit_sql), audit_sql


def test_audit_page_links_to_the_task(viewer_client, estate):
    services.stop_log_backup("log", estate["log"].pk, user_in("operator"))
    html = viewer_client.get(reverse("backups:audit_list")).content.decode()
    assert f'href="{reverse("backups:log_detail", args=[estate["log"].pk])}"' in html


def test_a_page_past_the_end_shows_the_first(viewer_client, estate):
    make_entries(estate)
    response = viewer_client.get(reverse("backups:audit_list"), {"range": "all", "page": "7"})
    assert shown(response) == [f"row {i}" for i in range(5)]
    assert "There is no page 7" in response.content.decode()


def test_audit_link_in_the_nav_for_viewers(viewer_client):
    assert reverse("backups:audit_list").encode() in viewer_client.get(reverse("backups:data_list")).content


# --- Task pages: the whole history -----------------------------------------------------------


@pytest.mark.parametrize("kind,key", [("log", "log"), ("cleanup", "cleanup"), ("secondary_data", "secondary_data"), ("secondary_log", "secondary_log")])
def test_every_task_kind_has_a_page(viewer_client, estate, kind, key):
    task = estate[key]
    response = viewer_client.get(reverse(f"backups:{kind}_detail", args=[task.pk]))
    assert response.status_code == 200
    assert f"#{task.pk}" in response.content.decode()


def test_a_task_page_shows_every_event(viewer_client, estate):
    operator = user_in("operator")
    log = estate["log"]
    from backups.engine import simulation

    for _ in range(60):  # 240 events: more than one page of them
        services.stop_log_backup("log", log.pk, operator)
        simulation.finish_log_move("log", log.pk)
        services.start_log_backup("log", log.pk, operator)
        simulation.finish_log_move("log", log.pk)
    url = reverse("backups:log_detail", args=[log.pk])
    seen = []
    for page in (1, 2, 3):
        response = viewer_client.get(url, {"page": page})
        seen += [event.pk for event in response.context["events"]]
    assert sorted(seen) == sorted(log.events.values_list("pk", flat=True)) and len(seen) == 240
    assert "operator" in viewer_client.get(url).content.decode()


def test_a_missing_task_is_404(viewer_client):
    assert viewer_client.get(reverse("backups:cleanup_detail", args=[999999])).status_code == 404


def test_instant_backup_by_service_call_also_audits(estate):
    services.instant_backup(estate["cluster"], None, BackupMode.INCREMENTAL, user_in("operator"))
    assert only_entry().action == A.INSTANT_BACKUP
