"""The notification channels' pages (/alerts/channels/): admins only, the form
with each refusal on its field, the secret shown whole once, send test, the
delivery log, and the audit trail."""

import pytest
from django.urls import reverse

from backups.engine import webhooks
from backups.models import AuditEntry, Delivery, DeliveryAttempt, NotificationChannel
from backups.models.notify import DeliveryStatus
from tests import factories as f
from tests.views.test_roles import snapshot

pytestmark = pytest.mark.django_db

LIST = reverse("channels:list")
NEW = reverse("channels:create")


@pytest.fixture
def channel():
    return NotificationChannel.objects.create(name="ops-hook", kind="webhook", webhook_url="http://127.0.0.1:9/hook")


def webhook_form(**changes):
    data = {"name": "pager", "kind": "webhook", "enabled": "on", "email_recipients": "",
            "webhook_url": "http://127.0.0.1:8080/alerts", "min_severity": "warning", "all_clusters": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def email_form(**changes):
    return webhook_form(**{"kind": "email", "webhook_url": "", "email_recipients": "dba@example.com\nops@example.com",
                           **changes})


@pytest.fixture
def allow_private(settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False


# --- Roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator", None])
def test_it_refuses_every_page_and_button_to_non_admins(client_as, channel, role):
    client = client_as(role, username=role or "nobody")
    before = snapshot()
    for address in (LIST, NEW, reverse("channels:edit", args=[channel.pk]), reverse("channels:log", args=[channel.pk])):
        assert client.get(address).status_code == 403, address
    for address in (NEW, reverse("channels:edit", args=[channel.pk]), reverse("channels:rotate", args=[channel.pk]),
                    reverse("channels:test", args=[channel.pk])):
        assert client.post(address, email_form()).status_code == 403, address
    assert snapshot() == before


def test_an_admin_opens_every_page(client_as, channel):
    client = client_as("admin")
    for address in (LIST, NEW, reverse("channels:edit", args=[channel.pk]), reverse("channels:log", args=[channel.pk])):
        assert client.get(address).status_code == 200, address


def test_buttons_reject_get(client_as, channel):
    client = client_as("admin")
    for name in ("rotate", "test"):
        assert client.get(reverse(f"channels:{name}", args=[channel.pk])).status_code == 405


# --- The form ---------------------------------------------------------------------------


def test_it_creates_an_email_channel_and_shows_the_secret_once(client_as):
    client = client_as("admin")
    response = client.post(NEW, email_form())
    assert response.status_code == 200
    channel = NotificationChannel.objects.get(name="pager")
    assert channel.email_recipients == ["dba@example.com", "ops@example.com"] and channel.webhook_url == ""
    assert len(channel.secret) >= 32
    assert channel.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANNEL_CREATE)
    assert entry.object_id == channel.pk and entry.actor_name == "admin"
    # Afterwards only its last four characters.
    for address in (LIST, reverse("channels:edit", args=[channel.pk]), reverse("channels:log", args=[channel.pk])):
        page = client.get(address).content.decode()
        assert channel.secret not in page, address
    assert f"…{channel.secret[-4:]}" in client.get(reverse("channels:edit", args=[channel.pk])).content.decode()


def test_rotate_makes_a_new_secret_shown_once_and_audited(client_as, channel):
    client = client_as("admin")
    old = channel.secret
    response = client.post(reverse("channels:rotate", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.secret != old and channel.secret in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHANNEL_ROTATE_SECRET, object_id=channel.pk).count() == 1


def test_it_creates_a_webhook_channel_for_chosen_clusters(client_as, allow_private):
    a, b = f.make_cluster(name="prod-a"), f.make_cluster(name="prod-b")
    response = client_as("admin").post(NEW, webhook_form(all_clusters=None, clusters=[a.pk], min_severity="critical"))
    assert response.status_code == 200
    channel = NotificationChannel.objects.get(name="pager")
    assert channel.webhook_url == "http://127.0.0.1:8080/alerts" and channel.email_recipients == []
    assert list(channel.clusters.all()) == [a] and not channel.all_clusters and channel.min_severity == "critical"
    assert b.pk


@pytest.mark.parametrize("changes,field,text", [
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url", "Only http:// and https://"),
    ({"webhook_url": "javascript:alert(1)"}, "webhook_url", "Only http:// and https://"),
    ({"webhook_url": "http://"}, "webhook_url", "Enter a valid URL"),
    ({"webhook_url": "http://u:p@127.0.0.1/"}, "webhook_url", "no user name or password"),
    ({"webhook_url": "http://127.0.0.1:99999/"}, "webhook_url", "Enter a valid URL"),
    ({"webhook_url": ""}, "webhook_url", "Enter the URL"),
    ({"webhook_url": "http://no-such-host.invalid/"}, "webhook_url", "does not resolve"),
    ({"kind": "email", "email_recipients": "dba@example.com, not-an-address"}, "email_recipients", "not-an-address"),
    ({"kind": "email", "email_recipients": "  "}, "email_recipients", "at least one email"),
    ({"kind": "sms"}, "kind", "valid choice"),
    ({"min_severity": "apocalyptic"}, "min_severity", "valid choice"),
    ({"all_clusters": None}, "clusters", "at least one cluster"),
    ({"name": ""}, "name", "required"),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"webhook_url": "http://127.0.0.1/" + "a" * 500}, "webhook_url", "at most 500"),
    ({"surprise": "1"}, "__all__", "Unknown parameter"),
])
def test_bad_input_is_refused_on_its_field_and_writes_nothing(client_as, allow_private, changes, field, text):
    client = client_as("admin")
    before = snapshot()
    response = client.post(NEW, webhook_form(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and any(text in error for error in errors[field]), errors
    assert snapshot() == before


def test_too_many_recipients_are_refused(client_as):
    response = client_as("admin").post(NEW, email_form(email_recipients="\n".join(f"u{i}@example.com" for i in range(51))))
    assert response.status_code == 400 and "At most 50" in str(response.context["form"].errors["email_recipients"])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "http://10.1.2.3/", "http://192.168.1.1/",
                                 "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://[fd00::1]/"])
def test_internal_targets_are_refused_in_production(client_as, production, url):
    client = client_as("admin")
    before = snapshot()
    response = client.post(NEW, webhook_form(webhook_url=url))
    assert response.status_code == 400
    assert "internal address" in str(response.context["form"].errors["webhook_url"])
    assert snapshot() == before


def test_a_public_address_is_accepted_in_production(client_as, production):
    response = client_as("admin").post(NEW, webhook_form(webhook_url="https://93.184.216.34/hook?team=db"))
    assert response.status_code == 200
    assert NotificationChannel.objects.get(name="pager").webhook_url == "https://93.184.216.34/hook?team=db"


def test_the_setting_allows_internal_targets(production, settings):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.resolve("http://127.0.0.1/")
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    assert webhooks.resolve("http://127.0.0.1/") == ["127.0.0.1"]


def test_editing_keeps_the_secret_and_audits_the_changes(client_as, channel, allow_private):
    client = client_as("admin")
    secret = channel.secret
    response = client.post(reverse("channels:edit", args=[channel.pk]),
                           webhook_form(name="ops-hook", webhook_url="http://127.0.0.1:9/other", min_severity="info"))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.secret == secret and channel.webhook_url == "http://127.0.0.1:9/other" and channel.min_severity == "info"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHANNEL_EDIT, object_id=channel.pk).count() == 1


def test_enabling_again_clears_the_notice(client_as, channel, allow_private):
    from django.utils import timezone

    NotificationChannel.objects.filter(pk=channel.pk).update(enabled=False, consecutive_failures=5,
                                                              disabled_at=timezone.now(), disabled_reason="Turned off.")
    client = client_as("admin")
    assert "channel-disabled-notice" in client.get(LIST).content.decode()
    client.post(reverse("channels:edit", args=[channel.pk]), webhook_form(name="ops-hook", webhook_url=channel.webhook_url))
    channel.refresh_from_db()
    assert channel.enabled and channel.consecutive_failures == 0 and channel.disabled_at is None
    assert "channel-disabled-notice" not in client.get(LIST).content.decode()


# --- Send test and the log --------------------------------------------------------------


def test_send_test_queues_a_test_delivery_and_audits_it(client_as, channel, django_capture_on_commit_callbacks):
    client = client_as("admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("channels:test", args=[channel.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("channels:log", args=[channel.pk])
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.event == "test" and delivery.alert is None and delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1  # the worker is asked after commit, not sent to here
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHANNEL_TEST, object_id=channel.pk).count() == 1


def test_send_test_refuses_unknown_parameters(client_as, channel):
    client_as("admin").post(reverse("channels:test", args=[channel.pk]), {"alert": "1"})
    assert not Delivery.objects.exists()


def make_deliveries(channel, count):
    deliveries = Delivery.objects.bulk_create([Delivery(channel=channel, event="test", attempts=2) for _ in range(count)])
    DeliveryAttempt.objects.bulk_create([DeliveryAttempt(delivery=d, number=n, http_status=500, error="HTTP 500")
                                         for d in deliveries for n in (1, 2)])


def test_the_log_shows_each_attempt_with_a_constant_number_of_queries(client_as, channel, django_assert_num_queries):
    client = client_as("admin")
    make_deliveries(channel, 2)
    client.get(reverse("channels:log", args=[channel.pk]))  # warm the session
    # session, user, permissions (2), admin group (nav), channel, deliveries with alerts, attempts
    with django_assert_num_queries(9) as captured:
        page = client.get(reverse("channels:log", args=[channel.pk])).content.decode()
    assert page.count('data-attempt="') == 4
    make_deliveries(channel, 30)
    with django_assert_num_queries(len(captured)):
        page = client.get(reverse("channels:log", args=[channel.pk])).content.decode()
    assert page.count('data-delivery="') == 32


def test_the_list_has_a_constant_number_of_queries(client_as, django_assert_num_queries):
    client = client_as("admin")
    NotificationChannel.objects.create(name="c0", kind="email", email_recipients=["a@example.com"])
    client.get(LIST)
    # session, user, permissions (2), admin group (nav), channels, their clusters
    with django_assert_num_queries(8):
        client.get(LIST)
    for i in range(1, 20):
        channel = NotificationChannel.objects.create(name=f"c{i}", kind="email", email_recipients=["a@example.com"],
                                                     all_clusters=False)
        channel.clusters.add(f.make_cluster())
    with django_assert_num_queries(8):
        assert client.get(LIST).content.decode().count('data-channel="') == 20


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_pages_speak_both_languages(client_as, channel, language):
    client = client_as("admin")
    client.cookies["django_language"] = language
    page = client.get(LIST, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert ("通知渠道" in page) == (language == "zh-hans")
    assert ("Notification channels" in page) == (language == "en")
