"""Roles (SPEC section 1): the groups the data migration made, and a role ×
URL × method matrix: each role gets exactly what it may, and nothing else."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backups.engine import intervals
from backups.models import (
    Alert,
    AuditEntry,
    BackupPolicy,
    ClusterSilence,
    DataBackupTask,
    LogBackupTask,
    RestoreDrillPolicy,
    RestoreDrillRun,
    RestoreTask,
    SecondaryLogBackupTask,
)
from tests import factories as f
from tests.roles import PASSWORD, build_estate, policy_data, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.SIM_FAILURE_RATE = 0


@pytest.fixture
def estate():
    estate = build_estate()
    # A stopped secondary log backup (of the stopped log backup) for Start.
    estate["stopped_secondary_log"] = f.make_secondary_log_task(estate["stopped"], status="stopped")
    # A tenant that can be restored (the data backup inside the running log round), and a restore.
    estate["tenant"] = f.make_tenant(estate["cluster"], name="sales")
    intervals.refresh(estate["cluster"].pk)
    estate["restore"] = f.make_restore_task(estate["cluster"])
    # A restore drill policy covering it (enabled), and a disabled one.
    estate["drill"] = RestoreDrillPolicy.objects.create(name="drill-a", target_cluster=estate["bare"], run_at="03:00",
                                                        schedule_days=[1], all_clusters=True)
    estate["disabled_drill"] = RestoreDrillPolicy.objects.create(name="drill-b", target_cluster=estate["bare"], run_at="03:00",
                                                                 schedule_days=[1], all_clusters=True, enabled=False)
    # An open alert to acknowledge, and a running silence to end.
    now = timezone.now()
    estate["alert"] = Alert.objects.create(rule="data_failed", severity="critical", cluster=estate["cluster"],
                                           subject=f"data:{estate['data'].pk}", started_at=now - timedelta(hours=1))
    estate["silence"] = ClusterSilence.objects.create(cluster=estate["cluster"], starts_at=now - timedelta(hours=1),
                                                      ends_at=now + timedelta(hours=1), reason="maintenance")
    return estate


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
        "backups.add_restoretask",
        "backups.add_restoredrillpolicy",
        "backups.change_restoredrillpolicy",
        "backups.delete_restoredrillpolicy",
        "backups.run_restoredrillpolicy",
        "backups.change_alert",
        "backups.add_clustersilence",
        "backups.change_clustersilence",
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
    ("backups:secondary_log_detail", "secondary_log"), ("backups:restore_list", None), ("backups:restore_detail", "restore"),
    ("clusters:recovery", "cluster"), ("backups:drill_list", None), ("backups:calendar", None),
    ("backups:policy_detail", "policy"), ("backups:overview_metrics", None),
    ("alerts:list", None), ("alerts:detail", "alert"),
]


def status_of(model, task):
    return model.objects.get(pk=task.pk).status


@dataclass(frozen=True)
class Action:
    """A URL that changes data: what it acts on, what an operator posts, and
    how to see that it took effect."""

    key: str | None  # the estate object in the URL, if any
    data: Callable  # estate -> POST data
    changed: Callable  # estate -> True once the action took effect
    form: bool = False  # GET shows its form (to operators); otherwise the URL is POST only


def no_data(estate):
    return {}


def drill_data(estate, **overrides):
    data = {"all_clusters": "on", "run_at": "03:00", "day_1": "on", "target_cluster": estate["bare"].pk, "keep_hours": "24",
            "enabled": "on"}
    return {**data, **overrides}


# Every console URL whose view changes data.  test_every_console_url_is_in_the_matrix
# finds them from the URL patterns and fails while this table misses one.
ACTIONS = {
    "backups:instant_backup": Action(
        None, lambda e: {"cluster": e["cluster"].pk, "mode": "incremental"},
        lambda e: DataBackupTask.objects.filter(cluster=e["cluster"], status="in_progress").exists(), form=True),
    "backups:log_stop": Action("log", no_data, lambda e: status_of(LogBackupTask, e["log"]) == "stopping"),
    "backups:log_start": Action("stopped", no_data, lambda e: status_of(LogBackupTask, e["stopped"]) == "starting"),
    "backups:secondary_log_stop": Action(
        "secondary_log", no_data, lambda e: status_of(SecondaryLogBackupTask, e["secondary_log"]) == "stopping"),
    "backups:secondary_log_start": Action(
        "stopped_secondary_log", no_data,
        lambda e: status_of(SecondaryLogBackupTask, e["stopped_secondary_log"]) == "starting"),
    "backups:policy_create": Action(
        None, lambda e: policy_data(e["bare"], e["destination"]),
        lambda e: BackupPolicy.objects.filter(cluster=e["bare"]).exists(), form=True),
    "backups:policy_edit": Action(
        "policy", lambda e: policy_data(e["cluster"], e["destination"], retention_days="9"),
        lambda e: BackupPolicy.objects.get(pk=e["policy"].pk).retention_days == 9, form=True),
    "backups:policy_pause": Action("policy", no_data, lambda e: BackupPolicy.objects.get(pk=e["policy"].pk).state == "paused"),
    "backups:policy_resume": Action("paused", no_data, lambda e: BackupPolicy.objects.get(pk=e["paused"].pk).state == "active"),
    "backups:restore_create": Action(
        None, lambda e: {"source_cluster": e["cluster"].pk, "source_tenant": e["tenant"].pk, "target_cluster": e["bare"].pk,
                         "restore_point": timezone.localtime(e["data"].ended_at + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"),
                         "new_tenant_name": "restored_by_role"},
        lambda e: RestoreTask.objects.filter(new_tenant_name="restored_by_role").exists(), form=True),
    "backups:drill_create": Action(
        None, lambda e: drill_data(e, name="drill-new"), lambda e: RestoreDrillPolicy.objects.filter(name="drill-new").exists(),
        form=True),
    "backups:drill_edit": Action(
        "drill", lambda e: drill_data(e, name="drill-a", keep_hours="48"),
        lambda e: RestoreDrillPolicy.objects.get(pk=e["drill"].pk).keep_hours == 48, form=True),
    "backups:drill_disable": Action("drill", no_data, lambda e: not RestoreDrillPolicy.objects.get(pk=e["drill"].pk).enabled),
    "backups:drill_enable": Action(
        "disabled_drill", no_data, lambda e: RestoreDrillPolicy.objects.get(pk=e["disabled_drill"].pk).enabled),
    "backups:drill_delete": Action("drill", no_data, lambda e: not RestoreDrillPolicy.objects.filter(pk=e["drill"].pk).exists()),
    "backups:drill_run": Action("drill", no_data, lambda e: RestoreDrillRun.objects.filter(policy=e["drill"]).exists()),
    "alerts:acknowledge": Action(
        "alert", lambda e: {"note": "seen"}, lambda e: Alert.objects.get(pk=e["alert"].pk).acknowledged_at is not None),
    "alerts:silence_create": Action(
        "cluster", lambda e: {"starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                              "ends_at": (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                              "reason": "by role"},
        lambda e: ClusterSilence.objects.filter(reason="by role").exists(), form=True),
    "alerts:silence_end": Action(
        "silence", no_data, lambda e: ClusterSilence.objects.get(pk=e["silence"].pk).ends_at <= timezone.now()),
}
OPERATOR_FORMS = [(name, action.key) for name, action in ACTIONS.items() if action.form]
# A URL named like this is an action whatever its view says.
ACTION_NAME = re.compile(r"(_stop|_start|_pause|_resume|_create|_edit|_delete|instant_backup)$")


def url(estate, name, key):
    return reverse(name, args=[estate[key].pk]) if key else reverse(name)


def action_url(estate, name):
    return url(estate, name, ACTIONS[name].key)


def console_urls():
    """(name, pattern) of every URL of the console's own apps."""
    from backups import alert_urls
    from backups import urls as backups_urls
    from clusters import urls as clusters_urls

    for module in (backups_urls, clusters_urls, alert_urls):
        for pattern in module.urlpatterns:
            yield (f"{module.app_name}:{pattern.name}" if pattern.name else None), pattern


def snapshot():
    """Every row the console's actions could write, to see that nothing changed
    (besides the audit trail's record of a refused or forbidden attempt)."""
    models = [*apps.get_app_config("backups").get_models(), *apps.get_app_config("clusters").get_models(), PeriodicTask]
    return {model.__name__: list(_changes(model).order_by("pk").values()) for model in models}


def _changes(model):
    return model.objects.filter(outcome=AuditEntry.Outcome.DONE) if model is AuditEntry else model.objects.all()


def allowed_methods(client, address):
    """The methods the view behind ``address`` accepts, from its 405 answer to
    a PATCH (the Allow header); None when it answers any method."""
    response = client.generic("PATCH", address)
    if response.status_code == 405:
        return set(response["Allow"].replace(" ", "").split(","))
    return None


def client_for(role, enforce_csrf_checks=False):
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    if role == "anonymous":
        return client
    client.force_login(user_in(role if role != "no role" else None, username=role.replace(" ", "_")))
    return client


def csrf_token(client):
    """The token a page's forms carry (any console page sets the cookie)."""
    assert client.get(reverse("backups:policy_list")).status_code == 200
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_every_console_url_is_in_the_matrix(estate, admin_user):
    """Walk the URL patterns: every URL is a page or an action of the matrix,
    and the actions are exactly the URLs whose view accepts POST (read from
    its 405 answer), is named like an action, or changes data when posted to."""
    names = [name for name, _pattern in console_urls()]
    assert None not in names, "every console URL needs a name to be in the role matrix"
    pages = dict(VIEW_PERMISSION_PAGES)
    assert not set(pages) & set(ACTIONS)
    unknown = set(names) - set(pages) - set(ACTIONS)
    assert not unknown, f"add these URLs to the role matrix (VIEW_PERMISSION_PAGES or ACTIONS): {sorted(unknown)}"
    assert len(names) == len(set(names))

    client = Client()
    client.force_login(admin_user)
    found, read_only = set(), set()
    for name in names:
        address = url(estate, name, ACTIONS[name].key if name in ACTIONS else pages[name])
        before = snapshot()
        allowed = allowed_methods(client, address)
        if allowed is None:
            # A view that answers any method: an action if a POST changes data.
            client.post(address, {})
        if (allowed is not None and "POST" in allowed) or ACTION_NAME.search(name) or snapshot() != before:
            found.add(name)
        else:
            read_only.add(name)
    assert found == set(ACTIONS)
    assert read_only == set(pages)


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


def test_anonymous_is_sent_to_sign_in_from_every_page(estate):
    client = Client()
    for name, key in VIEW_PERMISSION_PAGES:
        response = client.get(url(estate, name, key))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next="), name
    assert client.get("/admin/").status_code == 302


# --- Each action × role × method × CSRF -------------------------------------------------

actions = pytest.mark.parametrize("name", sorted(ACTIONS))


@actions
def test_anonymous_is_sent_to_sign_in_by_every_action(estate, name):
    client = Client()
    before = snapshot()
    address = action_url(estate, name)
    for response in (client.post(address, ACTIONS[name].data(estate)), client.get(address)):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next="), name
    assert snapshot() == before


@actions
@pytest.mark.parametrize("role", ["viewer", "no role"])
def test_a_viewer_may_press_nothing(estate, name, role):
    client = client_for(role)
    before = snapshot()
    address = action_url(estate, name)
    assert client.post(address, ACTIONS[name].data(estate)).status_code == 403
    assert client.get(address).status_code == (403 if ACTIONS[name].form else 405)
    assert snapshot() == before
    assert not ACTIONS[name].changed(estate)


@actions
def test_get_never_acts_and_is_405_on_a_post_only_action(estate, name):
    client = client_for("operator")
    before = snapshot()
    response = client.get(action_url(estate, name), ACTIONS[name].data(estate))
    assert response.status_code == (200 if ACTIONS[name].form else 405)
    assert snapshot() == before


@actions
@pytest.mark.parametrize("role", ["operator", "admin"])
def test_a_post_without_the_csrf_token_is_refused(estate, name, role):
    client = client_for(role, enforce_csrf_checks=True)
    before = snapshot()
    assert client.post(action_url(estate, name), ACTIONS[name].data(estate)).status_code == 403
    assert snapshot() == before


@actions
@pytest.mark.parametrize("role", ["operator", "admin"])
def test_an_operator_with_the_csrf_token_acts(estate, name, role):
    client = client_for(role, enforce_csrf_checks=True)
    token = csrf_token(client)
    assert not ACTIONS[name].changed(estate)
    response = client.post(action_url(estate, name), {**ACTIONS[name].data(estate), "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:500]
    assert ACTIONS[name].changed(estate)
    assert AuditEntry.objects.filter(actor_name=role, outcome=AuditEntry.Outcome.DONE).count() == 1


def test_sign_out_without_the_csrf_token_is_refused():
    client = client_for("operator", enforce_csrf_checks=True)
    assert client.post(reverse("logout")).status_code == 403
    assert "_auth_user_id" in client.session


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


# --- What each role is offered (issue 11) --------------------------------------------------
# The server refuses what a role may not do (above); the pages do not offer it either.

# Markup that offers an action: the log lists' Stop/Start forms, the header's
# instant backup, new policy and start a restore, the policy list's edit/pause/resume.
OFFERS = {
    "stop": re.compile(r'<form method="post" action="/backups/(secondary/)?logs/\d+/stop/"'),
    "start": re.compile(r'<form method="post" action="/backups/(secondary/)?logs/\d+/start/"'),
    "instant backup": re.compile(r'href="/backups/instant/'),
    "new policy": re.compile(r'href="/backups/policies/new/'),
    "start a restore": re.compile(r'href="/backups/restores/new/'),
    "edit policy": re.compile(r'href="/backups/policies/\d+/edit/"'),
    "pause or resume": re.compile(r'action="/backups/policies/\d+/(pause|resume)/"'),
}


def offered(client, estate):
    """Which offers each page makes to the client's user."""
    pages = [reverse("backups:log_list"), reverse("backups:secondary_log_list"), reverse("backups:data_list"),
             reverse("backups:policy_list"), reverse("clusters:detail", args=[estate["cluster"].pk]),
             reverse("clusters:detail", args=[estate["bare"].pk])]
    found = set()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        found |= {name for name, pattern in OFFERS.items() if pattern.search(body)}
    return found


def test_a_viewer_is_offered_no_button_it_may_not_press(estate):
    assert offered(client_for("viewer"), estate) == set()


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_an_operator_is_offered_every_button(estate, role):
    assert offered(client_for(role), estate) == set(OFFERS)


@pytest.mark.parametrize("permission,offers", [
    ("change_logbackuptask", {"stop", "start"}),  # the log list's; the secondary list needs its own
    ("change_secondarylogbackuptask", {"stop", "start"}),
    ("add_databackuptask", {"instant backup"}),
    ("add_backuppolicy", {"new policy"}),
    ("add_restoretask", {"start a restore"}),
    ("change_backuppolicy", {"edit policy", "pause or resume"}),
])
def test_each_button_follows_its_own_permission(estate, permission, offers):
    client = client_for("viewer")
    from django.contrib.auth import get_user_model

    get_user_model().objects.get(username="viewer").user_permissions.add(Permission.objects.get(codename=permission))
    assert offered(client, estate) == offers
    log_list = client.get(reverse("backups:log_list")).content.decode()
    secondary_list = client.get(reverse("backups:secondary_log_list")).content.decode()
    assert bool(OFFERS["stop"].search(log_list)) == (permission == "change_logbackuptask")
    assert bool(OFFERS["stop"].search(secondary_list)) == (permission == "change_secondarylogbackuptask")
