"""Alert notifications reach real peers on loopback: an SMTP server
(aiosmtpd, in this process) and an HTTP server (http.server in a thread)
that checks each webhook's signature with the algorithm the README gives.

Through a real Celery worker on Redis and PostgreSQL: a receiver that
answers 500 twice then 200 gets three signed attempts of one delivery, the
log shows them, and a message delivered again sends nothing more.  In this
process, against the same kind of real receivers: a hanging receiver is cut
off by the timeout, a channel turns itself off after repeated failed
deliveries, an internal target is refused again at send time, and a silenced
cluster's alerts are recorded but not sent.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backups.choices import AlertRule, AlertSeverity
from backups.engine import dispatch, notify
from backups.models import Alert, ClusterSilence, Delivery, DeliveryAttempt, NotificationChannel
from backups.models.notify import DeliveryStatus
from tests import factories as f
from tests.worker import celery_cluster, wait_until  # noqa: F401 - fixture

HANG_SECONDS = 6  # how long the hanging receiver holds a request (bounded, then it answers)


# --- The peers --------------------------------------------------------------------------


def verify(secret, headers, body):
    """The README's check: HMAC-SHA256 of "<timestamp>.<body>" with the secret, in constant time."""
    timestamp = headers["X-Backup-Console-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, headers["X-Backup-Console-Signature"])


class Receiver:
    """An HTTP server on loopback that answers each POST with the next status of
    ``statuses`` (the last one repeats), or holds it for HANG_SECONDS."""

    def __init__(self, statuses=(200,), hang=False):
        self.statuses, self.hang, self.requests = list(statuses), hang, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if receiver.hang:
                    time.sleep(HANG_SECONDS)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the console hung up first

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/backup?team=dba"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses, hang=False):
        made.append(Receiver(statuses or (200,), hang=hang))
        return made[-1]

    yield make
    for server in made:
        server.close()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def subject(message):
    return str(make_header(decode_header(message["Subject"])))


@pytest.fixture
def sends(settings, smtp):
    """This process sends for real: SMTP to the loopback server, webhooks to loopback."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    settings.ALERT_WEBHOOK_TIMEOUT_SECONDS = 1
    settings.ALERT_DELIVERY_ATTEMPTS = 3
    settings.ALERT_DELIVERY_RETRY_SECONDS = 0.01
    settings.ALERT_CHANNEL_DISABLE_AFTER = 2
    return smtp


def open_alert(cluster, rule=AlertRule.DATA_FAILED, severity=AlertSeverity.CRITICAL, subject_key=None):
    return Alert.objects.create(rule=rule, severity=severity, subject=subject_key or f"cluster:{cluster.pk}",
                                cluster=cluster, started_at=timezone.now(), value=3.0, threshold=1.0,
                                params={"task": 17})


def webhook(url, **kw):
    return NotificationChannel.objects.create(name=kw.pop("name", "hook"), kind="webhook", webhook_url=url, **kw)


# --- Through a real worker --------------------------------------------------------------


@pytest.mark.worker
def test_a_worker_delivers_email_and_a_webhook_retried_until_accepted(celery_cluster, smtp, receiver, admin_client):
    peer = receiver(500, 500, 200)
    celery_cluster.worker(EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port, ALERT_WEBHOOK_ALLOW_PRIVATE=1,
                          ALERT_DELIVERY_RETRY_SECONDS="0.2", ALERT_WEBHOOK_TIMEOUT_SECONDS=2,
                          DEFAULT_FROM_EMAIL="console@example.com")
    cluster = f.make_cluster(name="prod-a")
    hook = webhook(peer.url)
    mail = NotificationChannel.objects.create(name="dba-mail", kind="email", email_recipients=["dba@example.com",
                                                                                             "ops@example.com"])
    with transaction.atomic():
        alert = open_alert(cluster)
        notify.alert_event(alert, "opened")
        assert not peer.requests and not smtp.messages  # nothing leaves before commit

    sent = wait_until(lambda: Delivery.objects.filter(channel=hook, status=DeliveryStatus.SENT).first(), timeout=30,
                      message="the webhook to be accepted")
    wait_until(lambda: smtp.messages, timeout=30, message="the email")
    assert sent.attempts == 3 and sent.alert_id == alert.pk and sent.event == "opened"
    attempts = list(DeliveryAttempt.objects.filter(delivery=sent).order_by("number"))
    assert [(a.number, a.http_status, a.ok) for a in attempts] == [(1, 500, False), (2, 500, False), (3, 200, True)]
    assert attempts[0].error and attempts[1].started_at > attempts[0].started_at
    # Three signed requests of the same body.
    assert len(peer.requests) == 3
    assert all(verify(hook.secret, headers, body) for headers, body in peer.requests)
    assert not verify("another-secret", *peer.requests[0])
    assert peer.requests[0][1] == peer.requests[2][1]
    body = json.loads(peer.requests[0][1])
    assert body["alert"] == alert.pk and body["event"] == "opened" and body["rule"] == "data_failed"
    assert body["severity"] == "critical" and body["status"] == "open" and body["cluster"] == "prod-a"
    assert body["value"] == 3.0 and body["threshold"] == 1.0 and body["link"].endswith(f"/alerts/{alert.pk}/")
    assert body["opened_at"] and body["resolved_at"] is None and body["text"]
    # One email, to both recipients.
    assert len(smtp.messages) == 1
    sender, recipients, message = smtp.messages[0]
    assert sender == "console@example.com" and sorted(recipients) == ["dba@example.com", "ops@example.com"]
    assert "Data backup failed" in subject(message) and "prod-a" in message.get_payload(decode=True).decode()
    assert Delivery.objects.get(channel=mail).status == DeliveryStatus.SENT

    # The log page shows the three attempts.
    page = admin_client.get(reverse("channels:log", args=[hook.pk])).content.decode()
    assert page.count('data-attempt="') == 3 and "HTTP 500" in page

    # A message delivered again (acks_late, a dead worker) sends nothing more.
    dispatch.publish(dispatch.DELIVER_NOTIFICATION, [sent.pk])
    # The resolve goes out too.
    with transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(status="resolved", ended_at=timezone.now())
        alert.refresh_from_db()
        notify.alert_event(alert, "resolved")
    wait_until(lambda: len(smtp.messages) == 2 and len(peer.requests) == 4, timeout=30, message="the resolve")
    time.sleep(1)  # time for a duplicate to show, if there were one
    assert len(peer.requests) == 4 and len(smtp.messages) == 2
    resolved = json.loads(peer.requests[3][1])
    assert resolved["event"] == "resolved" and resolved["status"] == "resolved" and resolved["resolved_at"]
    assert Delivery.objects.filter(alert=alert).count() == 4
    assert DeliveryAttempt.objects.filter(delivery=sent).count() == 3


# --- In this process, against real peers ------------------------------------------------


@pytest.mark.django_db
def test_a_hanging_receiver_is_cut_off_by_the_timeout(sends, receiver):
    peer = receiver(200, hang=True)
    hook = webhook(peer.url)
    delivery = notify.alert_event(open_alert(f.make_cluster()), "opened")[0]
    started = time.monotonic()
    delay = notify.deliver(delivery.pk)
    took = time.monotonic() - started
    assert took < 3 < HANG_SECONDS  # cut off after the 1 s timeout, not held for the hang
    assert delay is not None  # tried again later
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert not attempt.ok and attempt.http_status is None and "cut off" in attempt.error
    assert 900 <= attempt.duration_ms < 3000
    assert len(peer.requests) == 1 and hook.pk


@pytest.mark.django_db
def test_retries_back_off_exponentially_then_the_delivery_fails(sends, receiver, settings):
    settings.ALERT_DELIVERY_RETRY_SECONDS = 30
    peer = receiver(503)
    webhook(peer.url)
    delivery = notify.alert_event(open_alert(f.make_cluster()), "opened")[0]
    assert [notify.deliver(delivery.pk) for _ in range(4)] == [30, 60, None, None]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3 and "503" in delivery.last_error
    assert len(peer.requests) == 3  # the fourth call found it finished


@pytest.mark.django_db
def test_a_channel_turns_itself_off_after_repeated_failed_deliveries(sends, receiver, admin_client):
    peer = receiver(500)
    hook = webhook(peer.url)
    cluster = f.make_cluster()
    for n in range(2):
        delivery = notify.alert_event(open_alert(cluster, subject_key=f"data:{n}"), "opened")[0]
        while notify.deliver(delivery.pk) is not None:
            pass
        hook.refresh_from_db()
        assert hook.consecutive_failures == n + 1
    assert not hook.enabled and hook.disabled_at and "2 deliveries in a row failed" in hook.disabled_reason
    assert len(peer.requests) == 6
    # Off: the next alert is not recorded for it, and the list says why.
    assert notify.alert_event(open_alert(cluster, subject_key="data:9"), "opened") == []
    page = admin_client.get(reverse("channels:list")).content.decode()
    assert "channel-disabled-notice" in page and "after 2 failed deliveries in a row" in page


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(sends, receiver):
    peer = receiver(500, 500, 500, 200)
    hook = webhook(peer.url)
    cluster = f.make_cluster()
    first = notify.alert_event(open_alert(cluster, subject_key="data:1"), "opened")[0]
    while notify.deliver(first.pk) is not None:
        pass
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1
    second = notify.alert_event(open_alert(cluster, subject_key="data:2"), "opened")[0]
    notify.deliver(second.pk)
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0 and hook.enabled


@pytest.mark.django_db
def test_an_internal_target_is_refused_again_at_send_time(sends, receiver, settings):
    peer = receiver(200)
    webhook(peer.url)  # saved while internal targets were allowed
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = False
    delivery = notify.alert_event(open_alert(f.make_cluster()), "opened")[0]
    notify.deliver(delivery.pk)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert not attempt.ok and "internal address" in attempt.error
    assert peer.requests == []


@pytest.mark.django_db
def test_a_delivery_is_sent_once_however_often_its_message_comes(sends, receiver):
    peer = receiver(200)
    webhook(peer.url)
    delivery = notify.alert_event(open_alert(f.make_cluster()), "opened")[0]
    assert notify.deliver(delivery.pk) is None
    assert notify.deliver(delivery.pk) is None
    assert len(peer.requests) == 1 and Delivery.objects.get(pk=delivery.pk).attempts == 1


@pytest.mark.django_db
def test_a_change_is_recorded_once_per_channel(sends, receiver):
    from django.db import IntegrityError

    webhook(receiver(200).url)
    alert = open_alert(f.make_cluster())
    notify.alert_event(alert, "opened")
    with pytest.raises(IntegrityError), transaction.atomic():
        notify.alert_event(alert, "opened")
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_a_silenced_cluster_is_recorded_but_not_sent(sends, receiver, django_capture_on_commit_callbacks):
    peer = receiver(200)
    webhook(peer.url)
    cluster = f.make_cluster()
    now = timezone.now()
    ClusterSilence.objects.create(cluster=cluster, starts_at=now - timezone.timedelta(hours=1),
                                  ends_at=now + timezone.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = notify.alert_event(open_alert(cluster), "opened")[0]
    assert delivery.status == DeliveryStatus.SUPPRESSED and callbacks == []
    assert notify.deliver(delivery.pk) is None and peer.requests == []


@pytest.mark.django_db
def test_channels_take_only_their_severities_and_clusters(sends, receiver):
    url = receiver(200).url
    a, b = f.make_cluster(name="a"), f.make_cluster(name="b")
    everything = webhook(url, name="all", min_severity="info")
    critical_only = webhook(url, name="critical", min_severity="critical")
    only_b = webhook(url, name="only-b", min_severity="info", all_clusters=False)
    only_b.clusters.add(b)
    webhook(url, name="off", min_severity="info", enabled=False)
    warning_on_a = notify.alert_event(open_alert(a, severity="warning"), "opened")
    critical_on_b = notify.alert_event(open_alert(b, severity="critical"), "opened")
    assert {d.channel_id for d in warning_on_a} == {everything.pk}
    assert {d.channel_id for d in critical_on_b} == {everything.pk, critical_only.pk, only_b.pk}


@pytest.mark.django_db
def test_a_test_send_reaches_both_kinds(sends, receiver, admin_user):
    peer = receiver(200)
    hook = webhook(peer.url)
    mail = NotificationChannel.objects.create(name="mail", kind="email", email_recipients=["dba@example.com"])
    for channel in (hook, mail):
        notify.deliver(notify.send_test(channel.pk, admin_user).pk)
    assert json.loads(peer.requests[0][1])["event"] == "test" and verify(hook.secret, *peer.requests[0])
    assert len(sends.messages) == 1 and "Test notification" in subject(sends.messages[0][2])
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2


@pytest.mark.django_db
def test_an_smtp_server_that_refuses_is_logged_and_retried(settings, receiver):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # nobody listens
    NotificationChannel.objects.create(name="mail", kind="email", email_recipients=["dba@example.com"])
    delivery = notify.alert_event(open_alert(f.make_cluster()), "opened")[0]
    assert notify.deliver(delivery.pk) is not None
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert not attempt.ok and "ConnectionRefused" in attempt.error


@pytest.mark.worker
def test_a_failed_backup_on_the_worker_is_alerted_once_by_email_and_webhook_and_its_resolve_too(
        celery_cluster, smtp, receiver, admin_user):
    """Issue 14's end to end: the engine's own alert (not one made by the test)
    goes out once on each channel when the backup fails on the worker, and
    once more when the next backup completes and resolves it."""
    from backups.choices import BackupMode
    from backups.engine import services

    peer = receiver(200)
    celery_cluster.worker(EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port, ALERT_WEBHOOK_ALLOW_PRIVATE=1,
                          ALERT_DELIVERY_RETRY_SECONDS="0.2", ALERT_WEBHOOK_TIMEOUT_SECONDS=2)
    cluster = f.make_cluster(name="prod-e2e")
    f.make_host(cluster, role="leader")
    f.make_policy(cluster)
    hook = webhook(peer.url)
    NotificationChannel.objects.create(name="dba-mail", kind="email", email_recipients=["dba@example.com"])

    failing = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, force_outcome="fail")
    alert = wait_until(lambda: Alert.objects.filter(rule=AlertRule.DATA_FAILED, subject=f"data:{failing.pk}").first(),
                       timeout=60, message="the data_failed alert to open")
    wait_until(lambda: smtp.messages and peer.requests, timeout=30, message="the opening's email and webhook")
    time.sleep(1)  # time for a duplicate to show, if there were one
    opened = [json.loads(body) for _headers, body in peer.requests if json.loads(body)["alert"] == alert.pk]
    assert [body["event"] for body in opened] == ["opened"]
    assert all(verify(hook.secret, headers, body) for headers, body in peer.requests)
    assert sum(f"#{failing.pk}" in m.get_payload(decode=True).decode() for _s, _r, m in smtp.messages) == 1

    services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    wait_until(lambda: Alert.objects.filter(pk=alert.pk, status="resolved").exists(), timeout=60,
               message="the alert to resolve")
    wait_until(lambda: Delivery.objects.filter(alert=alert, event="resolved", status=DeliveryStatus.SENT).count() == 2,
               timeout=30, message="the resolve's email and webhook")
    time.sleep(1)
    events = [json.loads(body)["event"] for _headers, body in peer.requests if json.loads(body)["alert"] == alert.pk]
    assert events == ["opened", "resolved"]
    assert Delivery.objects.filter(alert=alert).count() == 4  # two changes × two channels
    assert Alert.objects.filter(rule=AlertRule.DATA_FAILED).count() == 1
