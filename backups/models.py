"""Backup domain (SPEC section 2): destinations, policies, backup sets, the five
task kinds of the overview page, and one event row per task state change.

Index notes: every task list of the overview (OV-3..OV-7) asks for "tasks whose
life overlaps a time window [, with these statuses] [, of this cluster], newest
first".  That is ``started_at < :end AND (ended_at IS NULL OR ended_at >= :start)
ORDER BY started_at DESC, id DESC``; ``list_indexes`` gives each kind the indexes
that serve it.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Host, Tenant

from .choices import (
    BackupMethod,
    BackupMode,
    CleanupStatus,
    DataBackupStatus,
    LogBackupStatus,
    PolicyState,
    ScheduleKind,
    StorageKind,
    TaskKind,
    Trigger,
)


class StorageDestination(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("type"), max_length=16, choices=StorageKind.choices)
    # file:///mnt/nfs/backup or oss://bucket/prefix
    uri = models.CharField(_("root directory"), max_length=255)

    class Meta:
        ordering = ["name"]
        verbose_name = _("storage destination")
        verbose_name_plural = _("storage destinations")

    def __str__(self):
        return self.name


class BackupPolicy(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="policies", verbose_name=_("cluster"))
    # Null: the cluster-wide policy; set: an override for one tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="policies", verbose_name=_("tenant")
    )
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    destination = models.ForeignKey(
        StorageDestination, on_delete=models.PROTECT, related_name="policies", verbose_name=_("storage destination")
    )
    directory = models.CharField(_("storage directory"), max_length=255)
    schedule_kind = models.CharField(_("schedule"), max_length=16, choices=ScheduleKind.choices)
    # {"<day>": "full"|"incremental"}: weekday 1-7 (Monday=1) or day of month 1-31.
    schedule_days = models.JSONField(_("backup days"), default=dict)
    run_at = models.TimeField(_("time of day"))
    log_backup_enabled = models.BooleanField(_("log backup"), default=True)
    retention_days = models.PositiveIntegerField(_("retention (days)"), default=7)
    secondary_enabled = models.BooleanField(_("secondary backup"), default=False)
    secondary_destination = models.ForeignKey(
        StorageDestination,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="secondary_policies",
        verbose_name=_("secondary destination"),
    )
    data_backup_timeout_minutes = models.PositiveIntegerField(_("data backup timeout (minutes)"), default=360)
    log_delay_threshold_seconds = models.PositiveIntegerField(_("log backup delay alert (seconds)"), default=300)
    state = models.CharField(_("state"), max_length=16, choices=PolicyState.choices, default=PolicyState.ACTIVE)
    # The beat entry that runs this policy's schedule (django-celery-beat).
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["cluster__name", "tenant__name"]
        verbose_name = _("backup policy")
        verbose_name_plural = _("backup policies")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster"],
                condition=Q(state="active", tenant__isnull=True),
                name="one_active_policy_per_cluster",
                violation_error_message=_("This cluster already has an active backup policy."),
            ),
            models.UniqueConstraint(
                fields=["cluster", "tenant"],
                condition=Q(state="active", tenant__isnull=False),
                name="one_active_policy_per_tenant",
                violation_error_message=_("This tenant already has an active backup policy."),
            ),
            models.CheckConstraint(
                condition=Q(retention_days__gte=1),
                name="policy_retention_at_least_one_day",
                violation_error_message=_("Retention must be at least one day."),
            ),
            models.CheckConstraint(
                condition=~Q(secondary_destination=F("destination")),
                name="policy_secondary_differs_from_primary",
                violation_error_message=_("The secondary destination must differ from the primary one."),
            ),
            models.CheckConstraint(
                condition=Q(secondary_enabled=False) | Q(secondary_destination__isnull=False),
                name="policy_secondary_needs_destination",
                violation_error_message=_("Secondary backup needs a secondary destination."),
            ),
            models.CheckConstraint(
                condition=Q(backup_method="logical") | Q(log_backup_enabled=True),
                name="policy_physical_needs_log_backup",
                violation_error_message=_("Physical backup needs log backup."),
            ),
        ]

    def __str__(self):
        scope = f"{self.cluster}/{self.tenant}" if self.tenant_id else str(self.cluster)
        return f"{scope} ({self.get_backup_method_display()})"


class BackupSet(models.Model):
    """A full data backup and the incrementals on top of it share one set ID."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="backup_sets", verbose_name=_("cluster"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    number = models.PositiveBigIntegerField(_("backup-set ID"))
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set by cleanup when the set is past retention and its files are deleted.
    expired_at = models.DateTimeField(_("deleted by cleanup"), null=True, blank=True)

    class Meta:
        ordering = ["cluster__name", "-number"]
        verbose_name = _("backup set")
        verbose_name_plural = _("backup sets")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "number"], name="backup_set_id_unique_in_cluster"),
        ]

    def __str__(self):
        return f"{self.cluster_id}#{self.number}"


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


def list_indexes(prefix):
    """Indexes that serve the overview lists of one task kind (see module doc).

    The window is ``started_at < :end AND effective_end >= :start``
    (backups.timerange), read in two parts (``Window.parts``): the tasks that
    started inside it are one bounded range of a start-time index (or of an
    effective-end index, sorted by end), newest first, stopping after a page;
    the tasks alive at its bound come from the GiST span index (migration
    0006, PostgreSQL only).  So no list reads a task's whole history however
    many years of it there are.
    """
    from .timerange import effective_end

    end = effective_end()
    return [
        # Unfiltered list: newest first within the window.
        models.Index(fields=["-started_at", "-id"], name=f"{prefix}_start"),
        # Filtered by cluster (and the cluster overview's links).
        models.Index(fields=["cluster", "-started_at", "-id"], name=f"{prefix}_cluster_start"),
        # Filtered by status (e.g. only failed), newest first.
        models.Index(fields=["status", "-started_at", "-id"], name=f"{prefix}_status_start"),
        # Sorted by end time, running tasks first; the window's lower bound.
        models.Index(end.desc(), F("id").desc(), name=f"{prefix}_end"),
        # The same bound for a cluster, and for a status (a rare status such
        # as "in progress" or "failed" is found without walking the history).
        models.Index(F("cluster"), end.desc(), F("id").desc(), name=f"{prefix}_cluster_end"),
        models.Index(F("status"), end.desc(), F("id").desc(), name=f"{prefix}_status_end"),
    ]


class TaskBase(models.Model):
    """What every task kind shares: cluster, life span, failure reason, events."""

    KIND = None  # a TaskKind value, set by each concrete task

    # No index of its own: the list indexes lead with the cluster (cluster_start,
    # cluster_end), which serve the foreign key too.  A cluster-only index made
    # PostgreSQL AND a cluster's whole history (100k entries at 10M rows) into
    # a bitmap with the status index for "failed in this cluster" (~40 ms).
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"), db_index=False
    )
    started_at = models.DateTimeField(_("start time"))
    # Null while the task is alive (OV-8: a running task has not ended).
    ended_at = models.DateTimeField(_("end time"), null=True, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    events = GenericRelation(TaskEvent)

    class Meta:
        abstract = True
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="%(app_label)s_%(class)s_end_not_before_start",
                violation_error_message=_("A task cannot end before it starts."),
            ),
        ]
    @property
    def duration(self):
        end = self.ended_at or timezone.now()
        return end - self.started_at

    @property
    def status_color(self):
        return self.status.color if hasattr(self.status, "color") else self.Status(self.status).color


class DataBackupTask(TaskBase):
    KIND = TaskKind.DATA
    Status = DataBackupStatus

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tenant"))
    policy = models.ForeignKey(BackupPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("policy"))
    backup_set = models.ForeignKey(BackupSet, on_delete=models.PROTECT, related_name="data_tasks", verbose_name=_("backup set"))
    mode = models.CharField(_("data backup mode"), max_length=16, choices=BackupMode.choices)
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    data_version = models.PositiveBigIntegerField(_("data version"))
    storage_directory = models.CharField(_("storage directory"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=DataBackupStatus.choices, default=DataBackupStatus.IN_PROGRESS)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("requested by")
    )
    # The simulated machinery's plan for this run (backups/simulation.py),
    # fixed when the task is created so a re-delivered message or a resumed
    # run reaches the same end: "completed" or a failure key, and the
    # progress (%) at which a failure strikes.
    sim_outcome = models.CharField(_("simulated outcome"), max_length=32, blank=True, editable=False)
    sim_fail_at = models.PositiveSmallIntegerField(_("simulated failure point (%)"), default=100, editable=False)

    class Meta(TaskBase.Meta):
        verbose_name = _("data backup task")
        indexes = list_indexes("databk")
        verbose_name_plural = _("data backup tasks")
        constraints = TaskBase.Meta.constraints + [
            models.UniqueConstraint(
                fields=["cluster", "data_version"],
                condition=Q(backup_method="logical") & ~Q(status="failed"),
                name="logical_backup_once_per_data_version",
                violation_error_message=_("A logical backup of this data version already exists."),
            ),
            models.CheckConstraint(
                condition=Q(backup_method="physical") | Q(mode="full"),
                name="logical_backup_is_full",
                violation_error_message=_("Logical backups are full backups only."),
            ),
            models.UniqueConstraint(
                fields=["backup_set"],
                condition=Q(mode="full"),
                name="one_full_backup_per_set",
                violation_error_message=_("A backup set has exactly one full backup."),
            ),
            models.UniqueConstraint(
                fields=["cluster"],
                condition=Q(status="in_progress"),
                name="one_running_data_backup_per_cluster",
                violation_error_message=_("This cluster is already running a data backup."),
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="data_backup_progress_percent"),
            models.CheckConstraint(
                condition=Q(status="in_progress", ended_at__isnull=True) | (~Q(status="in_progress") & Q(ended_at__isnull=False)),
                name="data_backup_ended_iff_finished",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure_reason=""),
                name="data_backup_failure_has_reason",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} ({self.get_mode_display()})"

    def get_absolute_url(self):
        return reverse("backups:data_detail", args=[self.pk])


class LogBackupTask(TaskBase):
    KIND = TaskKind.LOG
    Status = LogBackupStatus
    ALIVE = (LogBackupStatus.STARTING, LogBackupStatus.IN_PROGRESS, LogBackupStatus.STOPPING)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tenant"))
    policy = models.ForeignKey(BackupPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("policy"))
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="+", verbose_name=_("service host"))
    storage_directory = models.CharField(_("storage directory"), max_length=255)
    # The newest moment already archived; delay is now minus this.
    latest_point = models.DateTimeField(_("latest backup time point"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=LogBackupStatus.choices, default=LogBackupStatus.STARTING)

    class Meta(TaskBase.Meta):
        verbose_name = _("log backup task")
        indexes = list_indexes("logbk")
        verbose_name_plural = _("log backup tasks")
        constraints = TaskBase.Meta.constraints + [
            models.UniqueConstraint(
                fields=["cluster"],
                condition=Q(status__in=["starting", "in_progress", "stopping"]),
                name="one_live_log_backup_per_cluster",
                violation_error_message=_("This cluster already has a running log backup."),
            ),
        ]

    def __str__(self):
        return f"log #{self.pk} {self.cluster_id}"


class CleanupTask(TaskBase):
    KIND = TaskKind.CLEANUP
    Status = CleanupStatus

    policy = models.ForeignKey(BackupPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("policy"))
    status = models.CharField(_("status"), max_length=16, choices=CleanupStatus.choices, default=CleanupStatus.NOT_STARTED)
    retention_days = models.PositiveIntegerField(_("retention (days)"), default=7)
    deleted_sets = models.PositiveIntegerField(_("backup sets deleted"), default=0)

    class Meta(TaskBase.Meta):
        verbose_name = _("cleanup task")
        indexes = list_indexes("cleanup")
        verbose_name_plural = _("cleanup tasks")

    def __str__(self):
        return f"cleanup #{self.pk} {self.cluster_id}"


class SecondaryDataBackupTask(TaskBase):
    KIND = TaskKind.SECONDARY_DATA
    Status = DataBackupStatus

    source = models.ForeignKey(DataBackupTask, on_delete=models.CASCADE, related_name="secondary_copies", verbose_name=_("data backup task"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tenant"))
    backup_set = models.ForeignKey(BackupSet, on_delete=models.PROTECT, related_name="secondary_tasks", verbose_name=_("backup set"))
    mode = models.CharField(_("data backup mode"), max_length=16, choices=BackupMode.choices)
    destination = models.ForeignKey(StorageDestination, on_delete=models.PROTECT, related_name="+", verbose_name=_("destination"))
    storage_directory = models.CharField(_("storage directory"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=DataBackupStatus.choices, default=DataBackupStatus.IN_PROGRESS)

    class Meta(TaskBase.Meta):
        verbose_name = _("secondary data backup")
        verbose_name_plural = _("secondary data backups")
        indexes = list_indexes("secdata") + [
            # OV-3c: "secondary backup done" and its link, per data task.
            models.Index(fields=["source", "status"], name="secdata_source_status"),
        ]

    def __str__(self):
        return f"secondary #{self.pk} of {self.source_id}"


class SecondaryLogBackupTask(TaskBase):
    KIND = TaskKind.SECONDARY_LOG
    Status = LogBackupStatus
    ALIVE = LogBackupTask.ALIVE

    source = models.ForeignKey(LogBackupTask, on_delete=models.CASCADE, related_name="secondary_copies", verbose_name=_("log backup task"))
    destination = models.ForeignKey(StorageDestination, on_delete=models.PROTECT, related_name="+", verbose_name=_("destination"))
    storage_directory = models.CharField(_("storage directory"), max_length=255)
    latest_point = models.DateTimeField(_("latest backup time point"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=LogBackupStatus.choices, default=LogBackupStatus.STARTING)

    class Meta(TaskBase.Meta):
        verbose_name = _("secondary log backup")
        indexes = list_indexes("seclog")
        verbose_name_plural = _("secondary log backups")
        constraints = TaskBase.Meta.constraints + [
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(status__in=["starting", "in_progress", "stopping"]),
                name="one_live_secondary_log_per_source",
            ),
        ]

    def __str__(self):
        return f"secondary log #{self.pk} of {self.source_id}"


TASK_MODELS = {
    model.KIND: model
    for model in (DataBackupTask, LogBackupTask, CleanupTask, SecondaryDataBackupTask, SecondaryLogBackupTask)
}


class AuditEntry(models.Model):
    """Who did what, when: one row per operator action and per admin change.

    Written in the same transaction as the change it records
    (backups/audit.py), so there is no change without its row and no row
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
