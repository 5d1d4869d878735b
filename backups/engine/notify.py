"""Notifications of alerts: the one door from the alert lifecycle
(engine/alerting.py) to the delivery channels (email, webhooks).

``alert_event(alert, event)`` is called by the lifecycle *inside* the
transaction that opened or resolved ``alert`` (event ``"opened"`` or
``"resolved"``), by the one evaluation that won that change — so it is called
once per change however many workers evaluate.  It records what is to be sent
(a Delivery per matching channel; the constraint on channel, alert and event
makes a second record of one change fail) and queues the sending after
commit; it never sends inside the transaction or a web request.

``deliver(delivery_id)`` is the worker's side (task
``deliver_notification``): one attempt per call, under the delivery's row
lock, so a message delivered twice sends once.  It answers how long to wait
before the next attempt, or None when the delivery is done.
"""

import json
import logging
import time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import ClusterSilence, Delivery, DeliveryAttempt, NotificationChannel
from ..models.notify import ERROR_MAX, ChannelKind, DeliveryEvent, DeliveryStatus, new_secret
from . import audit, dispatch, outcomes, webhooks

log = logging.getLogger(__name__)


# --- Recording (inside the caller's transaction) -----------------------------------------


def channels_for(alert):
    """The enabled channels that take ``alert`` (its severity and cluster)."""
    channels = NotificationChannel.objects.filter(enabled=True)
    if alert.cluster_id is not None:
        channels = channels.filter(Q(all_clusters=True) | Q(clusters=alert.cluster_id)).distinct()
    else:
        channels = channels.filter(all_clusters=True)
    return [channel for channel in channels if channel.takes_severity(alert.severity)]


def silenced(cluster_id, now=None):
    if cluster_id is None:
        return False
    now = now or timezone.now()
    return ClusterSilence.objects.filter(cluster_id=cluster_id, starts_at__lte=now, ends_at__gt=now).exists()


def alert_event(alert, event, now=None):
    """Queue the notifications of one alert change (see the module doc)."""
    now = now or timezone.now()
    status = DeliveryStatus.SUPPRESSED if silenced(alert.cluster_id, now) else DeliveryStatus.PENDING
    deliveries = Delivery.objects.bulk_create([
        Delivery(channel=channel, alert=alert, event=event, status=status, created_at=now,
                 last_error=_("The cluster is silenced.") if status == DeliveryStatus.SUPPRESSED else "")
        for channel in channels_for(alert)
    ])
    if status == DeliveryStatus.PENDING:
        for delivery in deliveries:
            dispatch.enqueue(dispatch.DELIVER_NOTIFICATION, delivery.pk)
    return deliveries


def send_test(pk, user):
    """A test delivery to channel ``pk``, sent by a worker after commit (audited)."""
    with transaction.atomic():
        channel = NotificationChannel.objects.get(pk=pk)
        delivery = Delivery.objects.create(channel=channel, alert=None, event=DeliveryEvent.TEST)
        audit.record(user, audit.Action.CHANNEL_TEST, channel,
                     message=outcomes.audit("channel_test", delivery=delivery.pk, name=channel.name))
        dispatch.enqueue(dispatch.DELIVER_NOTIFICATION, delivery.pk)
    return delivery


# --- Admin changes ---------------------------------------------------------------------


def save_channel(form, user):
    """Create or edit a channel from a valid form, with its audit row."""
    with transaction.atomic():
        channel = form.save(commit=False)
        creating = channel.pk is None
        before = None if creating else NotificationChannel.objects.get(pk=channel.pk)
        old_clusters = [] if creating else list(before.clusters.all())
        if channel.enabled and before is not None and not before.enabled:
            # Turned on again by hand: the failures that turned it off are history.
            channel.consecutive_failures, channel.disabled_reason, channel.disabled_at = 0, "", None
        channel.save()
        form.save_m2m()
        if creating:
            audit.record(user, audit.Action.CHANNEL_CREATE, channel,
                         message=outcomes.audit("channel", pk=channel.pk, name=channel.name))
        else:
            names = [name for name in form.changed_data if name in form.fields]
            audit.record(user, audit.Action.CHANNEL_EDIT, channel, message=audit.changes(
                before, channel, names, {"clusters": old_clusters}, {"clusters": list(channel.clusters.all())}))
    return channel


def rotate_secret(pk, user):
    """A new secret for channel ``pk`` (the old one stops verifying at once)."""
    with transaction.atomic():
        channel = NotificationChannel.objects.select_for_update().get(pk=pk)
        channel.secret = new_secret()
        channel.save(update_fields=["secret", "updated_at"])
        audit.record(user, audit.Action.CHANNEL_ROTATE_SECRET, channel,
                     message=outcomes.audit("channel", pk=channel.pk, name=channel.name))
    return channel


# --- Sending (in a worker) -------------------------------------------------------------


def alert_link(alert):
    return f"{settings.CONSOLE_URL}/alerts/{alert.pk}/" if alert else f"{settings.CONSOLE_URL}/alerts/"


def _iso(value):
    return value.isoformat() if value else None


# The alert lifecycle's sentence for an alert (engine/alerting.describe), set
# by that module when it loads: it sits above this one in the engine's layers.
_describe = None


def describe_alerts_with(function):
    global _describe
    _describe = function


def alert_text(alert):
    """One line about the alert, in the console's language."""
    text = getattr(alert, "text", None)
    if text:
        return str(text)
    if _describe is not None:
        said = str(_describe(alert))
        if said != alert.get_rule_display():
            return said
    line = f"{alert.get_rule_display()}: {alert.subject}"
    if alert.value is not None and alert.threshold is not None:
        line += f" ({alert.value:g} / {alert.threshold:g})"
    return line


def payload(delivery):
    """The webhook's JSON body (and the email's facts) for one delivery."""
    alert = delivery.alert
    if alert is None:
        return {"event": "test", "alert": None, "channel": delivery.channel.name,
                "text": _("This is a test notification from Backup Console."), "link": alert_link(None),
                "sent_at": _iso(timezone.now())}
    return {
        "event": delivery.event,
        "alert": alert.pk,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "cluster": alert.cluster.name if alert.cluster_id else None,
        "tenant": alert.tenant.name if alert.tenant_id else None,
        "subject": alert.subject,
        "text": alert_text(alert),
        "value": alert.value,
        "threshold": alert.threshold,
        "opened_at": _iso(alert.started_at),
        "resolved_at": _iso(alert.ended_at),
        "link": alert_link(alert),
    }


def _email(delivery, facts):
    if delivery.alert is None:
        subject = _("[Backup Console] Test notification")
    else:
        subject = _("[Backup Console] %(event)s: %(severity)s %(text)s") % {
            "event": DeliveryEvent(delivery.event).label, "severity": delivery.alert.get_severity_display(),
            "text": facts["text"]}
    lines = [facts["text"], ""]
    if delivery.alert is not None:
        lines += [f"{_('cluster')}: {facts['cluster'] or '—'}", f"{_('tenant')}: {facts['tenant'] or '—'}",
                  f"{_('opened')}: {facts['opened_at']}", f"{_('resolved')}: {facts['resolved_at'] or '—'}"]
    lines += ["", facts["link"]]
    message = EmailMessage(subject.replace("\n", " ")[:200], "\n".join(lines), settings.DEFAULT_FROM_EMAIL,
                           delivery.channel.email_recipients)
    message.send(fail_silently=False)


def _attempt(delivery):
    """Send once: (ok, http_status, error)."""
    channel = delivery.channel
    with translation.override(settings.LANGUAGE_CODE):
        facts = payload(delivery)
        try:
            if channel.kind == ChannelKind.EMAIL:
                _email(delivery, facts)
                return True, None, ""
            body = json.dumps(facts, ensure_ascii=False, sort_keys=True).encode()
            status = webhooks.post(channel.webhook_url, channel.secret, body)
        except TimeoutError:
            return False, None, _("No answer within %(seconds)s s: cut off.") % {
                "seconds": settings.ALERT_WEBHOOK_TIMEOUT_SECONDS}
        except Exception as error:  # SMTP, socket, TLS and HTTP errors alike are an attempt's outcome
            return False, None, f"{type(error).__name__}: {error}"
    if 200 <= status < 300:
        return True, status, ""
    return False, status, _("The receiver answered HTTP %(status)s.") % {"status": status}


def retry_delay(attempts):
    """Seconds before attempt ``attempts + 1``: doubling from the setting."""
    return settings.ALERT_DELIVERY_RETRY_SECONDS * 2 ** (attempts - 1)


def deliver(delivery_id):
    """One attempt of a pending delivery; the seconds until the next one, or None."""
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("channel", "alert__cluster", "alert__tenant")
                    .filter(pk=delivery_id, status=DeliveryStatus.PENDING).first())
        if delivery is None:  # sent, failed or suppressed already, or another worker is on it
            return None
        channel = delivery.channel
        if not channel.enabled and delivery.event != DeliveryEvent.TEST:
            delivery.status, delivery.last_error = DeliveryStatus.SUPPRESSED, _("The channel is disabled.")
            delivery.save(update_fields=["status", "last_error"])
            return None
        started, clock = timezone.now(), time.monotonic()
        ok, http_status, error = _attempt(delivery)
        delivery.attempts += 1
        DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=started,
                                       duration_ms=int((time.monotonic() - clock) * 1000), ok=ok,
                                       http_status=http_status, error=error[:ERROR_MAX])
        delivery.last_error = error[:ERROR_MAX]
        if ok:
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
        elif delivery.attempts >= settings.ALERT_DELIVERY_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        delivery.save(update_fields=["status", "attempts", "last_error", "sent_at"])
        log.info("delivery %s to channel %s: attempt %s %s", delivery.pk, channel.pk, delivery.attempts,
                 "sent" if ok else f"failed ({error})")
        if ok:
            NotificationChannel.objects.filter(pk=channel.pk).update(consecutive_failures=0)
        elif delivery.status == DeliveryStatus.FAILED:
            _count_failure(channel)
        return None if delivery.status != DeliveryStatus.PENDING else retry_delay(delivery.attempts)


def _count_failure(channel):
    """One more delivery failed in a row; past the setting the channel turns itself off."""
    NotificationChannel.objects.filter(pk=channel.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.ALERT_CHANNEL_DISABLE_AFTER
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Turned off after %(count)s deliveries in a row failed.") % {"count": limit}
    turned_off = NotificationChannel.objects.filter(pk=channel.pk, enabled=True, consecutive_failures__gte=limit).update(
        enabled=False, disabled_at=timezone.now(), disabled_reason=reason)
    if turned_off:
        log.warning("notification channel %s (%s) turned off after %s failed deliveries", channel.pk, channel.name, limit)
