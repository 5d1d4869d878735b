"""The restore drills page and its form in Chromium, in English and Chinese,
at a desktop's and a phone's width: no serious axe-core violation, nothing
wider than the screen, and screenshots under screenshots/drill*.png."""

import random
from datetime import time, timedelta

import pytest
from django.utils import timezone

from backups.choices import DataBackupStatus, DrillStatus
from backups.engine import drills
from backups.engine.transitions import transition
from backups.models import DataBackupTask, RestoreDrillPolicy, RestoreDrillRun
from tests import factories as f
from tests.browser import browser, log_in, new_page, screenshot  # noqa: F401 - fixture
from tests.roles import user_in
from tests.system.test_machine_checks import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drill_estate():
    from tests.browser import PASSWORD, USERNAME

    user = user_in("operator", USERNAME)
    user.set_password(PASSWORD)
    user.save()
    now = timezone.now()
    source = f.make_cluster(name="prod-east")
    f.make_tenant(source, name="sales")
    target = f.make_cluster(name="drill-sandbox")
    f.make_log_task(source, started_at=now - timedelta(hours=30), latest_point=now - timedelta(minutes=3))
    full = f.make_data_task(source, started_at=now - timedelta(hours=20), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=now - timedelta(hours=19), progress=100)
    policy = RestoreDrillPolicy.objects.create(name="daily-prod", target_cluster=target, run_at=time(3, 30),
                                               schedule_days=list(range(1, 8)), keep_hours=48)
    policy.clusters.set([source])
    weekly = RestoreDrillPolicy.objects.create(name="weekly-all", target_cluster=target, run_at=time(4), schedule_days=[6, 7],
                                               all_clusters=True, enabled=False)
    ok = drills.run_drill(policy.pk, now - timedelta(hours=5), rng=random.Random(1), now=now - timedelta(hours=5))
    RestoreDrillRun.objects.filter(pk=ok.pk).update(status=DrillStatus.SUCCEEDED, ended_at=now - timedelta(hours=4, minutes=40),
                                                    recovery_seconds=1204)
    drills.run_drill(policy.pk, now - timedelta(hours=2), rng=random.Random(2), now=now - timedelta(hours=2))
    bare = f.make_cluster(name="empty-c")
    weekly.clusters.set([bare])
    RestoreDrillPolicy.objects.filter(pk=weekly.pk).update(all_clusters=False)
    drills.run_drill(weekly.pk, now - timedelta(hours=1), rng=random.Random(3), now=now - timedelta(hours=1))


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1440, 390])
def test_the_drills_page_and_form(browser, live_server, language, width):
    drill_estate()
    page = new_page(browser, live_server, language=language, width=width)
    log_in(page)
    page.goto(page.base + "/backups/drills/")
    name = f"drills-{language[:2]}-{width}"
    screenshot(page, name)
    assert page.locator("[data-drill]").count() == 3
    assert run_axe(page) == []
    # Nothing wider than the phone's screen but the tables' own scrolling boxes.
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    # The overview's tabs lead there, beside Restore tasks.
    page.goto(page.base + "/backups/restores/")
    screenshot(page, f"drills-tab-{language[:2]}-{width}")
    page.click('.console-tabs a[data-tab="drills"]')
    page.wait_for_url("**/backups/drills/")
    page.goto(page.base + "/backups/drills/new/")
    page.fill("input[name=keep_hours]", "999")
    page.click("form.drill-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".invalid-feedback").count() >= 2  # keep time, clusters
    page.problems.clear()  # the refused form answers 400 on purpose
    screenshot(page, f"drill-form-{language[:2]}-{width}")
    assert run_axe(page) == []
