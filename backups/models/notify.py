"""Delivery channels of alert notifications (告警通知渠道): where an alert's
opening and resolving are sent, by email or a signed webhook, and a log of
every delivery and every attempt.

A change is delivered once per channel: the unique constraint on (channel,
alert, event) makes a second record of the same change fail, whoever writes
it.  A test send has no alert, so any number of them may be made.

The secret signs the webhook body (backups/engine/webhooks.py); it is kept
in the clear because signing needs it, and shown back only by its last four
characters.
"""

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clusters.models import Cluster

from ..choices import AlertSeverity, ColoredChoices
from .alerts import Alert

SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
ERROR_MAX = 500  # characters of an error kept per attempt


def new_secret():
    return secrets.token_urlsafe(32)


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryEvent(models.TextChoices):
    OPENED = "opened", pgettext_lazy("alert event", "Opened")
    RESOLVED = "resolved", pgettext_lazy("alert event", "Resolved")
    TEST = "test", _("Test")


class DeliveryStatus(ColoredChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")

    @property
    def color(self):
        return {"pending": "info", "sent": "success", "failed": "danger", "suppressed": "secondary"}[self.value]


class NotificationChannel(models.Model):
    Kind = ChannelKind

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices, default=ChannelKind.EMAIL)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Email: the addresses (validated by the form); webhook: the URL.
    email_recipients = models.JSONField(_("recipients"), default=list, blank=True)
    webhook_url = models.CharField(_("webhook URL"), max_length=500, blank=True)
    secret = models.CharField(_("secret"), max_length=64, default=new_secret, editable=False)
    min_severity = models.CharField(_("minimum severity"), max_length=16, choices=AlertSeverity.choices,
                                    default=AlertSeverity.WARNING)
    all_clusters = models.BooleanField(_("all clusters"), default=True)
    clusters = models.ManyToManyField(Cluster, blank=True, related_name="+", verbose_name=_("clusters"))
    # Deliveries that failed in a row (every attempt); past the setting
    # ALERT_CHANNEL_DISABLE_AFTER the channel turns itself off and says why.
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    disabled_reason = models.CharField(_("disabled because"), max_length=300, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")

    def __str__(self):
        return self.name

    @property
    def secret_hint(self):
        """The secret as shown back: its last four characters only."""
        return f"…{self.secret[-4:]}" if self.secret else ""

    @property
    def target(self):
        return self.webhook_url if self.kind == ChannelKind.WEBHOOK else ", ".join(self.email_recipients)

    @property
    def min_severity_color(self):
        return AlertSeverity(self.min_severity).color

    def takes_severity(self, severity):
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(self.min_severity, 0)


class Delivery(models.Model):
    """One change (or a test) to one channel: sent once, after as many attempts as it took."""

    Event = DeliveryEvent
    Status = DeliveryStatus

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries",
                                verbose_name=_("channel"))
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name=_("alert"))
    event = models.CharField(_("event"), max_length=16, choices=DeliveryEvent.choices)
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("error"), max_length=ERROR_MAX, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["channel", "-created_at", "-id"], name="delivery_channel_created")]
        constraints = [
            models.UniqueConstraint(fields=["channel", "alert", "event"], name="delivery_once_per_change",
                                    violation_error_message=_("This change was already delivered to this channel.")),
            models.CheckConstraint(condition=Q(event="test") | Q(alert__isnull=False), name="delivery_alert_unless_test",
                                   violation_error_message=_("Only a test delivery has no alert.")),
        ]

    def __str__(self):
        return f"{self.channel} · {self.get_event_display()} · {self.get_status_display()}"

    @property
    def status_color(self):
        return DeliveryStatus(self.status).color


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, how long, and what the receiver answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log",
                                 verbose_name=_("delivery"))
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("time"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    ok = models.BooleanField(_("succeeded"), default=False)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=ERROR_MAX, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_number")]

    def __str__(self):
        return f"{self.delivery_id} #{self.number}"
