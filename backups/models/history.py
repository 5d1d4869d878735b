"""What happened: one event per task state change (SIM-6), written by the
state machine, and one audit entry per thing a person did."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster


class TaskEvent(models.Model):
    """One row per state change of any task: SPEC SIM-6."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    task = GenericForeignKey("content_type", "object_id")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"))
    old_status = models.CharField(_("old status"), max_length=16, blank=True)
    new_status = models.CharField(_("new status"), max_length=16)
    cause = models.CharField(_("cause"), max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    # Who moved it when no user did: "worker", "beat", "sweeper", "seed".
    actor_label = models.CharField(_("actor"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        indexes = [
            # A task's history (admin inline, task detail).
            models.Index(fields=["content_type", "object_id", "created_at"], name="taskevent_task_time"),
            # The audit trail, newest first, optionally per cluster.
            models.Index(fields=["-created_at"], name="taskevent_time"),
            models.Index(fields=["cluster", "-created_at"], name="taskevent_cluster_time"),
        ]

    def __str__(self):
        return f"{self.old_status or '-'} → {self.new_status}"

    @property
    def actor_display(self):
        return self.actor.get_username() if self.actor_id else self.actor_label


class AuditEntry(models.Model):
    """Who did what, when: one row per operator action and per admin change.

    Written in the same transaction as the change it records
    (backups/engine/audit.py), so there is no change without its row and no row
    without its change.  Task state changes made by the machinery (worker,
    beat, sweeper) are in TaskEvent; this is what people did.
    """

    class Action(models.TextChoices):
        INSTANT_BACKUP = "instant_backup", _("Instant backup")
        LOG_STOP = "log_stop", _("Stop log backup")
        LOG_START = "log_start", _("Start log backup")
        POLICY_CREATE = "policy_create", _("Create policy")
        POLICY_EDIT = "policy_edit", _("Edit policy")
        POLICY_PAUSE = "policy_pause", _("Pause policy")
        POLICY_RESUME = "policy_resume", _("Resume policy")
        RESTORE_START = "restore_start", _("Start a restore")
        ADMIN_ADD = "admin_add", _("Admin: add")
        ADMIN_CHANGE = "admin_change", _("Admin: change")
        ADMIN_DELETE = "admin_delete", _("Admin: delete")

    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    # The username as it was, so the row still says who after the user is gone.
    actor_name = models.CharField(_("user name"), max_length=150)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    cluster = models.ForeignKey(
        Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("cluster")
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    message = models.TextField(_("details"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [
            # The audit page: newest first, alone or per actor, cluster or action.
            models.Index(fields=["-created_at", "-id"], name="audit_time"),
            models.Index(fields=["actor", "-created_at", "-id"], name="audit_actor_time"),
            models.Index(fields=["cluster", "-created_at", "-id"], name="audit_cluster_time"),
            models.Index(fields=["action", "-created_at", "-id"], name="audit_action_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"
