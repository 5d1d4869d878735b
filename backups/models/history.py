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
    # Why it moved, as a code and its values (backups/engine/outcomes.py, said
    # in the reader's language when read); ``cause`` is the text of rows
    # written before codes, and of a cause given as plain text.
    cause = models.CharField(_("cause"), max_length=255, blank=True)
    cause_code = models.CharField(_("cause code"), max_length=32, blank=True)
    cause_params = models.JSONField(_("cause values"), default=dict, blank=True)
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
        return self.change_text()

    def change_text(self, model=None):
        """"Old → new" as the statuses' labels in the active language;
        ``model``: the task's model, when the caller knows it."""
        if model is None:
            model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        status = getattr(model, "Status", None)

        def label(value):
            if not value:
                return "—"
            try:
                return str(status(value).label)
            except (TypeError, ValueError):
                return value

        return f"{label(self.old_status)} → {label(self.new_status)}"

    @property
    def actor_display(self):
        return self.actor.get_username() if self.actor_id else self.actor_label


class AuditEntry(models.Model):
    """Who did what, when: one row per operator action and per admin change,
    and one per attempt the console refused (``outcome``).

    A change's row is written in the same transaction as the change
    (backups/engine/audit.py), so there is no change without its row and no
    row without its change.  A refused or forbidden attempt is written after
    the refusal, on its own; the same attempt repeated by the same user
    within a few minutes counts up ``repeats`` on one row.  Task state
    changes made by the machinery (worker, beat, sweeper) are in TaskEvent;
    this is what people did, or tried to.
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
        DRILL_POLICY_CREATE = "drill_policy_create", _("Create restore drill policy")
        DRILL_POLICY_EDIT = "drill_policy_edit", _("Edit restore drill policy")
        DRILL_POLICY_ENABLE = "drill_policy_enable", _("Enable restore drill policy")
        DRILL_POLICY_DISABLE = "drill_policy_disable", _("Disable restore drill policy")
        DRILL_POLICY_DELETE = "drill_policy_delete", _("Delete restore drill policy")
        DRILL_RUN_NOW = "drill_run_now", _("Run a restore drill now")
        ALERT_ACKNOWLEDGE = "alert_acknowledge", _("Acknowledge alert")
        CLUSTER_SILENCE = "cluster_silence", _("Silence a cluster's alerts")
        SILENCE_END = "silence_end", _("End a silence")
        CHANNEL_CREATE = "channel_create", _("Create notification channel")
        CHANNEL_EDIT = "channel_edit", _("Edit notification channel")
        CHANNEL_ROTATE_SECRET = "channel_rotate_secret", _("Rotate notification channel secret")
        CHANNEL_TEST = "channel_test", _("Send a test notification")
        ADMIN_ADD = "admin_add", _("Admin: add")
        ADMIN_CHANGE = "admin_change", _("Admin: change")
        ADMIN_DELETE = "admin_delete", _("Admin: delete")
        OTHER = "other", _("Other action")

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        FORBIDDEN = "forbidden", _("Forbidden")

    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    # The username as it was, so the row still says who after the user is gone.
    actor_name = models.CharField(_("user name"), max_length=150)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.DONE)
    cluster = models.ForeignKey(
        Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("cluster")
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # The details as a code and its values (backups/engine/outcomes.py, said
    # in the reader's language when read); ``message`` is the text of rows
    # written before codes.
    message = models.TextField(_("details"), blank=True)
    message_code = models.CharField(_("details code"), max_length=32, blank=True)
    message_params = models.JSONField(_("details values"), default=dict, blank=True)
    # How many times this user made this same attempt (a refused or forbidden one) in a row.
    repeats = models.PositiveIntegerField(_("times"), default=1)

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
            # Only the refused (or forbidden) attempts: a few among many done actions.
            models.Index(fields=["outcome", "-created_at", "-id"], name="audit_outcome_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.outcome} {self.object_repr}"
