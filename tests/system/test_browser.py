"""The overview in a real headless Chromium (issue 3, acceptance 3).

Every tab is opened and photographed in English and Chinese under
screenshots/ (gitignored), so a reviewer can look at them."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from backups.engine.outcomes import failure_of
from tests.browser import assert_no_problems, browser, build_demo_data, log_in, new_page, screenshot  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABS = [
    ("data", "/backups/data/"),
    ("logs", "/backups/logs/"),
    ("cleanups", "/backups/cleanups/"),
    ("secondary_data", "/backups/secondary/data/"),
    ("secondary_logs", "/backups/secondary/logs/"),
]


@pytest.fixture
def demo(transactional_db):
    return build_demo_data()


def test_every_tab_in_english_and_chinese(browser, live_server, demo):
    failed = demo["failed"]
    for language, suffix in (("en-US", "en"), ("zh-CN", "zh")):
        page = new_page(browser, live_server, language=language)
        log_in(page)
        for key, path in TABS:
            page.goto(page.base + path)
            assert page.locator(f'[data-tab="{key}"].active').count() == 1
            assert page.locator("table.console-table tbody tr").first.is_visible()
            assert not page.locator("table.console-table tbody tr.empty-row").count()
            screenshot(page, f"{suffix}-{key}")
        page.goto(page.base + f"/clusters/{demo['east'].pk}/")
        assert page.locator("h1").inner_text() == "prod-east"
        assert page.get_by_text("10284").first.is_visible()  # its data version
        screenshot(page, f"{suffix}-cluster-overview")
        page.goto(page.base + "/clusters/")
        rows = page.locator("table tbody tr")
        for name in ("prod-east", "prod-west", "staging"):
            assert rows.filter(has_text=name).first.is_visible(), name
        screenshot(page, f"{suffix}-clusters")
        page.goto(page.base + f"/backups/data/{failed.pk}/")
        assert f"#{failed.pk}" in page.locator("h1").inner_text()
        assert page.locator("#failure-reason .failure-reason").inner_text() == failure_of(failed)
        screenshot(page, f"{suffix}-data-detail")
        if suffix == "zh":
            page.goto(page.base + "/backups/data/")
            assert page.locator("h1").inner_text() == "备份概览"
            assert page.get_by_text("数据备份任务").first.is_visible()
            assert page.get_by_text("进行中").first.is_visible()
        assert_no_problems(page)
        page.context.close()


def test_login_page_is_styled(browser, live_server, demo):
    page = new_page(browser, live_server)
    page.goto(page.base + "/accounts/login/")
    assert page.locator(".login-card").is_visible()
    assert page.locator("input[name=username]").is_visible() and page.locator("input[name=password]").is_visible()
    # Styled by the console's stylesheet: the card has a background and a shadow.
    card = page.eval_on_selector(".login-card", "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).boxShadow]")
    assert card[0] not in ("rgba(0, 0, 0, 0)", "transparent") and card[1] != "none", card
    screenshot(page, "en-login")
    page.context.close()


def test_range_presets_and_custom_range(browser, live_server, demo):
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/data/")
    ids = lambda: page.locator("tr[data-task]").evaluate_all("rows => rows.map(r => r.dataset.task)")  # noqa: E731
    assert str(demo["old"].pk) not in ids()  # 20 days old: outside the default 7 days
    page.click('a[data-range="24h"]')
    page.wait_for_url(re.compile(r"range=24h"))
    assert str(demo["full"].pk) not in ids() and str(demo["running"].pk) in ids()
    page.click('a[data-range="30d"]')
    page.wait_for_url(re.compile(r"range=30d"))
    assert str(demo["old"].pk) in ids()
    # A custom range typed into the date and time inputs: that whole day.
    day = demo["old"].started_at.date()
    start, end = f"{day.isoformat()}T00:00", f"{(day + timedelta(days=1)).isoformat()}T00:00"
    page.click('label[data-range="custom"]')
    page.fill("#id_start", start)
    page.fill("#id_end", end)
    page.click("#filter-form button[type=submit]")
    page.wait_for_url(re.compile(r"start="))
    assert ids() == [str(demo["old"].pk)]
    # The address says it is a custom range, and the page shows what was typed.
    query = parse_qs(urlparse(page.url).query)
    assert query["range"] == ["custom"] and query["start"] == [start] and query["end"] == [end]
    assert page.input_value("#id_start") == start and page.input_value("#id_end") == end
    assert page.locator(".range-presets .active").first.inner_text().strip() == "Custom"
    # The end before the start: refused, both kept, the error on the end field.
    page.fill("#id_end", f"{(day - timedelta(days=1)).isoformat()}T08:00")
    page.click("#filter-form button[type=submit]")
    page.wait_for_load_state()
    assert page.input_value("#id_start") == start
    assert page.locator("#id_end.is-invalid").count() == 1
    assert "The end must be after the start." in page.locator("#id_end_error").inner_text()
    assert page.locator(".range-presets .active").first.inner_text().strip() == "Custom"
    page.problems[:] = [p for p in page.problems if "400" not in p]  # the refused filters' own status
    screenshot(page, "en-data-custom-range-refused")
    page.go_back()
    screenshot(page, "en-data-custom-range")


def test_expand_row_reason_and_links(browser, live_server, demo):
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/data/")
    running = demo["running"]
    details = page.locator(f"#task-{running.pk}-details")
    assert not details.is_visible()
    page.click(f'[data-bs-target="#task-{running.pk}-details"]')
    details.wait_for(state="visible")
    assert running.storage_directory in details.inner_text()
    assert "Physical" in details.inner_text()
    screenshot(page, "en-data-expanded")

    failed = demo["failed"]
    page.click(f'tr[data-task="{failed.pk}"] .view-reason')
    modal = page.locator("#reason-modal")
    modal.wait_for(state="visible")
    assert "Storage destination unreachable" in modal.inner_text()
    screenshot(page, "en-data-failure-reason")
    modal.locator(".btn-close").click()
    modal.wait_for(state="hidden")

    # A status badge filters the list by that status.
    page.click(f'tr[data-task="{failed.pk}"] .status-badge')
    page.wait_for_url(re.compile(r"status=failed"))
    assert page.locator("tr[data-task]").count() >= 1
    assert page.locator("#status-failed").is_checked()

    # OV-3c: "Yes" leads to the task's secondary copies.
    page.goto(page.base + "/backups/data/")
    page.locator(f'tr[data-task="{demo["full"].pk}"]').get_by_role("link", name="Yes").click()
    page.wait_for_url(re.compile(r"/backups/secondary/data/\?.*source="))
    assert page.locator("table.console-table tbody tr").count() == 1
    assert str(demo["copy"].pk) in page.locator("table.console-table tbody").inner_text()

    # OV-6: the backup-set ID leads to every data task of that set.
    page.get_by_role("link", name="1001").click()
    page.wait_for_url(re.compile(r"/backups/data/\?.*backup_set="))
    shown = page.locator("tr[data-task]").evaluate_all("rows => rows.map(r => r.dataset.task)")
    assert sorted(shown) == sorted([str(demo["full"].pk), str(demo["incremental"].pk)])

    # OV-3b: the cluster name leads to its overview.
    page.locator(f'tr[data-task="{demo["full"].pk}"]').get_by_role("link", name="prod-east").click()
    page.wait_for_url(f"**/clusters/{demo['east'].pk}/")
    assert page.locator("h1").inner_text() == "prod-east"
    assert_no_problems(page)


def test_switch_to_chinese_and_back(browser, live_server, demo):
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/logs/")
    page.click('.language-switcher button[value="zh-hans"]')
    page.wait_for_load_state()
    assert "日志备份任务" in page.locator(".console-tabs").inner_text()
    assert "/backups/logs/" in page.url
    page.click('.language-switcher button[value="en"]')
    page.wait_for_load_state()
    assert "Log backup tasks" in page.locator(".console-tabs").inner_text()
    assert_no_problems(page)


def test_narrow_window(browser, live_server, demo):
    page = new_page(browser, live_server, width=420, height=860)
    log_in(page)
    page.goto(page.base + "/backups/data/")
    assert page.locator(".table-responsive").count() == 1
    assert page.locator(f'tr[data-task="{demo["running"].pk}"]').is_visible()
    # The wide table scrolls inside its box (so its last column can be
    # reached); the page itself does not scroll sideways.
    widths = page.evaluate("""() => {
        const box = document.querySelector('.table-responsive');
        box.scrollLeft = box.scrollWidth;
        return {page: document.documentElement.scrollWidth, window: window.innerWidth,
                table: box.scrollWidth, box: box.clientWidth, scrolled: box.scrollLeft};
    }""")
    assert widths["page"] <= widths["window"], widths
    assert widths["table"] > widths["box"] and widths["scrolled"] > 0, widths
    screenshot(page, "en-data-narrow")


def test_policy_form_keeps_log_backup_on_for_physical(browser, live_server, demo):
    """The checkbox says what the server enforces: locked on for physical,
    free for logical, and a physical policy saved from the page keeps it on."""
    from backups.models import BackupPolicy

    page = new_page(browser, live_server)
    log_in(page)
    page.goto(page.base + "/backups/policies/new/")
    log_box = page.locator("input[type=checkbox][name=log_backup_enabled]")
    assert log_box.is_checked() and log_box.is_disabled()
    page.check("input[name=backup_method][value=logical]")
    assert log_box.is_enabled()
    log_box.uncheck()
    page.check("input[name=backup_method][value=physical]")
    assert log_box.is_checked() and log_box.is_disabled()
    page.select_option("select[name=cluster]", label="staging")
    page.select_option("select[name=destination]", index=1)
    page.fill("input[name=directory]", "/staging")
    with page.expect_navigation():
        page.click("form.policy-form button[type=submit]")
    assert page.url.endswith("/backups/policies/"), page.locator(".invalid-feedback, .alert").all_inner_texts()
    policy = BackupPolicy.objects.get(cluster=demo["stage"])
    assert policy.backup_method == "physical" and policy.log_backup_enabled
    assert_no_problems(page)


def _sign_in(page, username, password):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/backups/**")


def test_each_role_sees_its_own_buttons_and_every_failure_reason(browser, live_server, demo):
    """Issue 11: a viewer is offered no Stop/Start, instant backup or new
    policy; an operator gets Start only on a cluster's current log backup;
    a failed log backup's reason opens from its row."""
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import expect

    from backups.models import LogBackupTask
    from tests import factories as f
    from tests.roles import PASSWORD, user_in

    now = timezone.now()
    ancient = f.make_log_task(demo["stage"], status="stopped", started_at=now - timedelta(days=22),
                              ended_at=now - timedelta(days=21), latest_point=now - timedelta(days=21))
    current = LogBackupTask.objects.filter(cluster=demo["stage"]).exclude(pk=ancient.pk).get()
    failed = LogBackupTask.objects.get(cluster=demo["east"], status="failed")
    user_in("viewer", "viewer")

    page = new_page(browser, live_server)
    log_in(page)  # the demo's operator
    page.goto(page.base + "/backups/logs/?range=30d")
    starts = page.locator("form[action$='/start/']").evaluate_all("forms => forms.map(f => f.getAttribute('action'))")
    assert starts == [f"/backups/logs/{current.pk}/start/"]
    assert page.locator("form[action$='/stop/']").count() == 2  # the two running ones
    assert page.get_by_role("link", name="Instant backup").is_visible()
    page.locator(f'a.view-reason[data-reason-for="{failed.pk}"]').click()
    modal = page.locator("#reason-modal")
    modal.wait_for(state="visible")
    assert failure_of(failed) in modal.inner_text()
    expect(modal).to_have_css("opacity", "1")  # faded in
    screenshot(page, "en-logs-operator-reason")
    modal.locator(".btn-close").click()
    modal.wait_for(state="hidden")
    page.locator(".modal-backdrop").wait_for(state="detached")  # its fade-out
    screenshot(page, "en-logs-operator")
    page.context.close()

    page = new_page(browser, live_server)
    _sign_in(page, "viewer", PASSWORD)
    page.goto(page.base + "/backups/logs/?range=30d")
    assert page.locator("form[action$='/start/'], form[action$='/stop/']").count() == 0
    assert page.get_by_role("link", name="Instant backup").count() == 0
    assert page.get_by_role("link", name="New backup policy").count() == 0
    assert page.locator(f'a.view-reason[data-reason-for="{failed.pk}"]').is_visible()  # reading is for everyone
    assert page.locator(f'a[href="/backups/logs/{ancient.pk}/"]').is_visible()
    screenshot(page, "en-logs-viewer")
    assert_no_problems(page)
    page.context.close()


def test_error_pages_keep_the_console_frame(browser, live_server, demo):
    from tests.roles import PASSWORD, user_in

    user_in("viewer", "viewer")
    for language, suffix, heading, back in (("en-US", "en", "You may not do this", "Back to the backup overview"),
                                            ("zh-CN", "zh", "无权执行此操作", "返回备份概览")):
        page = new_page(browser, live_server, language=language)
        _sign_in(page, "viewer", PASSWORD)
        # An operator's form, opened from the log list: 403 for a viewer.
        page.goto(page.base + "/backups/instant/", referer=page.base + "/backups/logs/")
        assert page.locator(".console-navbar").is_visible()
        assert page.locator(".error-page h1").inner_text() == heading
        card = page.eval_on_selector(".error-page", "el => getComputedStyle(el).backgroundColor")
        assert card not in ("rgba(0, 0, 0, 0)", "transparent"), card  # styled by the console's stylesheet
        assert page.locator("[data-back]").get_attribute("href") == "/backups/logs/"
        # The page's own status, and nothing else (no asset failed, no script or CSP error).
        problems, page.problems[:] = page.problems[:], []
        assert [p for p in problems if "403" not in p] == [] and f"HTTP 403 {page.base}/backups/instant/" in problems, problems
        screenshot(page, f"{suffix}-error-403")
        page.goto(page.base + "/backups/logs/1/stop/")  # a button's address opened by hand: 405
        assert page.locator('.error-page[data-error="405"]').count() == 1
        page.goto(page.base + "/backups/no-such-page/")
        assert page.locator('.error-page[data-error="404"]').count() == 1
        problems, page.problems[:] = page.problems[:], []
        assert [p for p in problems if "404" not in p and "405" not in p] == [], problems
        screenshot(page, f"{suffix}-error-404")
        page.get_by_role("link", name=back).click()
        page.wait_for_url("**/backups/")
        assert page.locator("h1").inner_text() in ("Backup overview", "备份概览")
        assert_no_problems(page)
        page.context.close()


def test_sign_in_page_switches_language_both_ways_and_says_signed_out(browser, live_server, demo):
    page = new_page(browser, live_server)
    page.goto(page.base + "/accounts/login/")
    page.click('.language-switcher button[value="zh-hans"]')
    page.wait_for_url("**/accounts/login/")
    assert page.locator(".login-card button[type=submit]").inner_text() == "登录"
    page.click('.language-switcher button[value="en"]')
    page.wait_for_url("**/accounts/login/")
    assert page.locator(".login-card button[type=submit]").inner_text() == "Sign in"
    log_in(page)
    # The sign-out address opened by hand asks; its button signs out and says so.
    page.goto(page.base + "/accounts/logout/")
    page.locator('[data-page="logout-confirm"] button[type=submit]').click()
    page.wait_for_url("**/accounts/login/")
    assert "You are signed out." in page.locator(".console-messages").inner_text()
    screenshot(page, "en-signed-out")
    assert_no_problems(page)
    page.context.close()
