"""Roles (SPEC section 1): the groups the data migration made, and a role ×
URL × method matrix: each role gets exactly what it may, and nothing else."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backups.models import AuditEntry, BackupPolicy, DataBackupTask, LogBackupTask, SecondaryLogBackupTask, TaskEvent
from tests.roles import PASSWORD, build_estate, policy_data, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.SIM_FAILURE_RATE = 0


@pytest.fixture
def estate():
    return build_estate()


def perms(group):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=group).permissions.select_related("content_type")}


# --- The groups --------------------------------------------------------------------


def test_the_migration_made_three_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}


def test_a_viewer_may_view_every_backup_and_cluster_model_and_nothing_else():
    viewer = perms("viewer")
    assert viewer and all(p.split(".")[1].startswith("view_") for p in viewer)
    assert {"backups.view_databackuptask", "backups.view_logbackuptask", "backups.view_auditentry",
            "clusters.view_cluster", "backups.view_backuppolicy"} <= viewer
    assert {p.split(".")[0] for p in viewer} == {"backups", "clusters"}


def test_an_operator_may_what_the_console_buttons_need():
    assert perms("operator") - perms("viewer") == {
        "backups.add_databackuptask",
        "backups.change_logbackuptask",
        "backups.change_secondarylogbackuptask",
        "backups.add_backuppolicy",
        "backups.change_backuppolicy",
    }


def test_an_admin_has_every_permission():
    assert perms("admin") == {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}


def test_create_demo_roles_is_idempotent():
    call_command("create_demo_roles")
    call_command("create_demo_roles")
    client = Client()
    for username in ("viewer", "operator"):
        assert client.login(username=username, password=username)
    from django.contrib.auth import get_user_model

    assert list(get_user_model().objects.get(username="operator").groups.values_list("name", flat=True)) == ["operator"]


def test_create_demo_roles_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.HTTPS = True
    with pytest.raises(CommandError):
        call_command("create_demo_roles")


# --- The matrix ----------------------------------------------------------------------

# Every page that reads checks a view permission: every role gets 200, a
# signed-in user in no group 403.
VIEW_PERMISSION_PAGES = [
    ("backups:overview", None), ("backups:data_list", None), ("backups:log_list", None), ("backups:cleanup_list", None),
    ("backups:secondary_data_list", None), ("backups:secondary_log_list", None), ("clusters:list", None),
    ("clusters:detail", "cluster"), ("backups:data_detail", "data"),
    ("backups:policy_list", None), ("backups:audit_list", None), ("backups:log_detail", "log"),
    ("backups:cleanup_detail", "cleanup"), ("backups:secondary_data_detail", "secondary_data"),
    ("backups:secondary_log_detail", "secondary_log"),
]
# Forms of operator actions: GET shows the form to operators only.
OPERATOR_FORMS = [("backups:instant_backup", None), ("backups:policy_create", None), ("backups:policy_edit", "policy")]


def url(estate, name, key):
    return reverse(name, args=[estate[key].pk]) if key else reverse(name)


# (url name, estate key, POST data builder, what changed afterwards)
def actions(estate):
    return [
        ("backups:instant_backup", None, {"cluster": estate["cluster"].pk, "mode": "incremental"},
         lambda: DataBackupTask.objects.filter(cluster=estate["cluster"], status="in_progress").exists()),
        ("backups:log_stop", "log", {}, lambda: LogBackupTask.objects.get(pk=estate["log"].pk).status == "stopping"),
        ("backups:log_start", "stopped", {}, lambda: LogBackupTask.objects.get(pk=estate["stopped"].pk).status == "starting"),
        ("backups:secondary_log_stop", "secondary_log", {},
         lambda: SecondaryLogBackupTask.objects.get(pk=estate["secondary_log"].pk).status == "stopping"),
        ("backups:policy_pause", "policy", {}, lambda: BackupPolicy.objects.get(pk=estate["policy"].pk).state == "paused"),
        ("backups:policy_resume", "paused", {}, lambda: BackupPolicy.objects.get(pk=estate["paused"].pk).state == "active"),
        ("backups:policy_create", None, policy_data(estate["bare"], estate["destination"]),
         lambda: BackupPolicy.objects.filter(cluster=estate["bare"]).exists()),
    ]


def client_for(role):
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(user_in(role if role != "no role" else None, username=role.replace(" ", "_")))
    return client


@pytest.mark.parametrize("role,expected", [("viewer", 200), ("operator", 200), ("admin", 200), ("no role", 403)])
def test_every_page_that_reads_needs_a_view_permission(estate, role, expected):
    client = client_for(role)
    for name, key in VIEW_PERMISSION_PAGES:
        assert client.get(url(estate, name, key)).status_code == expected, name


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("no role", 403), ("operator", 200), ("admin", 200)])
def test_only_operators_open_the_action_forms(estate, role, expected):
    client = client_for(role)
    for name, key in OPERATOR_FORMS:
        assert client.get(url(estate, name, key)).status_code == expected, name


def test_anonymous_is_sent_to_sign_in_everywhere(estate):
    client = Client()
    pages = VIEW_PERMISSION_PAGES + OPERATOR_FORMS
    for name, key in pages:
        response = client.get(url(estate, name, key))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next="), name
    for name, key, data, _changed in actions(estate):
        response = client.post(url(estate, name, key), data)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name
    assert client.get("/admin/").status_code == 302
    assert TaskEvent.objects.count() == 0 and AuditEntry.objects.count() == 0


@pytest.mark.parametrize("role", ["viewer", "no role"])
def test_a_viewer_may_press_nothing(estate, role):
    client = client_for(role)
    before = (TaskEvent.objects.count(), DataBackupTask.objects.count(), BackupPolicy.objects.count())
    for name, key, data, _changed in actions(estate) + [("backups:policy_edit", "policy", policy_data(estate["cluster"], estate["destination"], retention_days="9"), None)]:
        assert client.post(url(estate, name, key), data).status_code == 403, name
    assert (TaskEvent.objects.count(), DataBackupTask.objects.count(), BackupPolicy.objects.count()) == before
    assert AuditEntry.objects.count() == 0
    assert BackupPolicy.objects.get(pk=estate["policy"].pk).retention_days == 7


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_an_operator_presses_every_button(estate, role):
    client = client_for(role)
    for name, key, data, changed in actions(estate):
        response = client.post(url(estate, name, key), data)
        assert response.status_code == 302, (name, response.content[:500])
        if changed:
            assert changed(), name
    assert AuditEntry.objects.filter(actor_name=role).count() == len(actions(estate))


@pytest.mark.parametrize("role", ["viewer", "operator", "no role"])
def test_the_admin_is_for_admins_only(estate, role):
    client = client_for(role)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/admin/backups/databackuptask/").status_code == 302
    # Even a staff flag does not open it: only the admin group does.
    from django.contrib.auth import get_user_model

    if role != "no role":
        get_user_model().objects.filter(username=role).update(is_staff=True)
        assert client.get("/admin/").status_code == 302


def test_an_admin_group_member_gets_the_admin_without_a_staff_flag(estate):
    client = client_for("admin")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/backups/databackuptask/").status_code == 200
    assert client.get(f"/admin/backups/logbackuptask/{estate['log'].pk}/change/").status_code == 200
    assert b'href="/admin/"' in client.get(reverse("backups:data_list")).content  # the nav offers it


def test_the_admin_sign_in_refuses_a_viewer(estate):
    user_in("viewer")
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200 and b"Please enter the correct" in response.content
    assert client.get("/admin/").status_code == 302
    user_in("admin")
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_the_nav_hides_the_admin_from_others(estate):
    assert b'href="/admin/"' not in client_for("operator").get(reverse("backups:data_list")).content


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_missing_csrf_is_refused_for_every_action(estate, role):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_in(role))
    before = (TaskEvent.objects.count(), DataBackupTask.objects.count(), BackupPolicy.objects.count())
    for name, key, data, _changed in actions(estate):
        assert client.post(url(estate, name, key), data).status_code == 403, name
    assert client.post(reverse("logout")).status_code == 403
    assert (TaskEvent.objects.count(), DataBackupTask.objects.count(), BackupPolicy.objects.count()) == before
    assert AuditEntry.objects.count() == 0
