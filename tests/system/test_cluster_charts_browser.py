"""A cluster page's charts in a real headless Chromium, in English and Chinese
at 1440 and 390 px: the four charts draw (ECharts on a canvas) with no console
error and no request leaving the machine, the 30/90 switch is a plain link,
axe-core finds nothing serious, and nothing spills sideways on a phone.
Screenshots go to screenshots/cluster-charts-*.png (and SHOTS_DIR when set)
for a reviewer to look at."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.engine.samples import hour_of
from backups.models import LogDelaySample
from tests import factories as f
from tests.browser import browser, build_demo_data, log_in, new_page  # noqa: F401 (fixture)
from tests.system.test_machine_checks import run_axe
from tests.system.test_metrics_browser import shots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIB = 2**30
CHARTS = ("#chart-run-duration", "#chart-run-size", "#chart-log-delay", "#chart-storage")


@pytest.fixture
def demo(transactional_db):
    data = build_demo_data()
    east, now = data["east"], timezone.now()
    policy = east.policies.get()
    policy.destination.capacity_bytes = 2 * 2**40
    policy.destination.save()
    # Two months of runs: a weekly full and daily incrementals on it, the
    # oldest sets deleted by cleanup as a week's retention passes.
    backup_set = None
    for day in range(60, 2, -1):
        started = now - timedelta(days=day, hours=3)
        full = day % 7 == 0 or backup_set is None
        if full:
            if backup_set is not None and day < 55:
                backup_set.expired_at = started
                backup_set.save()
            backup_set = f.make_backup_set(east)
        size = (400 + (60 - day) * 3) * GIB if full else (8 + day % 5 * 3) * GIB
        minutes = size / GIB / 7 + 5
        task = f.make_data_task(east, policy=policy, tenant=None, backup_set=backup_set, mode="full" if full else "incremental",
                                started_at=started, ended_at=started + timedelta(minutes=minutes), size_bytes=size)
        if full:
            f.make_secondary_data_task(task, destination=policy.secondary_destination,
                                       started_at=task.ended_at, ended_at=task.ended_at + timedelta(minutes=40))
    # Hourly delay samples: seconds, with a stall of an hour and a half two days ago.
    hour = hour_of(now)
    LogDelaySample.objects.bulk_create([
        LogDelaySample(cluster=east, hour=hour - timedelta(hours=h),
                       delay_seconds=5400 if 46 <= h <= 48 else 10 + (h * 37) % 50)
        for h in range(0, 24 * 40)
    ])
    return data


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_the_cluster_charts(browser, live_server, demo, language, suffix):
    east = demo["east"]
    for width, height in ((1440, 900), (390, 844)):
        page = new_page(browser, live_server, language=language, width=width, height=height)
        elsewhere = []
        page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server.url) else None)
        log_in(page)
        page.goto(page.base + f"/clusters/{east.pk}/")
        for chart in CHARTS:
            page.wait_for_selector(f"{chart} canvas")
            box = page.locator(f"{chart} canvas").first.bounding_box()
            assert box["width"] > 200 and box["height"] > 150, (chart, box)
        assert page.locator("#storage-forecasts li").count() == 2  # the primary destination and the copies'
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page spills sideways"
        assert run_axe(page) == []
        for folder in shots():
            page.screenshot(path=str(folder / f"cluster-charts-{suffix}-{width}.png"), full_page=True)
        # The 90-day switch is a link: it works without a script.
        page.locator('.cluster-charts a[href^="?days=90"]').click()
        page.wait_for_url("**/?days=90*")
        page.wait_for_selector("#chart-run-duration canvas")
        assert page.locator('.cluster-charts a[aria-current="true"]').inner_text() in ("90 days", "90 天")
        assert page.locator("#runs-table tbody tr").count() == 58 + 2  # and the demo's full and incremental
        assert run_axe(page) == []
        # The switch lands on the charts, below the sticky navigation bar.
        top = page.locator("#cluster-charts").bounding_box()["y"]
        assert top >= page.locator("nav.navbar").first.bounding_box()["height"], top
        if width == 1440:
            page.evaluate("() => window.scrollTo(0, 0)")
            for folder in shots():
                page.screenshot(path=str(folder / f"cluster-charts-{suffix}-90d.png"), full_page=True)
        assert elsewhere == [], elsewhere
        assert page.problems == [], page.problems
        page.context.close()
