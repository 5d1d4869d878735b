"""Issue 11 item 10: what machines write is stored as a code and its values
(backups/engine/outcomes.py) and said in the reader's language: event
causes and status changes, failure reasons (task pages, the reason modal,
the cluster page, the admin) and audit details; and the Chinese wording
fixes (分钟, the cluster list's 集群名称)."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from backups.choices import BackupMode, DataBackupStatus, LogBackupStatus
from backups.engine import outcomes, services, simulation
from backups.formats import readable_delay
from backups.models import AuditEntry, DataBackupTask, LogBackupTask, TaskEvent
from tests import factories as f
from tests.roles import user_in

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.SIM_FAILURE_RATE = 0


@pytest.fixture
def failed_backup():
    """A data backup the simulated worker failed (storage unreachable), started
    by an operator whose request was in Chinese: what is stored must not be
    the writer's language."""
    cluster = f.make_cluster(name="prod-words")
    f.make_host(cluster, role="leader")
    policy = f.make_policy(cluster)
    operator = user_in("operator")
    with translation.override("zh-hans"):
        task = services.instant_backup(cluster, None, BackupMode.FULL, operator, force_outcome="storage_unreachable")
    simulation.advance_data_backup(task.pk, now=task.started_at + timedelta(days=1))
    task.refresh_from_db()
    assert task.status == DataBackupStatus.FAILED
    return task, policy


def body(client, url, lang):
    response = client.get(url, **lang)
    assert response.status_code == 200, url
    return unescape(response.content.decode())


# --- What is stored ---------------------------------------------------------------------


def test_reasons_and_causes_are_stored_as_codes_not_text(failed_backup):
    task, policy = failed_backup
    assert (task.failure_code, task.failure_params, task.failure_reason) == (
        "storage_unreachable", {"uri": policy.destination.uri}, "")
    events = list(task.events.order_by("id").values_list("cause_code", "cause_params", "cause"))
    assert events == [("instant_requested", {}, ""), ("storage_unreachable", {"uri": policy.destination.uri}, "")]
    entry = AuditEntry.objects.get()
    assert (entry.message_code, entry.message) == ("instant_backup", "")
    assert entry.message_params == {"mode": "full", "pk": task.pk, "cluster": "prod-words", "tenant": ""}


def test_describe_says_a_code_in_the_active_language_and_falls_back_to_old_text():
    said = outcomes.failure("timeout", minutes=30, uri="ignored")
    assert said.params == {"minutes": 30}
    with translation.override("en"):
        assert str(said) == "Timed out after 30 minutes (the policy's data backup timeout)."
    with translation.override("zh-hans"):
        assert "30" in str(said) and "Timed out" not in str(said)
    # A row written before codes: its text, as written.
    assert outcomes.describe("", {}, "archive log lost") == "archive log lost"
    # A row whose values no longer fit its text still says something.
    assert outcomes.describe("timeout", {}, "old text") == "old text"
    assert outcomes.describe("no_such_code", {}) == "no_such_code"


# --- Task pages, event rows, the reason modal, the cluster page -------------------------


def test_task_page_says_reason_causes_and_status_labels_in_the_readers_language(client_as, failed_backup):
    task, policy = failed_backup
    client = client_as("viewer")
    url = reverse("backups:data_detail", args=[task.pk])
    zh = body(client, url, ZH)
    assert f"存储目的地不可达：{policy.destination.uri} 无响应。" in zh
    assert "已发起立即备份。" in zh
    assert "进行中 → 失败" in zh
    assert "in_progress → failed" not in zh and "Storage destination unreachable" not in zh
    en = body(client, url, EN)
    assert f"Storage destination unreachable: {policy.destination.uri} did not answer." in en
    assert "In progress → Failed" in en and "Instant backup requested." in en


def test_event_rows_of_every_task_page_show_status_labels_not_codes(client_as):
    cluster = f.make_cluster()
    log = f.make_log_task(cluster, status=LogBackupStatus.IN_PROGRESS)
    services.stop_log_backup("log", log.pk, user_in("operator"))
    simulation.finish_log_move("log", log.pk)
    client = client_as("viewer")
    zh = body(client, reverse("backups:log_detail", args=[log.pk]), ZH)
    assert "进行中 → 停止中" in zh and "停止中 → 已停止" in zh
    assert "已请求停止。" in zh
    assert not re.search(r"in_progress|stopping →|→ stopped", zh)


def test_the_reason_modal_text_is_in_the_readers_language(client_as, failed_backup):
    task, policy = failed_backup
    client = client_as("viewer")
    zh = body(client, reverse("backups:data_list") + "?status=failed&range=all", ZH)
    assert f'data-reason="存储目的地不可达：{policy.destination.uri} 无响应。"' in zh
    en = body(client, reverse("backups:data_list") + "?status=failed&range=all", EN)
    assert f'data-reason="Storage destination unreachable: {policy.destination.uri} did not answer."' in en


def test_the_cluster_page_says_recent_failures_in_the_readers_language(client_as, failed_backup):
    task, policy = failed_backup
    zh = body(client_as("viewer"), reverse("clusters:detail", args=[task.cluster_id]), ZH)
    assert f"存储目的地不可达：{policy.destination.uri} 无响应。" in zh


def test_a_crash_names_the_task_kind_in_the_readers_language():
    cluster = f.make_cluster()
    task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS)
    with pytest.raises(RuntimeError), simulation.failing_on_error(DataBackupTask, task.pk, "in_progress", None):
        raise RuntimeError("copy refused")
    task.refresh_from_db()
    assert (task.failure_code, task.failure_params["task"]) == ("crashed", "data")
    with translation.override("zh-hans"):
        assert outcomes.failure_of(task).startswith("数据备份任务")
    with translation.override("en"):
        assert outcomes.failure_of(task) == "Data backup task failed on an unexpected error: RuntimeError: copy refused"


def test_old_rows_keep_their_text(client_as):
    """Rows written before codes (text only) read as they were written."""
    cluster = f.make_cluster()
    task = f.make_log_task(cluster, status=LogBackupStatus.FAILED, failure_reason="archive log lost (old row)")
    TaskEvent.objects.create(content_type_id=_ct(LogBackupTask), object_id=task.pk, cluster=cluster,
                             old_status="in_progress", new_status="failed", cause="an old English cause")
    zh = body(client_as("viewer"), reverse("backups:log_detail", args=[task.pk]), ZH)
    assert "archive log lost (old row)" in zh and "an old English cause" in zh and "进行中 → 失败" in zh


def _ct(model):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_the_admin_says_reasons_and_causes_in_the_readers_language(admin_client, failed_backup):
    task, policy = failed_backup
    zh = body(admin_client, reverse("admin:backups_databackuptask_change", args=[task.pk]), ZH)
    assert f"存储目的地不可达：{policy.destination.uri} 无响应。" in zh
    events = body(admin_client, reverse("admin:backups_taskevent_changelist"), ZH)
    assert f"存储目的地不可达：{policy.destination.uri} 无响应。" in events
    assert "Storage destination unreachable" not in events


# --- Audit details ----------------------------------------------------------------------


def test_audit_details_are_said_in_the_readers_language(client_as, failed_backup):
    task, _policy = failed_backup
    log = f.make_log_task(task.cluster)
    with translation.override("en"):
        services.stop_log_backup("log", log.pk, user_in("operator", "op2"))
    client = client_as("viewer")
    zh = body(client, reverse("backups:audit_list"), ZH)
    assert f"集群 prod-words 的全量数据备份 #{task.pk}。" in zh
    assert f"日志备份 #{log.pk}（prod-words）" in zh
    assert f"数据备份 #{task.pk}" in zh  # the object column, by kind and ID
    assert "Full data backup" not in zh and "Log backup #" not in zh
    en = body(client, reverse("backups:audit_list"), EN)
    assert f"Full data backup #{task.pk} of prod-words." in en and f"Log backup #{log.pk} (prod-words)" in en


# --- Words ------------------------------------------------------------------------------


def test_minutes_say_fen_zhong():
    with translation.override("zh-hans"):
        assert readable_delay(300) == "5 分钟"
        assert readable_delay(3 * 60 + 5) == "3 分钟 5 秒"
        assert readable_delay(2 * 3600 + 4 * 60) == "2 小时 4 分钟"


def test_the_log_list_alert_threshold_says_fen_zhong(client_as):
    cluster = f.make_cluster()
    f.make_log_task(cluster, latest_point=timezone.now() - timedelta(hours=1))  # no policy: the 5-minute default
    zh = body(client_as("viewer"), reverse("backups:log_list"), ZH)
    assert "超过告警阈值 5 分钟" in zh


def test_the_cluster_list_names_its_column_cluster_name(client_as):
    f.make_cluster(name="prod-x")
    zh = body(client_as("viewer"), reverse("clusters:list"), ZH)
    header = re.search(r"<thead.*?</thead>", zh, re.S).group(0)
    assert "集群名称" in header and "所属集群" not in header


def test_an_export_says_the_failure_reason_and_the_audit_details_in_the_readers_language(client_as, failed_backup):
    from tests.views.test_export import table_of

    task, policy = failed_backup
    client = client_as("admin")
    rows = table_of(client.get(reverse("backups:data_list"), {"range": "all", "status": "failed", "_export": "csv"}, **ZH))
    header, (row,) = rows[0], rows[1:]
    assert row[header.index("失败原因")] == f"存储目的地不可达：{policy.destination.uri} 无响应。"
    rows = table_of(client.get(reverse("backups:audit_list"), {"range": "all", "_export": "csv"}, **EN))
    assert any(f"Full data backup #{task.pk} of prod-words." in cell for row in rows for cell in row), rows
