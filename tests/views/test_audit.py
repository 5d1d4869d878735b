"""The audit trail: every operator action and admin change is one row in the
same transaction, saying what changed (old → new, by label); a refused or
forbidden attempt is a row of its own (who, what, on what, why), bounded per
user; the page filters by time range, user, cluster, action and outcome
without counting the trail; task pages show every event."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.choices import BackupMode
from backups.engine import services
from backups.engine.outcomes import details_of
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
    assert entry.content_type.model == "databackuptask" and "Incremental data backup #" in details_of(entry)


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
    assert details_of(AuditEntry.objects.get(action=A.POLICY_EDIT)) == "Retention (days): 7 → 30"


def test_refusals_are_recorded_as_refused_and_change_nothing(op_client, operator, estate):
    op_client.post(reverse("backups:log_start", args=[estate["log"].pk]))  # not stopped
    op_client.post(reverse("backups:policy_resume", args=[estate["policy"].pk]))  # already active
    op_client.post(reverse("backups:instant_backup"), {"cluster": estate["bare"].pk, "mode": "full"})  # no policy
    op_client.post(reverse("backups:log_stop", args=[estate["log"].pk]), {"force": "1"})  # unknown parameter: not the engine's refusal
    assert not AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DONE).exists()
    rows = [(e.action, e.outcome, e.actor, e.object_id, details_of(e)) for e in AuditEntry.objects.order_by("id")]
    log, policy = estate["log"], estate["policy"]
    assert rows == [
        (A.LOG_START, "refused", operator, log.pk, f"Log backup #{log.pk} is in progress, so it cannot be started."),
        (A.POLICY_RESUME, "refused", operator, policy.pk, f"Backup policy #{policy.pk} is already active."),
        (A.INSTANT_BACKUP, "refused", operator, estate["bare"].pk,
         "Cluster empty-c has no active backup policy: create or resume one first."),
    ]
    assert LogBackupTask.objects.get(pk=log.pk).status == "in_progress"


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
        "ended_at_0": "", "ended_at_1": "", "tenant": "", "policy": log.policy_id,
        "latest_point_0": timezone.localtime(log.latest_point).strftime("%Y-%m-%d"),
        "latest_point_1": timezone.localtime(log.latest_point).strftime("%H:%M:%S"),
        "backups-taskevent-content_type-object_id-TOTAL_FORMS": "0", "backups-taskevent-content_type-object_id-INITIAL_FORMS": "0",
    })
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    entry = only_entry()
    assert (entry.action, entry.actor_name, entry.object_id, entry.cluster_id) == (A.ADMIN_CHANGE, "admin", log.pk, log.cluster_id)
    assert details_of(entry) == "Storage directory: /prod-a/clog → /moved/clog"
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
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    # The refused deletion is itself in the trail.
    tried = AuditEntry.objects.exclude(pk=entry.pk).get()
    assert (tried.action, tried.outcome, tried.object_id) == (A.ADMIN_DELETE, "forbidden", entry.pk)


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


# --- What an edit changed: labels, old → new, in the reader's language (issue 11 item 12) ----------


def test_a_policy_edit_says_old_and_new_values_by_label(op_client, estate):
    policy = estate["policy"]  # weekly: Monday full, Thursday incremental; 7 days; 02:00
    data = policy_data(estate["cluster"], estate["destination"], retention_days="14", week_3="on", week_3_mode="full",
                       run_at="03:15", secondary_enabled="on", secondary_destination=_other_destination().pk)
    assert op_client.post(reverse("backups:policy_edit", args=[policy.pk]), data).status_code == 302
    entry = AuditEntry.objects.get(action=A.POLICY_EDIT)
    text = details_of(entry)
    for change in ("Time of day: 02:00 → 03:15", "Retention (days): 7 → 14", "Secondary backup: No → Yes",
                   "Secondary destination: — → oss-copies", "Full backup days: Mon → Mon, Wed"):
        assert change in text, text
    assert "retention_days" not in text and "week_3" not in text and "Incremental backup days" not in text
    # Stored as labels' msgids and values, said when read: the same row in Chinese.
    from django.utils import translation

    with translation.override("zh-hans"):
        zh = details_of(entry)
    assert "保留天数：7 → 14" in zh and "全量备份日：星期一 → 星期一、星期三" in zh, zh
    assert "Retention" not in zh and "Yes" not in zh


def _other_destination():
    from tests import factories as f

    return f.make_destination(name="oss-copies", kind="object", uri="oss://bucket/copies")


def test_an_admin_edit_of_a_policy_says_old_and_new_values(estate):
    admin = Client()
    admin.force_login(user_in("admin"))
    policy = estate["policy"]
    url = f"/admin/backups/backuppolicy/{policy.pk}/change/"
    form = admin.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(cluster=policy.cluster_id, tenant="", destination=policy.destination_id, secondary_destination="",
                run_at="02:00", retention_days="21", log_backup_enabled="on", schedule_days='{"1": "full", "4": "incremental"}',
                state="paused")
    data = {key: value for key, value in data.items() if value is not None and value is not False}
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = only_entry()
    assert entry.action == A.ADMIN_CHANGE
    assert details_of(entry) == "Retention (days): 7 → 21; State: Active → Paused"


# --- Refused and forbidden attempts (issue 11 item 12) -------------------------------------------------


def test_a_refused_stop_is_in_the_trail_with_who_what_and_why(op_client, operator, estate, viewer_client):
    stopped = estate["stopped"]
    response = op_client.post(reverse("backups:log_stop", args=[stopped.pk]))
    assert response.status_code == 302
    entry = only_entry()
    assert (entry.actor, entry.action, entry.outcome, entry.object_id, entry.cluster_id) == (
        operator, A.LOG_STOP, "refused", stopped.pk, stopped.cluster_id)
    html = viewer_client.get(reverse("backups:audit_list"), {"outcome": "refused"}).content.decode()
    assert f"Log backup #{stopped.pk} is stopped, so it cannot be stopped." in html
    assert "operator" in html and "Stop log backup" in html and "Refused" in html
    zh = viewer_client.get(reverse("backups:audit_list"), {"outcome": "refused"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert f"日志备份 #{stopped.pk} 当前为已停止，无法停止。" in zh.content.decode()


def test_a_refused_instant_backup_is_in_the_trail(op_client, operator, estate):
    cluster = estate["stopped"].cluster  # its policy is paused
    response = op_client.post(reverse("backups:instant_backup"), {"cluster": cluster.pk, "mode": "full"})
    assert response.status_code == 200  # refused on the form
    entry = only_entry()
    assert (entry.actor, entry.action, entry.outcome, entry.cluster_id) == (operator, A.INSTANT_BACKUP, "refused", cluster.pk)
    assert details_of(entry) == "Cluster prod-b has no active backup policy: create or resume one first."


def test_a_refused_policy_save_is_in_the_trail(op_client, operator, estate, monkeypatch):
    from backups.engine import dispatch

    def down():
        raise dispatch.BrokerUnavailable("The task queue is unavailable.")

    monkeypatch.setattr(services, "check_broker", down)  # a new log backup needs a worker
    from tests import factories as f

    f.make_host(estate["bare"], role="leader")
    data = policy_data(estate["bare"], estate["destination"])
    response = op_client.post(reverse("backups:policy_create"), data)
    assert response.status_code == 200
    entry = only_entry()
    assert (entry.action, entry.outcome, entry.cluster_id) == (A.POLICY_CREATE, "refused", estate["bare"].pk)
    assert "The task queue is unavailable." in details_of(entry)


def test_a_forbidden_attempt_is_in_the_trail_with_who_what_and_why(client_as, estate):
    viewer = client_as("viewer")
    log = estate["log"]
    response = viewer.post(reverse("backups:log_stop", args=[log.pk]))
    assert response.status_code == 403
    entry = only_entry()
    assert (entry.actor_name, entry.action, entry.outcome, entry.object_id, entry.cluster_id) == (
        "viewer", A.LOG_STOP, "forbidden", log.pk, log.cluster_id)
    assert details_of(entry) == f"Refused: the role(s) viewer may not do this (POST /backups/logs/{log.pk}/stop/)."
    assert LogBackupTask.objects.get(pk=log.pk).status == "in_progress"
    html = viewer.get(reverse("backups:audit_list"), {"outcome": "forbidden"}).content.decode()
    assert "Forbidden" in html and f"/backups/logs/{log.pk}/stop/" in html
    zh = viewer.get(reverse("backups:audit_list"), {"outcome": "forbidden"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已拒绝：角色 viewer 无权执行此操作" in zh and "无权限" in zh


def test_forbidden_admin_and_instant_attempts_name_their_object(client_as, estate):
    viewer = client_as("viewer")
    assert viewer.post(reverse("backups:instant_backup"), {"cluster": estate["cluster"].pk, "mode": "full"}).status_code == 403
    assert viewer.post(reverse("backups:policy_pause", args=[estate["policy"].pk])).status_code == 403
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "outcome", "content_type__model", "object_id"))
    assert rows == [(A.INSTANT_BACKUP, "forbidden", "cluster", estate["cluster"].pk),
                    (A.POLICY_PAUSE, "forbidden", "backuppolicy", estate["policy"].pk)]


def test_looking_at_a_forbidden_page_is_not_an_attempt(client_as, estate):
    viewer = client_as("viewer")
    assert viewer.get(reverse("backups:policy_create")).status_code == 403
    assert AuditEntry.objects.count() == 0


def test_the_outcome_filter(viewer_client, op_client, estate):
    op_client.post(reverse("backups:log_stop", args=[estate["log"].pk]))  # done
    op_client.post(reverse("backups:log_stop", args=[estate["stopped"].pk]))  # refused
    url = reverse("backups:audit_list")
    assert [(e.outcome, e.object_id) for e in _records(viewer_client.get(url))] == [
        ("refused", estate["stopped"].pk), ("done", estate["log"].pk)]
    assert [e.outcome for e in _records(viewer_client.get(url, {"outcome": "done"}))] == ["done"]
    assert [e.outcome for e in _records(viewer_client.get(url, {"outcome": "refused"}))] == ["refused"]
    assert viewer_client.get(url, {"outcome": "exploded"}).status_code == 400


def _records(response):
    assert response.status_code == 200
    return [row.record for row in response.context["table"].paginated_rows]


def test_a_repeated_attempt_counts_up_one_row(op_client, estate, viewer_client):
    for _ in range(5):
        op_client.post(reverse("backups:log_stop", args=[estate["stopped"].pk]))
    entry = only_entry()
    assert entry.repeats == 5
    assert "(×5)" in viewer_client.get(reverse("backups:audit_list")).content.decode()


def test_one_user_cannot_grow_the_trail_without_bound(operator, monkeypatch):
    """Distinct refused attempts: at most ATTEMPTS_PER_WINDOW rows per user
    per window, the rest logged; another user is still recorded."""
    from backups.engine import audit

    monkeypatch.setattr(audit, "ATTEMPTS_PER_WINDOW", 5)
    for pk in range(1, 20):
        audit.record_attempt(operator, A.LOG_STOP, "refused", reason=f"nope {pk}", model=LogBackupTask, pk=pk)
    assert AuditEntry.objects.filter(actor=operator).count() == 5
    other = user_in("operator", "other")
    assert audit.record_attempt(other, A.LOG_STOP, "refused", reason="nope", model=LogBackupTask, pk=1) is not None


def test_recording_a_refusal_never_turns_it_into_a_500(op_client, client_as, estate, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(AuditEntry, "save", broken)
    response = op_client.post(reverse("backups:log_stop", args=[estate["stopped"].pk]), follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        f"Log backup #{estate['stopped'].pk} is stopped, so it cannot be stopped."]
    assert op_client.post(reverse("backups:instant_backup"), {"cluster": estate["bare"].pk, "mode": "full"}).status_code == 200
    assert client_as("viewer").post(reverse("backups:log_stop", args=[estate["log"].pk])).status_code == 403
    assert client_as("viewer", "v2").post(reverse("backups:log_stop", args=[10**30])).status_code in (403, 404)


def test_a_refusal_of_a_missing_task_is_recorded(op_client, viewer_client, estate):
    response = op_client.post(reverse("backups:log_stop", args=[999999]))
    assert response.status_code == 302
    entry = only_entry()
    assert (entry.outcome, entry.content_type.model, entry.object_id) == ("refused", "logbackuptask", 999999)
    assert details_of(entry) == "Log backup #999999 does not exist."


def test_a_policy_save_refused_past_the_form_is_in_the_trail(op_client, operator, estate, monkeypatch):
    """Another active policy appeared between the form's check and the save:
    the database refuses (on the cluster field), the form says so, the trail
    records it, and nothing answers 500."""
    from backups.forms import BackupPolicyForm

    monkeypatch.setattr(BackupPolicyForm, "_clean_one_active_policy", lambda self, cleaned: None)
    monkeypatch.setattr(BackupPolicy, "validate_constraints", lambda self, exclude=None: None)
    response = op_client.post(reverse("backups:policy_create"), policy_data(estate["cluster"], estate["destination"]))
    assert response.status_code == 200 and "cluster" in response.context["form"].errors
    entry = only_entry()
    assert (entry.actor, entry.action, entry.outcome, entry.cluster_id) == (
        operator, A.POLICY_CREATE, "refused", estate["cluster"].pk)
    assert details_of(entry) == str(response.context["form"].errors["cluster"][0])


def test_a_refused_restore_is_in_the_trail(op_client, operator, estate):
    """The engine refuses a restore the form let through (no recoverable moment): recorded on its source tenant."""
    from tests import factories as f

    tenant = f.make_tenant(estate["cluster"], name="sales")
    response = op_client.post(reverse("backups:restore_create"), {
        "source_cluster": estate["cluster"].pk, "source_tenant": tenant.pk, "latest": "on",
        "target_cluster": estate["bare"].pk, "new_tenant_name": "sales_copy"})
    assert response.status_code == 400
    entry = only_entry()
    assert (entry.actor, entry.action, entry.outcome, entry.cluster_id, entry.object_id) == (
        operator, A.RESTORE_START, "refused", estate["cluster"].pk, tenant.pk)
    assert details_of(entry) == "Tenant sales has no recoverable moment to restore to."
