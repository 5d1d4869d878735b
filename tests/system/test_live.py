"""Live pages in a real Chromium against a real Celery worker (issue 11,
acceptance 3): a list left open shows what a worker did within 10 s without
a reload, while a half-filled custom range in the same page survives; and the
refresh waits while the operator has a field, a dialog or a row open."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from backups.engine import services
from backups.models import DataBackupTask, LogBackupTask
from tests import factories as f
from tests.browser import PASSWORD, USERNAME, assert_no_problems, browser, log_in, new_page, screenshot  # noqa: F401 (fixture)
from tests.worker import celery_cluster, wait_until  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def operator():
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    user.groups.add(Group.objects.get(name="operator"))
    return user


def log_row(page, pk):
    return page.locator("tr", has=page.locator(f'a[href="/backups/logs/{pk}/"]'))


def badge_of(row):
    return row.locator(".status-badge").inner_text().strip()


def test_a_list_left_open_shows_what_a_worker_did_and_keeps_a_half_typed_range(celery_cluster, browser, live_server):
    # celery_cluster first: its teardown, which ends every other session on
    # the test database, then runs after Playwright's, whose greenlet holds a
    # database connection of its own (the test database's flush needs it).
    celery_cluster.worker()
    user = operator()
    cluster = f.make_cluster(name="prod-east")
    log = f.make_log_task(cluster, host=f.make_host(cluster, role="leader"))
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/logs/")
    row = log_row(page, log.pk)
    assert badge_of(row) == "In progress"
    page.evaluate("window.notReloaded = true")

    # Half a custom range: a start, and only the month of an end.
    page.click('label[data-range="custom"]')
    page.fill("#id_start", "2026-11-01T08:30")
    page.focus("#id_end")
    page.keyboard.type("11")
    assert page.evaluate("document.getElementById('id_end').validity.badInput")
    page.locator("h1").click()  # the operator looks away from the filter bar
    assert page.locator(".range-presets .active").inner_text().strip() == "Custom"

    # The operator asks to stop; the worker finishes the stop.
    services.stop_log_backup("log", log.pk, user)
    wait_until(lambda: LogBackupTask.objects.get(pk=log.pk).status == "stopped", timeout=10, message="the worker's stop")
    stopped_at = time.monotonic()
    page.wait_for_function(
        f"""() => {{ const link = document.querySelector('a[href="/backups/logs/{log.pk}/"]');
                    return link && link.closest('tr').querySelector('.status-badge').textContent.trim() === 'Stopped'; }}""",
        timeout=10_000,
    )
    shown_after = time.monotonic() - stopped_at
    assert shown_after < 10, shown_after
    assert page.evaluate("window.notReloaded === true")  # refreshed in place, not reloaded
    assert page.url == page.base + "/backups/logs/"
    # What was typed is still there.
    assert page.input_value("#id_start") == "2026-11-01T08:30"
    assert page.evaluate("document.getElementById('id_end').validity.badInput")
    # Start is offered on the stopped row now, from the refreshed fragment.
    assert row.locator("form[action$='/start/']").count() == 1
    screenshot(page, "en-logs-live-refreshed")
    print(f"state change shown {shown_after:.1f} s after the worker made it")
    assert_no_problems(page)
    page.context.close()  # no refresh in flight when the servers stop


@pytest.mark.django_db(transaction=True)
def test_the_refresh_waits_for_a_focused_field_an_open_dialog_and_an_expanded_row(browser, live_server, settings):
    settings.LIVE_REFRESH_SECONDS = 1
    operator()
    cluster = f.make_cluster(name="prod-east")
    now = timezone.now()
    running = f.make_data_task(cluster, status="in_progress", progress=30, started_at=now - timedelta(minutes=12))
    failed = f.make_data_task(cluster, status="failed", started_at=now - timedelta(hours=2), failure_reason="Storage destination unreachable")
    DataBackupTask.objects.filter(pk=running.pk).update(updated_at=now - timedelta(minutes=2))
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/data/")
    refreshes = []
    page.on("request", lambda r: refreshes.append(r.url) if r.headers.get("hx-request") == "true" else None)
    progress = f'tr[data-task="{running.pk}"] progress'
    assert page.locator(progress).get_attribute("value") == "30"
    screenshot(page, "en-data-live-progress")

    def progress_now(value):
        DataBackupTask.objects.filter(pk=running.pk).update(progress=value)

    def stays(value, seconds=2.5):
        time.sleep(seconds)
        assert page.locator(progress).get_attribute("value") == value

    def follows(value):
        page.wait_for_function(f"() => document.querySelector('{progress}').getAttribute('value') === '{value}'", timeout=5_000)

    # A field in focus: no refresh; gone from it: the rows follow again.
    page.focus("#id_start")
    progress_now(40)
    stays("30")
    page.locator("h1").click()
    follows("40")

    # The reason dialog open: the rows wait.
    page.click(f'tr[data-task="{failed.pk}"] .view-reason')
    modal = page.locator("#reason-modal")
    modal.wait_for(state="visible")
    progress_now(50)
    stays("40")
    modal.locator(".btn-close").click()
    modal.wait_for(state="hidden")
    follows("50")

    # An expanded row: the rows wait, and it stays open.
    page.click(f'[data-bs-target="#task-{running.pk}-details"]')
    details = page.locator(f"#task-{running.pk}-details")
    details.wait_for(state="visible")
    progress_now(60)
    stays("50")
    assert details.is_visible()
    page.click(f'[data-bs-target="#task-{running.pk}-details"]')
    details.wait_for(state="hidden")
    follows("60")
    assert len(refreshes) >= 3 and all(url == page.base + "/backups/data/" for url in refreshes), refreshes
    assert_no_problems(page)  # htmx under the strict CSP: no refused script or style
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_the_cluster_and_task_pages_refresh_their_state(browser, live_server, settings):
    settings.LIVE_REFRESH_SECONDS = 1
    operator()
    cluster = f.make_cluster(name="prod-east")
    running = f.make_data_task(cluster, status="in_progress", progress=10, started_at=timezone.now() - timedelta(minutes=5))
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + f"/backups/data/{running.pk}/")
    assert page.locator(".page-header .status-badge").inner_text().strip() == "In progress"
    DataBackupTask.objects.filter(pk=running.pk).update(status="failed", ended_at=timezone.now(), failure_reason="Disk full")
    page.wait_for_function("() => document.querySelector('.page-header .status-badge').textContent.trim() === 'Failed'", timeout=5_000)
    assert page.locator("#failure-reason").inner_text().strip().endswith("Disk full")
    page.goto(page.base + f"/clusters/{cluster.pk}/")
    assert f"#{running.pk}" in page.locator("#recent-failures").inner_text()
    assert "Backup set 88" not in page.locator("#recent-failures").inner_text()
    f.make_cleanup_task(cluster, status="failed", started_at=timezone.now() - timedelta(minutes=1), ended_at=timezone.now(),
                        failure_reason="Backup set 88 is still referenced")
    page.wait_for_function("() => document.querySelector('#recent-failures').textContent.includes('Backup set 88')", timeout=5_000)
    screenshot(page, "en-cluster-live")
    assert_no_problems(page)
    page.context.close()
