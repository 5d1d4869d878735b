"""The cleanup preview on a policy's page and a cluster's page in a real
headless Chromium, in English and Chinese at 1440 and 390 px (axe-core finds
nothing serious, nothing spills sideways, no request leaves the machine), and
the overview's core metrics refreshing in place, paused while a list under a
figure or a dialog is open or the tab is hidden.  Screenshots go to
screenshots/cleanup-preview-*.png (and SHOTS_DIR when set)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from backups.engine import intervals
from tests import factories as f
from tests.browser import browser, build_demo_data, log_in, new_page  # noqa: F401 (fixture)
from tests.system.test_machine_checks import run_axe
from tests.system.test_metrics_browser import shots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _set(cluster, days_ago, size, tenant=None, incrementals=()):
    now = timezone.now()
    backup_set = f.make_backup_set(cluster, created_at=now - timedelta(days=days_ago), tenant=tenant)
    full = f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, size_bytes=size,
                            started_at=now - timedelta(days=days_ago))
    for inc in incrementals:
        f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, mode="incremental", size_bytes=size // 5,
                         started_at=now - timedelta(days=inc))
    return backup_set, full


@pytest.fixture
def estate(transactional_db):
    data = build_demo_data()
    now = timezone.now()
    cluster = f.make_cluster(name="prod-archive-hz-07", region="cn-hangzhou", zone="zone-j")
    tenants = [f.make_tenant(cluster, name=name) for name in ("sales", "billing_history", "ops")]
    f.make_host(cluster, role="leader")
    policy = f.make_policy(cluster, retention_days=7)
    f.make_log_task(cluster, policy=policy, started_at=now - timedelta(days=60), latest_point=now - timedelta(minutes=1))
    for days in (45, 38, 31, 24, 17):
        _set(cluster, days, (300 + days * 7) * 2**30, incrementals=[days - 2, days - 4])
    _, read_full = _set(cluster, 14, 420 * 2**30)
    _set(cluster, 10, 410 * 2**30, incrementals=[8, 6])  # the window's anchor
    _set(cluster, 3, 400 * 2**30)
    f.make_restore_task(cluster, source_tenant=tenants[0], data_task_ids=[read_full.pk])
    intervals.refresh(cluster.pk)
    return {**data, "archive": cluster, "archive_policy": policy}


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_the_cleanup_preview_on_the_policy_and_cluster_pages(browser, live_server, estate, language, suffix):
    pages = {"policy": f"/backups/policies/{estate['archive_policy'].pk}/",
             "cluster": f"/clusters/{estate['archive'].pk}/"}
    for width, height in ((1440, 900), (390, 844)):
        page = new_page(browser, live_server, language=language, width=width, height=height)
        elsewhere = []
        page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server.url) else None)
        log_in(page)
        for name, url in pages.items():
            page.goto(page.base + url)
            preview = page.locator("#cleanup-preview")
            preview.scroll_into_view_if_needed()
            assert preview.locator("h2").inner_text() == ("Next cleanup" if suffix == "en" else "下次清理")
            assert preview.locator("tr[data-set-id]").count() == 5  # the set the restore reads stays
            tenants = preview.locator("tr[data-tenant-id]")
            assert tenants.count() >= 3 and preview.locator("tr[data-tenant-id].table-warning").count() == tenants.count()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width, (name, "spills sideways")
            assert run_axe(page) == [], name
            for folder in shots():
                if name == "cluster":  # the preview itself, not the whole page
                    preview.screenshot(path=str(folder / f"cleanup-preview-{name}-{suffix}-{width}.png"))
                else:
                    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top, not mid-page
                    page.screenshot(path=str(folder / f"cleanup-preview-{name}-{suffix}-{width}.png"), full_page=True)
        assert elsewhere == [], elsewhere
        assert page.problems == [], page.problems
        page.context.close()


def running_count(page):
    return int(page.locator(".metric-running .metric-count").first.inner_text())


def test_the_core_metrics_refresh_in_place_and_wait_for_the_operator(browser, live_server, estate, settings):
    settings.LIVE_REFRESH_SECONDS = 1
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/")
    page.evaluate("window.notReloaded = true")
    before = running_count(page)

    def another_backup():  # one running data backup per cluster: each on a cluster of its own
        f.make_data_task(f.make_cluster(), status="in_progress", started_at=timezone.now() - timedelta(minutes=1))

    another_backup()
    page.wait_for_function(f"() => +document.querySelector('.metric-running .metric-count').textContent == {before + 1}")

    # A list under a figure is open: the figures wait.
    page.locator('a[href="#m-not-backed-up"]').click()
    another_backup()
    time.sleep(3)
    assert running_count(page) == before + 1 and page.locator("#m-not-backed-up").evaluate("el => el.open")
    page.locator("#m-not-backed-up summary").click()
    page.wait_for_function(f"() => +document.querySelector('.metric-running .metric-count').textContent == {before + 2}")

    # The tab is hidden: they wait; shown again, they catch up.
    page.evaluate("Object.defineProperty(document, 'hidden', {value: true, configurable: true})")
    another_backup()
    time.sleep(3)
    assert running_count(page) == before + 2
    page.evaluate("Object.defineProperty(document, 'hidden', {value: false, configurable: true})")
    page.wait_for_function(f"() => +document.querySelector('.metric-running .metric-count').textContent == {before + 3}")

    # A dialog is open: they wait too.
    page.evaluate("document.body.classList.add('modal-open')")
    another_backup()
    time.sleep(3)
    assert running_count(page) == before + 3
    page.evaluate("document.body.classList.remove('modal-open')")
    page.wait_for_function(f"() => +document.querySelector('.metric-running .metric-count').textContent == {before + 4}")

    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#chart-outcomes canvas").count() >= 1  # the charts were left as drawn
    assert page.problems == [], page.problems
    page.context.close()
