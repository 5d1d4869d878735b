"""The notification channels' pages in Chromium, in English and Chinese, at a
desktop's and a phone's width: no serious axe-core violation, nothing wider
than the screen, and screenshots under screenshots/channel*.png."""

import pytest
from django.utils import timezone

from backups.models import Alert, Delivery, DeliveryAttempt, NotificationChannel
from tests import factories as f
from tests.browser import browser, log_in, new_page, screenshot  # noqa: F401 - fixture
from tests.roles import user_in
from tests.system.test_machine_checks import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def channel_estate():
    from tests.browser import PASSWORD, USERNAME

    user = user_in("admin", USERNAME)
    user.set_password(PASSWORD)
    user.save()
    now = timezone.now()
    prod = f.make_cluster(name="prod-east")
    hook = NotificationChannel.objects.create(
        name="pagerduty-bridge", kind="webhook", webhook_url="https://hooks.example.com/backup-console/alerts?team=dba",
        min_severity="critical", enabled=False, consecutive_failures=5, disabled_at=now,
        disabled_reason="Turned off after 5 deliveries in a row failed.")
    mail = NotificationChannel.objects.create(name="dba-team", kind="email", all_clusters=False,
                                              email_recipients=["dba@example.com", "oncall@example.com"])
    mail.clusters.add(prod)
    alert = Alert.objects.create(rule="data_failed", severity="critical", subject=f"cluster:{prod.pk}", cluster=prod,
                                 started_at=now)
    sent = Delivery.objects.create(channel=hook, alert=alert, event="opened", status="sent", attempts=3, sent_at=now)
    for number, status in ((1, 500), (2, 500), (3, 200)):
        DeliveryAttempt.objects.create(delivery=sent, number=number, http_status=status, ok=status == 200,
                                       duration_ms=40 * number,
                                       error="" if status == 200 else "The receiver answered HTTP 500.")
    Delivery.objects.create(channel=hook, event="test", status="failed", attempts=1,
                            last_error="No answer within 5 s: cut off.")
    return hook


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1440, 390])
def test_the_channel_pages(browser, live_server, language, width):
    hook = channel_estate()
    page = new_page(browser, live_server, language=language, width=width)
    log_in(page)
    suffix = f"{language[:2]}-{width}"
    for path, name in (("/alerts/channels/", "channels"), (f"/alerts/channels/{hook.pk}/", "channel-log")):
        page.goto(page.base + path)
        screenshot(page, f"{name}-{suffix}")
        assert run_axe(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert page.locator("[data-attempt]").count() == 3
    page.goto(page.base + "/alerts/channels/new/")
    page.check("input[name=kind][value=webhook]")
    page.fill("input[name=name]", "bad")
    page.fill("input[name=webhook_url]", "ftp://example.com/")
    page.click("form.channel-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".invalid-feedback").count() >= 1
    page.problems.clear()  # the refused form answers 400 on purpose
    screenshot(page, f"channel-form-{suffix}")
    assert run_axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
