"""Alerts (告警): a rule's condition on one subject, open while it holds and
resolved by itself when it clears, with its history kept (issue 14).

An alert is about one *subject* — a cluster, a tenant, a task, a storage
destination — named by a short key (``"cluster:12"``, ``"data:345"``,
``"destination:3"``).  While an alert is open there is no second open alert
for the same rule and subject: the partial unique constraint below is what
makes two workers or two evaluations open one alert, not a hope.  Once
resolved, the same condition coming back opens a new alert.

The life span uses the task lists' names (``started_at`` when it opened,
``ended_at`` when it resolved, ``status``, ``cluster``) so the alert list
reads with the same windows and indexes as the task lists
(``list_indexes``, the GiST span index of migration 0020).

A silence (maintenance window) holds a cluster's notifications for a while;
its alerts still open and resolve, so nothing is lost when it ends."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from ..choices import AlertRule, AlertSeverity, AlertStatus
from .tasks import list_indexes


class Alert(models.Model):
    Status = AlertStatus

    rule = models.CharField(_("rule"), max_length=32, choices=AlertRule.choices)
    severity = models.CharField(_("severity"), max_length=16, choices=AlertSeverity.choices)
    status = models.CharField(_("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    # What the alert is about: "<kind>:<id>" (see the module doc).
    subject = models.CharField(_("subject"), max_length=64)
    # Where it is, for filters and links (null for a subject of no one cluster,
    # such as a storage destination shared by several).
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                verbose_name=_("cluster"), db_index=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                               verbose_name=_("tenant"))
    started_at = models.DateTimeField(_("opened"))
    ended_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # The measured value and the threshold it crossed (seconds, minutes, days
    # or percent, by rule), updated while the alert is open.
    value = models.FloatField(_("value"), null=True, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    # The values its text is said with, in the reader's language when read
    # (names, task ids, reasons' codes), as failure reasons are.
    params = models.JSONField(_("details"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("acknowledged by"))
    acknowledge_note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [*list_indexes("alert"), models.Index(fields=["rule", "-started_at", "-id"], name="alert_rule_start")]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=Q(status="open"), name="alert_one_open_per_subject",
                violation_error_message=_("This alert is already open."),
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(ended_at__isnull=True))
                | (Q(status="resolved") & Q(ended_at__isnull=False) & Q(ended_at__gte=F("started_at"))),
                name="alert_resolved_has_end",
                violation_error_message=_("An alert ends when, and only when, it resolves."),
            ),
        ]

    def __str__(self):
        return f"{self.get_rule_display()} · {self.subject}"

    @property
    def status_color(self):
        return AlertStatus(self.status).color

    @property
    def severity_color(self):
        return AlertSeverity(self.severity).color


class ClusterSilence(models.Model):
    """A maintenance window: the cluster's alerts are not notified between
    ``starts_at`` and ``ends_at`` (they still open and resolve)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("silence")
        verbose_name_plural = _("silences")
        indexes = [models.Index(fields=["cluster", "-ends_at"], name="silence_cluster_end")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="silence_ends_after_start",
                                   violation_error_message=_("A silence ends after it starts.")),
        ]

    def __str__(self):
        return f"{self.cluster} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
