"""The alert pages (告警) in a real headless Chromium, in English and Chinese
at 1440 and 390 px: the list with its filters, a silence, the navigation's
count; an operator acknowledges an alert from its page.  axe-core finds
nothing serious, nothing spills sideways on a phone, and the screenshots go
to screenshots/alerts-*.png (and SHOTS_DIR when set) for a reviewer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.choices import AlertRule, AlertSeverity, AlertStatus
from backups.models import Alert, ClusterSilence
from tests.browser import browser, build_demo_data, log_in, new_page  # noqa: F401 (fixture)
from tests.system.test_machine_checks import run_axe
from tests.system.test_metrics_browser import shots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerts(transactional_db):
    data = build_demo_data()
    now = timezone.now()
    east, west, stage = data["east"], data["west"], data["stage"]
    sales = east.tenants.get(name="sales")

    def alert(cluster, rule, severity, subject, hours, resolved_after=None, **kw):
        started = now - timedelta(hours=hours)
        ended = started + timedelta(hours=resolved_after) if resolved_after is not None else None
        return Alert.objects.create(rule=rule, severity=severity, cluster=cluster, subject=subject, started_at=started,
                                    ended_at=ended, status=AlertStatus.RESOLVED if ended else AlertStatus.OPEN, **kw)

    data["failed_alert"] = alert(east, AlertRule.DATA_FAILED, AlertSeverity.CRITICAL, f"data:{data['failed'].pk}", 7,
                                 tenant=data["failed"].tenant)
    alert(west, AlertRule.LOG_DELAY, AlertSeverity.WARNING, f"cluster:{west.pk}", 1, value=552, threshold=300)
    alert(east, AlertRule.NO_DATA_BACKUP, AlertSeverity.WARNING, f"tenant:{sales.pk}", 30, 20, tenant=sales, value=8, threshold=7)
    alert(None, AlertRule.STORAGE_FULL, AlertSeverity.CRITICAL, "destination:3", 50, 6, value=93.4, threshold=90)
    alert(stage, AlertRule.DATA_TIMEOUT, AlertSeverity.WARNING, f"data:{data['old'].pk}", 70, 2, value=400, threshold=360)
    ClusterSilence.objects.create(cluster=stage, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5),
                                  reason="Storage network maintenance")
    return data


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_the_alert_list_at_both_widths(browser, live_server, alerts, language, suffix):
    for width, height in ((1440, 900), (390, 844)):
        page = new_page(browser, live_server, language=language, width=width, height=height)
        log_in(page)
        page.goto(page.base + "/alerts/?range=7d")
        assert page.locator("h1").inner_text() == ("Alerts" if suffix == "en" else "告警")
        assert page.locator("#live-rows tr[data-alert]").count() == 5
        assert page.locator("[data-silence]").count() == 1
        if width == 1440:
            assert page.locator("#nav-alerts .nav-alert-count").inner_text() == "2"
        # The severity pill filters.
        page.locator('label[for="severity-critical"]').click()
        page.locator("#filter-form button[type=submit]").click()
        page.wait_for_url("**severity=critical**")
        assert page.locator("#live-rows tr[data-alert]").count() == 2
        page.goto(page.base + "/alerts/?range=7d")
        for folder in shots():
            page.screenshot(path=str(folder / f"alerts-{suffix}-{width}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page spills sideways"
        assert run_axe(page) == []
        assert page.problems == [], page.problems
        page.context.close()


def test_an_operator_acknowledges_an_alert_from_its_page(browser, live_server, alerts):
    alert = alerts["failed_alert"]
    page = new_page(browser, live_server, width=390, height=844)
    log_in(page)
    page.goto(page.base + f"/alerts/{alert.pk}/")
    page.fill("#id_note", "Replacing the NFS mount")
    page.locator("#acknowledge button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert "Replacing the NFS mount" in page.locator("#alert-ack").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert run_axe(page) == []
    for folder in shots():
        page.screenshot(path=str(folder / "alert-detail-en-390.png"), full_page=True)
    assert page.problems == [], page.problems
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "operator"
    page.context.close()


@pytest.mark.parametrize("language,suffix", [("en-US", "en"), ("zh-CN", "zh")])
def test_an_operator_silences_a_cluster_from_its_page(browser, live_server, alerts, language, suffix):
    east = alerts["east"]
    page = new_page(browser, live_server, language=language, width=390, height=844)
    log_in(page)
    page.goto(page.base + f"/clusters/{east.pk}/")
    assert page.locator(f'#open-alerts [data-alert="{alerts["failed_alert"].pk}"]').is_visible()
    page.locator(f'#cluster-silences a[href="/alerts/silence/{east.pk}/"]').click()
    page.wait_for_selector("#id_reason")
    assert run_axe(page) == []
    page.fill("#id_reason", "Disk replacement")
    page.locator("main button[type=submit]").click()
    page.wait_for_selector("#cluster-silences [data-silence]")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert run_axe(page) == []
    for folder in shots():
        page.screenshot(path=str(folder / f"alert-cluster-{suffix}-390.png"), full_page=True)
    assert page.problems == [], page.problems
    assert ClusterSilence.objects.filter(cluster=east, reason="Disk replacement").exists()
    page.context.close()
