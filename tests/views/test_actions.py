"""Operator actions through their views (OV-1, OV-2, OV-4a): POST only, CSRF,
permissions, messages, and every refusal leaving the database untouched."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backups.choices import BackupMethod, LogBackupStatus, PolicyState
from backups.models import BackupPolicy, BackupSet, DataBackupTask, LogBackupTask, TaskEvent
from tests import factories as f
from tests.roles import policy_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_simulation(settings):
    settings.SIM_FAILURE_RATE = 0


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def counts():
    return (
        BackupPolicy.objects.count(),
        PeriodicTask.objects.count(),
        DataBackupTask.objects.count(),
        BackupSet.objects.count(),
        LogBackupTask.objects.count(),
        TaskEvent.objects.count(),
    )


@pytest.fixture
def cluster():
    cluster = f.make_cluster()
    f.make_host(cluster, role="leader")
    return cluster


# --- Stop / Start (OV-4a) -------------------------------------------------------------


@pytest.mark.parametrize("name", ["log_stop", "log_start", "secondary_log_stop", "secondary_log_start", "policy_pause", "policy_resume"])
def test_it_rejects_get(admin_client, name):
    assert admin_client.get(reverse(f"backups:{name}", args=[1])).status_code == 405


def test_it_enforces_csrf(admin_user, cluster):
    log = f.make_log_task(cluster)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("backups:log_stop", args=[log.pk])).status_code == 403
    log.refresh_from_db()
    assert log.status == "in_progress"
    client.get(reverse("backups:policy_list"))  # sets the CSRF cookie
    response = client.post(
        reverse("backups:log_stop", args=[log.pk]), {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )
    assert response.status_code == 302
    log.refresh_from_db()
    assert log.status == "stopping"


def test_stop_goes_back_to_the_filtered_list(admin_client, cluster):
    log = f.make_log_task(cluster)
    back = "/backups/logs/?status=in_progress&range=7d"
    response = admin_client.post(reverse("backups:log_stop", args=[log.pk]), {"next": back}, follow=False)
    assert response.status_code == 302 and response["Location"] == back
    log.refresh_from_db()
    assert log.status == "stopping"
    event = log.events.get()
    assert (event.old_status, event.new_status, event.actor.username) == ("in_progress", "stopping", "root")


def test_stop_uses_the_referer_when_there_is_no_next(admin_client, cluster):
    log = f.make_log_task(cluster)
    response = admin_client.post(
        reverse("backups:log_stop", args=[log.pk]), HTTP_REFERER="http://testserver/backups/logs/?cluster=3"
    )
    assert response["Location"] == "http://testserver/backups/logs/?cluster=3"


def test_it_ignores_a_next_to_another_site(admin_client, cluster):
    log = f.make_log_task(cluster)
    response = admin_client.post(reverse("backups:log_stop", args=[log.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("backups:log_list")


def test_stop_says_already_stopping(admin_client, cluster):
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPING)
    response = admin_client.post(reverse("backups:log_stop", args=[log.pk]), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [f"Log backup #{log.pk} is already stopping."]
    assert TaskEvent.objects.count() == 0


def test_start_refused_unless_stopped(admin_client, cluster):
    log = f.make_log_task(cluster)
    response = admin_client.post(reverse("backups:log_start", args=[log.pk]), follow=True)
    assert messages_of(response) == [f"Log backup #{log.pk} is in progress, so it cannot be started."]


def test_start_a_stopped_log_backup(admin_client, cluster):
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPED)
    response = admin_client.post(reverse("backups:log_start", args=[log.pk]), follow=True)
    assert messages_of(response) == [f"Log backup #{log.pk} is starting."]
    log.refresh_from_db()
    assert log.status == "starting"


def test_secondary_log_stop(admin_client, cluster):
    copy = f.make_secondary_log_task(f.make_log_task(cluster))
    response = admin_client.post(reverse("backups:secondary_log_stop", args=[copy.pk]), follow=True)
    assert messages_of(response) == [f"Secondary log backup #{copy.pk} is stopping."]
    assert response.redirect_chain[0][0] == reverse("backups:secondary_log_list")


def test_unknown_task_gets_a_message_not_a_500(admin_client):
    response = admin_client.post(reverse("backups:log_stop", args=[424242]), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["Log backup #424242 does not exist."]


def test_unknown_parameters_are_refused(admin_client, cluster):
    log = f.make_log_task(cluster)
    response = admin_client.post(reverse("backups:log_stop", args=[log.pk]) + "?force=1", {"status": "stopped"}, follow=True)
    assert messages_of(response) == ["Unknown parameter(s): force, status. Nothing was changed."]
    log.refresh_from_db()
    assert log.status == "in_progress" and TaskEvent.objects.count() == 0


def test_a_viewer_may_not_stop(client, cluster):
    viewer = get_user_model().objects.create_user("viewer", password="pw-viewer-123456")
    viewer.user_permissions.add(Permission.objects.get(codename="view_logbackuptask"))
    client.force_login(viewer)
    log = f.make_log_task(cluster)
    assert client.post(reverse("backups:log_stop", args=[log.pk])).status_code == 403
    log.refresh_from_db()
    assert log.status == "in_progress"


# --- Policies (OV-1) -----------------------------------------------------------------------


def test_policy_pages_render(admin_client, cluster):
    f.make_policy(cluster)
    assert admin_client.get(reverse("backups:policy_list")).status_code == 200
    page = admin_client.get(reverse("backups:policy_create") + f"?cluster={cluster.pk}")
    assert page.status_code == 200 and 'name="week_7"' in page.content.decode()


def test_it_creates_a_policy_with_its_beat_entry_and_log_backup(admin_client, cluster):
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination()))
    assert response.status_code == 302, response.context["form"].errors
    policy = BackupPolicy.objects.get()
    assert policy.schedule_days == {"1": "full", "4": "incremental"} and policy.created_by.username == "root"
    entry = policy.periodic_task
    assert entry.enabled and entry.crontab.day_of_week == "1,4" and (entry.crontab.hour, entry.crontab.minute) == ("2", "30")
    assert LogBackupTask.objects.get().status == "starting"


def test_it_creates_a_monthly_policy(admin_client, cluster):
    data = policy_data(cluster, f.make_destination(), schedule_kind="monthly", monthly_full_days="1, 15", monthly_incremental_days="8,22")
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    policy = BackupPolicy.objects.get()
    assert policy.schedule_days == {"1": "full", "15": "full", "8": "incremental", "22": "incremental"}
    assert policy.periodic_task.crontab.day_of_month == "1,8,15,22"


REFUSALS = [
    ({"week_1_mode": "incremental"}, "schedule_kind", "The schedule has no full backup day"),
    ({"week_1": None, "week_4": None}, "schedule_kind", "Pick at least one backup day"),
    (
        {"schedule_kind": "monthly", "monthly_full_days": "1,2,3,4,5,6", "monthly_incremental_days": "7,8,9,10,11"},
        "monthly_full_days",
        "at most 10 backup days; this one has 11",
    ),
    ({"schedule_kind": "monthly", "monthly_full_days": "", "monthly_incremental_days": "3"}, "monthly_full_days", "no full backup day"),
    ({"schedule_kind": "monthly", "monthly_full_days": "32"}, "monthly_full_days", "is not a day of the month"),
    ({"retention_days": "0"}, "retention_days", "Retention must be at least one day."),
    ({"retention_days": "3651"}, "retention_days", "Ensure this value is less than or equal to 3650."),
    ({"retention_days": "1000000"}, "retention_days", "Ensure this value is less than or equal to 3650."),
    ({"data_backup_timeout_minutes": "10081"}, "data_backup_timeout_minutes", "less than or equal to 10080."),
    ({"log_delay_threshold_seconds": "604801"}, "log_delay_threshold_seconds", "less than or equal to 604800."),
    ({"log_backup_enabled": None}, "log_backup_enabled", "Physical backups need log backup"),
    ({"backup_method": "logical", "week_4_mode": "incremental"}, "schedule_kind", "Logical backups are full only"),
    (
        {"backup_method": "logical", "schedule_kind": "monthly", "monthly_full_days": "1", "monthly_incremental_days": "15"},
        "schedule_kind",
        "Logical backups are full only",
    ),
    ({"secondary_enabled": "on"}, "secondary_destination", "Secondary backup needs a secondary destination."),
    ({"force": "1"}, None, "Unknown parameter(s): force. Nothing was changed."),
]


@pytest.mark.parametrize("overrides, field, message", REFUSALS)
def test_policy_refusals_write_nothing(admin_client, cluster, overrides, field, message):
    before = counts()
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination(), **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field or "__all__", [])), errors
    assert message.split(" (")[0].split("“")[0] in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert counts() == before


DIRECTORY_REFUSALS = [
    "../../etc", "/prod/../../etc", "./prod", "prod/.", "prod/...", "/", "prod//east", "prod\\east",
    "prod\neast", "prod\rx", "prod\teast", "prod\x00", "prod\x1b[31m", "\u202eprod", "prod?x=1", "prod#x", "prod east",
    "x" * 201,
]


@pytest.mark.parametrize("directory", DIRECTORY_REFUSALS)
def test_unsafe_storage_directories_are_refused(admin_client, cluster, directory):
    before = counts()
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination(), directory=directory))
    assert response.status_code == 200
    assert response.context["form"].errors.get("directory"), response.context["form"].errors
    assert counts() == before


@pytest.mark.parametrize("directory, stored", [
    ("prod-east", "/prod-east"), ("/prod-east/", "/prod-east"), ("prod/east/2025", "/prod/east/2025"),
    ("生产集群/主库", "/生产集群/主库"), ("/a.b_c-d~e@f+g=h,i/", "/a.b_c-d~e@f+g=h,i"), ("/" + "x" * 199, "/" + "x" * 199),
])
def test_storage_directories_are_stored_with_one_leading_slash(admin_client, cluster, directory, stored):
    destination = f.make_destination(uri="file:///mnt/obbackup/")
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, destination, directory=directory))
    assert response.status_code == 302, response.context["form"].errors
    policy = BackupPolicy.objects.get()
    assert policy.directory == stored
    assert LogBackupTask.objects.get().storage_directory == f"file:///mnt/obbackup{stored}/clog"


def test_the_storage_directory_message_says_what_is_wrong(admin_client, cluster):
    def error(directory):
        data = policy_data(cluster, f.make_destination(), directory=directory)
        return admin_client.post(reverse("backups:policy_create"), data).context["form"].errors["directory"][0]

    assert "“..”" in error("../../etc")
    assert "U+000A" in error("prod\nx")
    assert "at most 200 characters" in error("x" * 201)


def test_the_admin_refuses_an_unsafe_storage_directory(cluster):
    from django.core.exceptions import ValidationError

    policy = f.make_policy(cluster)
    policy.directory = "../../etc"
    with pytest.raises(ValidationError) as refusal:
        policy.full_clean()
    assert "directory" in refusal.value.message_dict


def test_policy_list_shows_the_storage_path_with_one_separator(admin_client, cluster):
    f.make_policy(cluster, destination=f.make_destination(uri="file:///mnt/obbackup/"), directory="prod-east")
    body = admin_client.get(reverse("backups:policy_list")).content.decode()
    assert "file:///mnt/obbackup/prod-east<" in body


def test_the_largest_numbers_the_engine_computes_with_are_accepted(admin_client, cluster):
    data = policy_data(cluster, f.make_destination(), retention_days="3650", data_backup_timeout_minutes="10080",
                       log_delay_threshold_seconds="604800")
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    body = admin_client.get(reverse("backups:policy_create")).content.decode()
    for name, limit in (("retention_days", 3650), ("data_backup_timeout_minutes", 10080), ("log_delay_threshold_seconds", 604800)):
        tag = re.search(rf'<input type="number" name="{name}"[^>]*>', body).group(0)
        assert f'max="{limit}"' in tag, tag


def test_secondary_equal_to_primary_is_refused(admin_client, cluster):
    destination = f.make_destination()
    before = counts()
    data = policy_data(cluster, destination, secondary_enabled="on", secondary_destination=destination.pk)
    response = admin_client.post(reverse("backups:policy_create"), data)
    assert response.context["form"].errors["secondary_destination"] == ["The secondary destination must differ from the primary one."]
    assert counts() == before


def test_logical_policy_may_go_without_log_backup(admin_client, cluster):
    data = policy_data(cluster, f.make_destination(), backup_method="logical", log_backup_enabled=None)
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    assert not LogBackupTask.objects.exists()


def test_a_logical_policy_with_full_days_only_is_accepted(admin_client, cluster):
    data = policy_data(cluster, f.make_destination(), backup_method="logical", week_2="on", week_2_mode="full")
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    assert BackupPolicy.objects.get().schedule_days == {"1": "full", "2": "full", "4": "full"}


def test_editing_a_policy_to_logical_refuses_its_incremental_days(admin_client, cluster):
    policy = f.make_policy(cluster)
    before = counts()
    data = policy_data(cluster, policy.destination, backup_method="logical", week_4_mode="incremental")
    response = admin_client.post(reverse("backups:policy_edit", args=[policy.pk]), data)
    assert "Logical backups are full only" in response.context["form"].errors["schedule_kind"][0]
    assert counts() == before
    policy.refresh_from_db()
    assert policy.backup_method == "physical"


def log_backup_inputs(body):
    """The policy form's log-backup checkbox and the hidden input that posts it when the checkbox is locked."""
    checkbox = re.search(r'<input type="checkbox" name="log_backup_enabled"[^>]*>', body)
    hidden = re.search(r'<input type="hidden" name="log_backup_enabled"[^>]*>', body)
    assert checkbox and hidden, body
    return checkbox.group(0), hidden.group(0)


def test_log_backup_is_shown_always_on_for_physical(admin_client, cluster):
    body = admin_client.get(reverse("backups:policy_create")).content.decode()
    checkbox, hidden = log_backup_inputs(body)
    assert " checked" in checkbox and " disabled" in checkbox
    assert 'value="on"' in hidden and " disabled" not in hidden  # a disabled checkbox posts nothing
    assert "Always on for physical backups" in body


def test_log_backup_may_be_turned_off_for_logical(admin_client, cluster):
    policy = f.make_policy(cluster, backup_method="logical", log_backup_enabled=False)
    body = admin_client.get(reverse("backups:policy_edit", args=[policy.pk])).content.decode()
    checkbox, hidden = log_backup_inputs(body)
    assert " checked" not in checkbox and " disabled" not in checkbox
    assert " disabled" in hidden


def test_a_refused_physical_policy_shows_log_backup_locked_on(admin_client, cluster):
    data = policy_data(cluster, f.make_destination(), log_backup_enabled=None)
    body = admin_client.post(reverse("backups:policy_create"), data).content.decode()
    checkbox, hidden = log_backup_inputs(body)
    assert " checked" in checkbox and " disabled" in checkbox and " disabled" not in hidden
    assert "Physical backups need log backup" in body


def test_one_active_policy_per_cluster(admin_client, cluster):
    existing = f.make_policy(cluster)
    before = counts()
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination()))
    assert response.context["form"].errors["cluster"] == [
        f"Cluster {cluster.name} already has an active backup policy (#{existing.pk}): edit or pause that one."
    ]
    assert counts() == before


def test_one_active_policy_per_tenant_but_a_tenant_may_override_the_cluster(admin_client, cluster):
    tenant = f.make_tenant(cluster)
    f.make_policy(cluster)
    data = policy_data(cluster, f.make_destination(), tenant=tenant.pk)
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    before = counts()
    response = admin_client.post(reverse("backups:policy_create"), data)
    assert "already has an active backup policy" in response.context["form"].errors["tenant"][0]
    assert counts() == before


def test_tenant_must_belong_to_the_cluster(admin_client, cluster):
    stranger = f.make_tenant(f.make_cluster())
    before = counts()
    response = admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination(), tenant=stranger.pk))
    assert "belongs to another cluster" in response.context["form"].errors["tenant"][0]
    assert counts() == before


def test_a_second_policy_may_be_paused_one(admin_client, cluster):
    f.make_policy(cluster, state=PolicyState.PAUSED)
    assert admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination())).status_code == 302


def test_edit_changes_the_beat_entry(admin_client, cluster):
    admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination()))
    policy = BackupPolicy.objects.get()
    page = admin_client.get(reverse("backups:policy_edit", args=[policy.pk]))
    assert page.status_code == 200 and page.context["form"].initial["week_4_mode"] == "incremental"
    data = policy_data(cluster, policy.destination, week_4=None, week_6="on", week_6_mode="incremental", run_at="23:05")
    response = admin_client.post(reverse("backups:policy_edit", args=[policy.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    entry = PeriodicTask.objects.get()
    assert entry.crontab.day_of_week == "1,6" and (entry.crontab.hour, entry.crontab.minute) == ("23", "5")


def test_edit_refusal_writes_nothing(admin_client, cluster):
    policy = f.make_policy(cluster)
    before = counts()
    response = admin_client.post(
        reverse("backups:policy_edit", args=[policy.pk]), policy_data(cluster, policy.destination, retention_days="0")
    )
    assert response.context["form"].errors["retention_days"] == ["Retention must be at least one day."]
    policy.refresh_from_db()
    assert policy.retention_days == 7 and counts() == before


def test_pause_and_resume_from_the_list(admin_client, cluster):
    admin_client.post(reverse("backups:policy_create"), policy_data(cluster, f.make_destination()))
    policy = BackupPolicy.objects.get()
    response = admin_client.post(reverse("backups:policy_pause", args=[policy.pk]), follow=True)
    assert messages_of(response)[-1] == f"Backup policy #{policy.pk} is paused: no scheduled backups until it is resumed."
    assert PeriodicTask.objects.get().enabled is False
    response = admin_client.post(reverse("backups:policy_pause", args=[policy.pk]), follow=True)
    assert messages_of(response) == [f"Backup policy #{policy.pk} is already paused."]
    admin_client.post(reverse("backups:policy_resume", args=[policy.pk]))
    assert PeriodicTask.objects.get().enabled is True


# --- Instant backup (OV-2) -------------------------------------------------------------------


def test_instant_backup_starts_one(admin_client, cluster):
    f.make_policy(cluster)
    response = admin_client.post(reverse("backups:instant_backup"), {"cluster": cluster.pk, "mode": "full"}, follow=True)
    task = DataBackupTask.objects.get()
    assert task.status == "in_progress" and task.trigger == "instant"
    assert messages_of(response) == [f"Data backup #{task.pk} of {cluster.name} started (full)."]
    assert response.redirect_chain[-1][0] == f"{reverse('backups:data_list')}?cluster={cluster.pk}"


def test_instant_backup_page_preselects_the_cluster(admin_client, cluster):
    page = admin_client.get(reverse("backups:instant_backup") + f"?cluster={cluster.pk}")
    assert page.status_code == 200 and page.context["form"].initial == {"cluster": str(cluster.pk)}


def _refused(admin_client, data, field, message):
    before = counts()
    response = admin_client.post(reverse("backups:instant_backup"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field or "__all__", [])), errors
    assert counts() == before
    return response


def test_instant_refuses_without_a_policy(admin_client, cluster):
    _refused(admin_client, {"cluster": cluster.pk, "mode": "full"}, "cluster", "has no active backup policy")


def test_instant_refuses_incremental_without_full(admin_client, cluster):
    f.make_policy(cluster)
    _refused(admin_client, {"cluster": cluster.pk, "mode": "incremental"}, "mode", "needs a completed full backup")


def test_instant_refuses_logical_incremental(admin_client, cluster):
    f.make_policy(cluster, backup_method=BackupMethod.LOGICAL)
    f.make_data_task(cluster, backup_method="logical")
    _refused(admin_client, {"cluster": cluster.pk, "mode": "incremental"}, "mode", "Logical backups are full backups only")


def test_instant_refuses_second_logical_of_a_data_version(admin_client, cluster):
    f.make_policy(cluster, backup_method=BackupMethod.LOGICAL)
    f.make_data_task(cluster, backup_method="logical", data_version=cluster.data_version)
    _refused(admin_client, {"cluster": cluster.pk, "mode": "full"}, "cluster", "a logical backup may be taken once per data version")


def test_instant_refuses_while_a_backup_runs(admin_client, cluster):
    f.make_policy(cluster)
    running = f.make_data_task(cluster, status="in_progress")
    _refused(admin_client, {"cluster": cluster.pk, "mode": "full"}, "cluster", f"already running data backup #{running.pk}")


def test_instant_refuses_a_tenant_of_another_cluster(admin_client, cluster):
    f.make_policy(cluster)
    stranger = f.make_tenant(f.make_cluster())
    _refused(admin_client, {"cluster": cluster.pk, "tenant": stranger.pk, "mode": "full"}, "tenant", "belongs to another cluster")


def test_instant_refuses_unknown_parameters(admin_client, cluster):
    f.make_policy(cluster)
    _refused(admin_client, {"cluster": cluster.pk, "mode": "full", "force_outcome": "fail"}, None, "Unknown parameter(s): force_outcome")


def test_instant_refusal_raced_past_the_form_lands_on_the_form(admin_client, cluster, monkeypatch):
    """The form's check passed, then someone else started a backup: the service's refusal shows."""
    from backups import forms

    f.make_policy(cluster)
    f.make_data_task(cluster, status="in_progress")
    monkeypatch.setattr(forms.services, "check_data_backup", lambda *args: None)
    response = admin_client.post(reverse("backups:instant_backup"), {"cluster": cluster.pk, "mode": "full"})
    assert response.context["form"].errors["cluster"] == ["This cluster is already running a data backup."]
    assert DataBackupTask.objects.count() == 1
    # And the audit trail records the refusal, on the cluster it was for.
    from backups.models import AuditEntry

    assert list(AuditEntry.objects.values_list("action", "outcome", "cluster_id")) == [("instant_backup", "refused", cluster.pk)]


def test_a_viewer_may_not_open_instant_backup(client):
    viewer = get_user_model().objects.create_user("viewer", password="pw-viewer-123456")
    client.force_login(viewer)
    assert client.get(reverse("backups:instant_backup")).status_code == 403


def test_start_of_an_old_log_backup_says_which_one_is_current(admin_client, cluster):
    now = timezone.now()
    ancient = f.make_log_task(cluster, status="stopped", started_at=now - timedelta(days=22), ended_at=now - timedelta(days=21))
    current = f.make_log_task(cluster, status="stopped", started_at=now - timedelta(days=2), ended_at=now - timedelta(hours=5))
    response = admin_client.post(reverse("backups:log_start", args=[ancient.pk]), follow=True)
    assert messages_of(response) == [
        f"Log backup #{ancient.pk} is not the cluster's current log backup (#{current.pk} is): start that one."
    ]
    ancient.refresh_from_db()
    assert ancient.status == "stopped" and TaskEvent.objects.count() == 0
