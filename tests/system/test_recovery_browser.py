"""Recovery in a real headless Chromium (issue 12, acceptance 4): the recovery
timeline with a "can I restore to T?" answer of yes and of no, the restore
form with its interval hint, and a restore's page, in English and Chinese at
1440 and 390 px.

Every page is photographed (full page) into RECOVERY_SHOTS_DIR, by default
screenshots/recovery/ (git-ignored), for a reviewer to look at; axe-core
(serious and critical) runs on each, and the layout rules of test_layout.py
hold: at 1440 px no badge or button wraps, at 390 px nothing is cut off and
the page does not scroll sideways.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from backups.choices import BackupMode, DataBackupStatus, LogBackupStatus
from backups.engine import restores
from backups.engine.outcomes import COMPLETED, failure
from backups.engine.simulation import speed
from backups.engine.transitions import transition
from backups.models import DataBackupTask, LogBackupTask
from backups.views import recovery as recovery_view
from tests import factories as f
from tests.browser import SCREENSHOTS, browser, build_demo_data, log_in, new_page  # noqa: F401 (fixture)
from tests.system.test_layout import CLIPPED, LINES
from tests.system.test_machine_checks import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RECOVERY_SHOTS_DIR") or SCREENSHOTS / "recovery")
LANGUAGES = (("en-US", "en"), ("zh-CN", "zh"))
WIDTHS = ((1440, 900), (390, 844))
NOW = timezone.now().replace(microsecond=0)


def ago(**delta):
    return NOW - timedelta(**delta)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def estate(transactional_db):
    """Six days of a cluster's history with two gaps: a round an operator
    stopped, and a round that failed before any backup landed in it."""
    from django.contrib.auth import get_user_model

    data = build_demo_data()  # its operator signs in
    operator = get_user_model().objects.get(username="operator")
    cluster = f.make_cluster(name="prod-north", region="cn-hangzhou", zone="zone-j")
    tenants = [f.make_tenant(cluster, name=name) for name in ("sales", "billing")]
    f.make_policy(cluster, log_delay_threshold_seconds=600)
    first = f.make_log_task(cluster, started_at=ago(days=6), latest_point=ago(days=6))
    full = f.make_data_task(cluster, started_at=ago(days=5, hours=23), status=DataBackupStatus.IN_PROGRESS,
                            size_bytes=180 * 2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=ago(days=5, hours=21), progress=100)
    LogBackupTask.objects.filter(pk=first.pk).update(latest_point=ago(days=4))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPING, cause="stop", actor=operator, now=ago(days=4))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPED, cause="stopped", now=ago(days=4))
    second = f.make_log_task(cluster, started_at=ago(days=3, hours=12), latest_point=ago(days=3, hours=12))
    LogBackupTask.objects.filter(pk=second.pk).update(latest_point=ago(days=3))
    transition(LogBackupTask, second.pk, LogBackupStatus.FAILED, cause="lost", now=ago(days=3),
               failure_reason=failure("log_lost"))
    f.make_log_task(cluster, started_at=ago(days=2), latest_point=ago(seconds=40))
    incremental = f.make_data_task(cluster, started_at=ago(days=1, hours=2), mode=BackupMode.INCREMENTAL,
                                   backup_set=full.backup_set, status=DataBackupStatus.IN_PROGRESS, size_bytes=12 * 2**30)
    transition(DataBackupTask, incremental.pk, DataBackupStatus.COMPLETED, cause="done", now=ago(days=1), progress=100)
    # A restore of sales to twelve hours ago, part way through its phases.
    task = restores.start_restore(tenants[0], ago(hours=12), data["west"], "sales_restored", operator, outcome=COMPLETED)
    restores.advance_restore(task.pk, now=task.started_at + timedelta(seconds=restores.duration(task) * 0.6 / speed()))
    data.update(north=cluster, sales=tenants[0], restore=task, yes=ago(hours=12), no=ago(days=3, hours=6))
    return data


def pages(estate):
    north, sales = estate["north"].pk, estate["sales"].pk
    return [
        ("recovery", f"/clusters/{north}/recovery/"),
        ("recovery-tenant", f"/clusters/{north}/recovery/?tenant={sales}&page=2"),
        ("recovery-yes", f"/clusters/{north}/recovery/?tenant={sales}&at={local(estate['yes'])}"),
        ("recovery-no", f"/clusters/{north}/recovery/?tenant={sales}&at={local(estate['no'])}"),
        ("restore-form", f"/backups/restores/new/?source_cluster={north}&source_tenant={sales}"),
        ("restore-detail", f"/backups/restores/{estate['restore'].pk}/"),
    ]


# What each page must say, per language: the answers, the hint, the phase.
EXPECTED = {
    "en": {"recovery": "Show all of sales", "recovery-tenant": "Page 2 of 2", "recovery-yes": "can be restored to", "recovery-no": "cannot be restored to",
           "restore-form": "The last 7 days, newest first", "restore-detail": "sales_restored"},
    "zh": {"recovery": "查看 sales 的全部记录", "recovery-tenant": "第 2 页，共 2 页", "recovery-yes": "可恢复到", "recovery-no": "无法恢复到",
           "restore-form": "最近 7 天", "restore-detail": "sales_restored"},
}


def test_recovery_pages_in_both_languages_at_desk_and_phone_width(browser, live_server, estate, monkeypatch):
    # Small caps, so that the few rows of this history show the "show all" link and a tenant's pages.
    monkeypatch.setattr(recovery_view, "ROWS_PER_TENANT", 3)
    monkeypatch.setattr(recovery_view, "ROWS_PER_PAGE", 3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for language, suffix in LANGUAGES:
        for width, height in WIDTHS:
            page = new_page(browser, live_server, language=language, width=width, height=height)
            log_in(page)
            for name, path in pages(estate):
                response = page.goto(page.base + path)
                assert response.status == 200, (path, response.status)
                page.wait_for_load_state()
                body = page.locator("main").inner_text()
                expected = EXPECTED[suffix].get(name)
                if expected and expected not in body:
                    problems.append(f"{suffix}-{width}-{name}: {expected!r} not on the page")
                page.screenshot(path=str(SHOTS / f"{suffix}-{width}-{name}.png"), full_page=True)
                problems += [f"{suffix}-{width}-{name}: axe {v['id']} {v['nodes']}" for v in run_axe(page)]
                if width == 390:
                    scroll = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
                    if scroll[0] > scroll[1]:
                        problems.append(f"{suffix}-{width}-{name}: the page scrolls sideways {scroll}")
                    clipped = page.locator("main .btn, main .badge, .navbar .btn").evaluate_all(CLIPPED)
                    problems += [f"{suffix}-{width}-{name}: {p}" for p in clipped]
                else:
                    for el in page.locator("main .badge, main .btn").all():
                        if el.is_visible() and el.evaluate(LINES) > 1:
                            problems.append(f"{suffix}-{width}-{name}: {el.inner_text()!r} wraps")
            assert not page.problems, page.problems
            page.context.close()
    assert problems == []
