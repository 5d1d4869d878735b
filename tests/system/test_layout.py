"""The layout at a desk and on a phone (issue 11, item 11), measured in Chromium.

In Chinese at 1440 px no badge, button or short label may wrap; at 390 px no
tab or button may be cut off (it is inside the window, or inside a box that
scrolls sideways far enough to show it), the page itself does not scroll
sideways, and a log row stays one line high."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories as f
from tests.browser import browser, build_demo_data, log_in, new_page, screenshot  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = ["/backups/data/?range=30d", "/backups/logs/?range=30d", "/backups/cleanups/?range=30d",
         "/backups/secondary/data/?range=30d", "/backups/secondary/logs/?range=30d"]

# How many lines of text an element's own text runs over.
LINES = """el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0).sort((a, b) => a.top - b.top);
    let lines = 0, bottom = -Infinity;
    for (const r of rects) { if (r.top >= bottom - 2) { lines += 1; bottom = r.bottom; } else { bottom = Math.max(bottom, r.bottom); } }
    return lines;
}"""

# Elements cut off: outside the window, or outside a box that clips them, once
# the nearest box that scrolls sideways has been scrolled to show them.
CLIPPED = """els => els.map(el => {
    if (el.offsetParent === null || getComputedStyle(el).visibility === 'hidden') return null;
    for (let a = el.parentElement; a; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if ((ox === 'auto' || ox === 'scroll') && a.scrollWidth > a.clientWidth + 1) {
            const er = el.getBoundingClientRect(), ar = a.getBoundingClientRect();
            if (er.left < ar.left) a.scrollLeft -= ar.left - er.left;
            else if (er.right > ar.right) a.scrollLeft += er.right - ar.right;
            break;
        }
    }
    const r = el.getBoundingClientRect(), by = [];
    if (r.left < -1 || r.right > innerWidth + 1) by.push('the window');
    for (let a = el.parentElement; a; a = a.parentElement) {
        if (getComputedStyle(a).overflowX === 'visible') continue;
        const ar = a.getBoundingClientRect();
        if (r.left < ar.left - 1 || r.right > ar.right + 1) by.push(a.tagName.toLowerCase() + '.' + [...a.classList].join('.'));
    }
    return by.length ? `"${el.textContent.trim()}" cut off by ${by.join(', ')}` : null;
}).filter(Boolean)"""


@pytest.fixture
def demo(transactional_db):
    data = build_demo_data()
    # A long storage directory squeezes the other columns, as real paths do.
    f.make_log_task(data["west"], status="stopped", latest_point=timezone.now() - timedelta(hours=3),
                    storage_directory="/obbackup/prod-west/tenant-billing/archivelog/round-0007/piece-0031/"
                                      "2026-11-30T17-00-00Z/cn-hangzhou-zone-b/observer-10.0.0.38-2882/clog")
    return data


def test_badges_buttons_and_labels_stay_on_one_line_in_chinese_at_1440(browser, live_server, demo):
    page = new_page(browser, live_server, language="zh-CN", width=1440)
    log_in(page)
    wrapped, checked = [], set()
    for path in LISTS + ["/backups/policies/", "/clusters/"]:
        page.goto(page.base + path)
        checked.update(page.locator("main td, main .btn").all_inner_texts())
        # Every badge and button, and every cell of a task list but a storage directory (a path may break).
        # The status cell of a running backup holds its badge and, below it, its progress bar.
        cells = (", table.console-table tbody tr:not(.row-details) > td:not(.text-break):not(:has(.task-progress-cell))"
                 if path in LISTS else "")
        for el in page.locator(f"main .badge, main .btn{cells}").all():
            if el.is_visible() and el.evaluate(LINES) > 1:
                wrapped.append(f"{path}: {el.inner_text()!r}")
    assert {"物理备份", "停止", "启动", "全量"} <= {text.strip() for text in checked}
    assert wrapped == []
    screenshot(page, "zh-clusters-1440")


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_nothing_is_cut_off_at_390(browser, live_server, demo, language, suffix):
    page = new_page(browser, live_server, language=language, width=390, height=844)
    log_in(page)
    cut = []
    for path in LISTS + ["/backups/policies/", "/clusters/", f"/clusters/{demo['east'].pk}/"]:
        page.goto(page.base + path)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        if widths[0] > widths[1]:
            cut.append(f"{path}: the page scrolls sideways {widths}")
        elements = page.locator(".console-tabs .nav-link, main .btn, main .badge, .navbar .btn, .navbar-toggler")
        cut += [f"{path}: {problem}" for problem in elements.evaluate_all(CLIPPED)]
    assert cut == []
    # A recent failure's row on the cluster page stays low: its reason keeps its width.
    page.goto(page.base + f"/clusters/{demo['east'].pk}/")
    heights = page.locator("main tbody tr:has(td.text-danger-emphasis)").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert heights and max(heights) <= 80, heights
    # A policy's cluster, tenant and method stay whole; the table scrolls instead.
    page.goto(page.base + "/backups/policies/")
    assert page.locator("main tbody tr > td:nth-child(-n+4)").evaluate_all(f"cells => cells.map({LINES})") == [1] * 8
    page.goto(page.base + "/backups/secondary/logs/")
    # The scrolling tab bar shows the active tab, even the last one.
    assert page.locator('.console-tabs [data-tab="secondary_logs"]').evaluate(CLIPPED.replace("els => els", "el => [el]")) == []
    screenshot(page, f"{suffix}-secondary-logs-390")


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
def test_a_log_row_is_one_line_high_at_390(browser, live_server, demo, language):
    page = new_page(browser, live_server, language=language, width=390, height=844)
    log_in(page)
    page.goto(page.base + "/backups/logs/?range=30d")
    heights = page.locator("table.console-table tbody tr").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert heights and max(heights) <= 64, heights
    # What a phone leaves out is what matters least: the cluster, delay, status and actions stay.
    headers = page.locator("table.console-table thead th").evaluate_all(
        "hs => hs.filter(h => getComputedStyle(h).display !== 'none').map(h => h.textContent.trim())")
    assert len(headers) == 4, headers
