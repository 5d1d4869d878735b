"""The Simplified Chinese interface (SPEC §5): a complete, well-formed
catalogue, and pages, forms and refusals that really come back in Chinese."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from backups.choices import LogBackupStatus
from tests import factories as f
from tests.roles import policy_data
from tests.services import require_xgettext

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(CATALOGUE))


def _msgstrs(entry):
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


# --- (a) the catalogue ---------------------------------------------------------------


def test_catalogue_declares_one_plural_form(catalogue):
    assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_catalogue_has_no_untranslated_entries(catalogue):
    missing = [entry.msgid for entry in catalogue if not entry.obsolete and not all(_msgstrs(entry))]
    assert missing == []


def test_catalogue_has_no_fuzzy_entries(catalogue):
    """makemessages guesses fuzzy translations that are often wrong ("Retention" → 目的地)."""
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []


def test_plural_entries_have_exactly_one_form(catalogue):
    for entry in catalogue:
        if entry.msgid_plural and not entry.obsolete:
            assert list(entry.msgstr_plural) == [0], entry.msgid


def test_placeholders_survive_translation(catalogue):
    """Every %(name)s of the msgid is in the msgstr, and no other: a missing one
    loses information, a foreign one raises KeyError at run time."""
    wrong = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        expected = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            expected |= set(PLACEHOLDER.findall(entry.msgid_plural))
        for msgstr in _msgstrs(entry):
            if set(PLACEHOLDER.findall(msgstr)) != expected:
                wrong.append((entry.msgid, msgstr))
    assert wrong == []


def test_catalogue_keeps_the_product_wording(catalogue):
    """The seed page's words (shared/seed/backup-overview.zh-CN.md), not guesses."""
    by_msgid = {(entry.msgctxt, entry.msgid): entry for entry in catalogue}
    expected = {
        (None, "New backup policy"): "新建备份策略",
        (None, "Instant backup"): "立即备份",
        (None, "Logical"): "逻辑备份",
        (None, "Physical"): "物理备份",
        (None, "Full"): "全量",
        (None, "Incremental"): "增量",
        (None, "Starting"): "启动中",
        (None, "Stopping"): "停止中",
        (None, "Stopped"): "已停止",
        ("cleanup status", "Not started"): "未开始执行",
        ("cleanup status", "Running"): "任务执行中",
        ("cleanup status", "Failed"): "任务失败",
        (None, "Retention"): "保留天数",
        (None, "Pause"): "暂停",
        (None, "Resume"): "恢复",
    }
    assert {key: by_msgid[key].msgstr for key in expected} == expected


def test_every_string_the_code_marks_has_a_chinese_translation(catalogue, tmp_path):
    """makemessages over the tracked sources, in a scratch copy: every msgid it
    finds is in the catalogue, translated (a new string without Chinese would
    show English on a Chinese page)."""
    require_xgettext()
    root = Path(settings.BASE_DIR)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in tracked)):
        if name.endswith((".py", ".html", ".txt", ".po")) and (root / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / name, tmp_path / name)
    po = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po.unlink()
    subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "-i", "tests/*"],
                   cwd=tmp_path, capture_output=True, check=True, env={**os.environ, "DEBUG": "1", "PYTHONPATH": str(tmp_path)})
    found = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(po))}
    translated = {(entry.msgctxt, entry.msgid) for entry in catalogue if not entry.obsolete and all(_msgstrs(entry))}
    assert sorted(found - translated, key=str) == []


# --- (b) pages in Chinese -----------------------------------------------------------------


@pytest.fixture
def estate(db):
    cluster = f.make_cluster(name="prod-hz")
    f.make_host(cluster, role="leader")
    f.make_tenant(cluster, name="sales")
    policy = f.make_policy(cluster, retention_days=7, log_backup_enabled=True)
    return cluster, policy


def _page(client, url):
    response = client.get(url, **ZH)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh-hans"
    return response.content.decode()


def _assert_no_english(body, labels):
    """Labels as rendered text (between tags, or a quoted attribute), so that an
    English word inside a URL or a script does not count."""
    leftover = [label for label in labels if re.search(rf'>\s*{re.escape(label)}\s*<|"{re.escape(label)}"', body)]
    assert leftover == []


def test_policy_list_speaks_chinese(admin_client, estate):
    body = _page(admin_client, reverse("backups:policy_list"))
    for text in ("备份策略", "新建备份策略", "保留天数", "7 天", "物理备份", "已启用", "编辑", "暂停", "开启", "二次备份"):
        assert text in body, text
    _assert_no_english(body, ["Backup policies", "New backup policy", "Retention", "Edit", "Pause", "On", "Actions"])


def test_policy_form_speaks_chinese(admin_client, estate):
    body = _page(admin_client, reverse("backups:policy_create"))
    for text in ("新建备份策略", "备份范围与方式", "保留与告警", "创建策略", "取消", "逻辑备份", "按周", "恢复窗口", "全量"):
        assert text in body, text
    _assert_no_english(
        body, ["Scope and method", "Retention and alerts", "Create policy", "Cancel", "Schedule", "Full backup days"]
    )


def test_policy_form_errors_speak_chinese(admin_client, estate):
    cluster, policy = estate
    response = admin_client.post(
        reverse("backups:policy_create"),
        {
            "cluster": cluster.pk,
            "backup_method": "physical",
            "destination": policy.destination.pk,
            "directory": "/x",
            "schedule_kind": "monthly",
            "monthly_full_days": "1, 40",
            "run_at": "02:00",
            "retention_days": 7,
            "data_backup_timeout_minutes": 60,
            "log_delay_threshold_seconds": 60,
        },
        **ZH,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "“40”不是有效的日期（1–31）。" in body
    assert "物理备份需要日志备份" in body
    assert "is not a day of the month" not in body


def test_logical_incremental_refusal_speaks_chinese(admin_client, estate):
    cluster, policy = estate
    data = policy_data(f.make_cluster(), policy.destination, backup_method="logical", week_4_mode="incremental")
    body = admin_client.post(reverse("backups:policy_create"), data, **ZH).content.decode()
    assert "逻辑备份只能是全量备份：逻辑备份策略不能安排增量备份。" in body


def test_storage_directory_refusal_speaks_chinese(admin_client, estate):
    cluster, policy = estate
    data = policy_data(f.make_cluster(), policy.destination, directory="../../etc")
    body = admin_client.post(reverse("backups:policy_create"), data, **ZH).content.decode()
    assert "存储目录中不允许使用“..”：存储目录必须位于备份目的地的根目录下。" in body


def test_instant_backup_page_speaks_chinese(admin_client, estate):
    body = _page(admin_client, reverse("backups:instant_backup"))
    for text in ("立即备份", "开始备份", "取消", "数据备份方式", "全量", "增量", "可选：仅备份集群中的一个租户。"):
        assert text in body, text
    _assert_no_english(body, ["Instant backup", "Start backup", "Cancel", "Full", "Incremental"])


def test_instant_backup_refusal_speaks_chinese(admin_client, estate):
    cluster, _policy = estate
    response = admin_client.post(reverse("backups:instant_backup"), {"cluster": cluster.pk, "mode": "incremental"}, **ZH)
    assert response.status_code == 200
    assert "增量备份之前需要同一集群和租户已完成的全量备份。" in response.content.decode()


def test_cluster_list_speaks_chinese(admin_client, estate):
    body = _page(admin_client, reverse("clusters:list"))
    for text in ("集群", "状态", "备份概览", "退出登录", "1 个集群"):
        assert text in body, text
    _assert_no_english(body, ["Clusters", "Status", "Apply", "Reset", "Backup overview", "Log out"])


def test_audit_trail_speaks_chinese(admin_client, estate):
    body = _page(admin_client, reverse("backups:audit_list"))
    for text in ("审计日志", "全部用户", "全部操作"):
        assert text in body, text
    _assert_no_english(body, ["Audit trail", "Any user", "Any action", "User", "Action"])


# --- (c) a refusal of the state machine ------------------------------------------------------


def test_state_machine_refusal_comes_back_in_chinese(admin_client, estate):
    cluster, _policy = estate
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPING)
    response = admin_client.post(reverse("backups:log_stop", args=[log.pk]), follow=True, **ZH)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"日志备份 #{log.pk} 已经是停止中状态。"]
    log.refresh_from_db()
    assert log.status == LogBackupStatus.STOPPING


def test_start_refusal_names_the_attempt_in_chinese(admin_client, estate):
    cluster, _policy = estate
    log = f.make_log_task(cluster, status=LogBackupStatus.STOPPING)
    response = admin_client.post(reverse("backups:log_start", args=[log.pk]), follow=True, **ZH)
    assert [str(m) for m in response.context["messages"]] == [f"日志备份 #{log.pk} 当前为停止中，无法启动。"]


def test_start_of_an_old_log_backup_is_refused_in_chinese(admin_client, estate):
    from datetime import timedelta

    from django.utils import timezone

    cluster, _policy = estate
    now = timezone.now()
    old = f.make_log_task(cluster, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=22),
                          ended_at=now - timedelta(days=21))
    current = f.make_log_task(cluster, status=LogBackupStatus.STOPPED, started_at=now - timedelta(days=2))
    response = admin_client.post(reverse("backups:log_start", args=[old.pk]), follow=True, **ZH)
    assert [str(m) for m in response.context["messages"]] == [
        f"日志备份 #{old.pk} 不是该集群当前的日志备份（当前为 #{current.pk}）：请启动该任务。"
    ]
