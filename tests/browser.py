"""Fixtures and data for the browser tests (tests/system/test_browser.py): a headless
Chromium driven by Playwright against pytest-django's live_server."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests import factories as f
from tests.services import require_chromium

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
USERNAME, PASSWORD = "operator", "pw-operator-123456"


@pytest.fixture
def browser(monkeypatch):
    """Playwright's sync API runs an event loop in this thread, so Django would
    refuse the plain synchronous ORM calls the tests make beside it (building
    data, checking rows).  Allow them only while the browser is up: set at
    import time, the variable leaked into the subprocesses of other tests
    (``manage.py check --deploy`` then warns about it)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, live_server, language="en-US", width=1440, height=900):
    context = browser.new_context(locale=language, viewport={"width": width, "height": height},
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    # What went wrong on the pages this tab opened: script errors, console
    # errors (a CSP refusal, a failed load) and error responses.
    page.problems = []
    page.on("console", lambda msg: page.problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    page.on("response", lambda r: page.problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return page


def assert_no_problems(page):
    assert not page.problems, page.problems


def log_in(page):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/backups/**")


def screenshot(page, name):
    """Photograph the page for a reviewer; nothing may have gone wrong on it."""
    page.wait_for_load_state()
    assert_no_problems(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def build_demo_data():
    """A small but varied picture: three clusters, every status of every kind."""
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    user.groups.add(Group.objects.get(name="operator"))
    now = timezone.now()
    east = f.make_cluster(name="prod-east", region="cn-hangzhou", zone="zone-h", db_version="4.2.1", data_version=10284)
    west = f.make_cluster(name="prod-west", region="cn-shanghai", zone="zone-b", db_version="4.2.1", data_version=8810)
    stage = f.make_cluster(name="staging", region="cn-beijing", db_version="4.3.0", status="maintenance")
    tenants = {c: [f.make_tenant(c, name=n) for n in ("sales", "billing")] for c in (east, west, stage)}
    for c in (east, west, stage):
        f.make_host(c, role="leader", zone="zone-a")
        f.make_host(c, zone="zone-b")
    policy = f.make_policy(east, log_delay_threshold_seconds=120, secondary_enabled=True,
                          secondary_destination=f.make_destination(name="oss-archive", kind="object", uri="oss://archive/bk"))
    f.make_policy(west, backup_method="logical", log_delay_threshold_seconds=300)

    data = {}
    base_set = f.make_backup_set(east, number=1001)
    full = f.make_data_task(east, tenant=tenants[east][0], backup_set=base_set, policy=policy, started_at=now - timedelta(days=2, hours=3),
                            storage_directory="/backup/prod-east/1001/full", data_version=10280, size_bytes=12_884_901_888)
    data["full"] = full
    data["incremental"] = f.make_data_task(east, tenant=tenants[east][0], backup_set=base_set, mode="incremental", policy=policy,
                                           started_at=now - timedelta(days=1, hours=3), storage_directory="/backup/prod-east/1001/inc-1")
    data["failed"] = f.make_data_task(east, tenant=tenants[east][1], status="failed", started_at=now - timedelta(hours=7),
                                      failure_reason="Storage destination unreachable: connect to 10.0.8.12:2049 timed out after 30 s",
                                      storage_directory="/backup/prod-east/1002/full")
    data["running"] = f.make_data_task(east, tenant=tenants[east][0], status="in_progress", progress=64, started_at=now - timedelta(minutes=40),
                                       storage_directory="/backup/prod-east/1003/full")
    f.make_data_task(west, tenant=tenants[west][0], backup_method="logical", started_at=now - timedelta(hours=20),
                     storage_directory="/backup/prod-west/logical/8810")
    f.make_data_task(west, tenant=tenants[west][1], backup_method="logical", status="failed", started_at=now - timedelta(days=3),
                     failure_reason="Compaction needed: data version 8801 was merged away before the backup finished")
    f.make_data_task(stage, started_at=now - timedelta(days=5))
    data["old"] = f.make_data_task(stage, started_at=now - timedelta(days=20))
    data["copy"] = f.make_secondary_data_task(full)
    f.make_secondary_data_task(data["incremental"], status="in_progress", started_at=now - timedelta(minutes=10))

    log_east = f.make_log_task(east, policy=policy, latest_point=now - timedelta(seconds=14), storage_directory="/backup/prod-east/clog")
    f.make_log_task(west, latest_point=now - timedelta(minutes=9, seconds=12), storage_directory="/backup/prod-west/clog")
    f.make_log_task(stage, status="stopped", latest_point=now - timedelta(hours=2, minutes=4))
    f.make_log_task(east, status="failed", started_at=now - timedelta(days=3), ended_at=now - timedelta(days=2), latest_point=now - timedelta(days=2))
    f.make_secondary_log_task(log_east)

    f.make_cleanup_task(east, started_at=now - timedelta(hours=5))
    f.make_cleanup_task(west, status="failed", started_at=now - timedelta(hours=9), ended_at=now - timedelta(hours=9) + timedelta(minutes=2),
                        failure_reason="Backup set 88 is still referenced by a restore")
    f.make_cleanup_task(stage, status="running", started_at=now - timedelta(minutes=3))
    f.make_cleanup_task(east, status="not_started", started_at=now - timedelta(minutes=1))
    data.update(east=east, west=west, stage=stage)
    return data
