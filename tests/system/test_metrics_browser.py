"""The overview's core metrics and charts in a real headless Chromium, in
English and Chinese at 1440 and 390 px: the charts draw (ECharts on a canvas)
with no console error and no request leaving the machine, axe-core finds
nothing serious, and nothing spills sideways on a phone.  Screenshots go to
screenshots/metrics-*.png (and SHOTS_DIR when set) for a reviewer to look at."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from backups.engine import intervals
from backups.engine.rollups import rebuild_rollups
from clusters.models import Cluster
from tests import factories as f
from tests.browser import SCREENSHOTS, browser, build_demo_data, log_in, new_page  # noqa: F401 (fixture)
from tests.system.test_machine_checks import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    data = build_demo_data()
    now = timezone.now()
    # A month of history, so the charts have something to show.
    for day in range(1, 30):
        for n in range(day % 4 + 1):
            started = now - timedelta(days=day, hours=n * 3)
            failed = (day + n) % 7 == 0
            f.make_data_task(data["stage"], started_at=started, status="failed" if failed else "completed",
                             size_bytes=(20 + (day * 7 + n * 13) % 60) * 2**30)
    rebuild_rollups()
    for cluster_id in Cluster.objects.values_list("pk", flat=True):
        intervals.refresh(cluster_id)
    return data


def shots():
    folders = [SCREENSHOTS]
    if os.environ.get("SHOTS_DIR"):
        folders.append(Path(os.environ["SHOTS_DIR"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_the_overview_metrics_and_charts(browser, live_server, demo, language, suffix):
    for width, height in ((1440, 900), (390, 844)):
        page = new_page(browser, live_server, language=language, width=width, height=height)
        elsewhere = []
        page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server.url) else None)
        log_in(page)
        page.goto(page.base + "/backups/")
        section = page.locator("section.core-metrics")
        assert section.is_visible()
        assert section.locator("h2").inner_text() == ("Core metrics" if suffix == "en" else "核心指标")
        # ECharts drew both charts on canvases.
        for chart in ("#chart-outcomes", "#chart-volume"):
            page.wait_for_selector(f"{chart} canvas")
            box = page.locator(f"{chart} canvas").first.bounding_box()
            assert box["width"] > 200 and box["height"] > 150, (chart, box)
        # A figure's link opens the list it counts.
        page.locator('a[href="#m-not-backed-up"]').click()
        assert page.locator("#m-not-backed-up").evaluate("el => el.open")
        page.locator("#m-not-backed-up").evaluate("el => { el.open = false; }")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page spills sideways"
        assert run_axe(page) == []
        for folder in shots():
            page.screenshot(path=str(folder / f"metrics-{suffix}-{width}.png"), full_page=True)
        assert elsewhere == [], elsewhere
        assert page.problems == [], page.problems
        page.context.close()
