"""The backup calendar in Chromium, in English and Chinese, at a desktop's and a
phone's width: no serious axe-core violation, nothing wider than the screen,
and screenshots (also copied to /work/shots/calendar/ when that exists)."""

import shutil
from datetime import time
from pathlib import Path

import pytest

from backups.choices import PolicyState
from backups.engine import schedules
from backups.models import RestoreDrillPolicy
from tests import factories as f
from tests.browser import SCREENSHOTS, browser, log_in, new_page, screenshot  # noqa: F401 - fixture
from tests.roles import user_in
from tests.system.test_machine_checks import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/work/shots/calendar")


def calendar_estate():
    from tests.browser import PASSWORD, USERNAME

    user = user_in("viewer", USERNAME)
    user.set_password(PASSWORD)
    user.save()
    nfs = f.make_destination(name="nfs-main")
    weekly = {"1": "full", "2": "incremental", "3": "incremental", "4": "full", "5": "incremental", "6": "incremental",
              "7": "incremental"}
    for name, at in (("prod-east", time(2, 0)), ("prod-west", time(2, 30)), ("billing", time(4, 15))):
        schedules.sync_periodic_task(f.make_policy(f.make_cluster(name=name), destination=nfs, run_at=at, schedule_days=weekly))
    schedules.sync_periodic_task(f.make_policy(f.make_cluster(name="archive"), run_at=time(22, 0), state=PolicyState.PAUSED,
                                               schedule_days={"6": "full"}))
    drill = RestoreDrillPolicy.objects.create(name="nightly-drill", target_cluster=f.make_cluster(name="drill-sandbox"),
                                              run_at=time(3, 30), schedule_days=[2, 5], all_clusters=True)
    schedules.sync_drill_task(drill)


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1440, 390])
def test_the_calendar(browser, live_server, language, width):
    calendar_estate()
    page = new_page(browser, live_server, language=language, width=width, height=1200)
    log_in(page)
    page.goto(page.base + "/backups/calendar/")
    name = f"calendar-{language[:2]}-{width}"
    screenshot(page, name)
    assert page.locator(".calendar-day").count() >= 7
    assert page.locator(".calendar-conflict").count() >= 2
    assert run_axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    if SHOTS.is_dir():
        shutil.copy(SCREENSHOTS / f"{name}.png", SHOTS / f"{name}.png")
