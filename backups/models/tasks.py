"""The five task kinds of the overview (OV-3..OV-7) and the indexes their lists need.

Every list asks for "tasks whose life overlaps a time window [, with these
statuses] [, of this cluster], newest first"; ``list_indexes`` gives each
kind the indexes that serve it.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Host, Tenant

from ..choices import BackupMethod, BackupMode, CleanupStatus, DataBackupStatus, LogBackupStatus, TaskKind, Trigger
from .history import TaskEvent
from .policies import BackupPolicy, BackupSet, StorageDestination


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
    from ..timerange import effective_end

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
    # PostgreSQL AND a cluster's whole history into
    # a bitmap with the status index for "failed in this cluster".
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"), db_index=False
    )
    started_at = models.DateTimeField(_("start time"))
    # Null while the task is alive (OV-8: a running task has not ended).
    ended_at = models.DateTimeField(_("end time"), null=True, blank=True)
    # Why it failed, as a code and its values (backups/engine/outcomes.py,
    # said in the reader's language when read); failure_reason is the text of
    # rows written before codes, and of a reason given as plain text.
    failure_reason = models.TextField(_("failure reason"), blank=True)
    failure_code = models.CharField(_("failure code"), max_length=32, blank=True, editable=False)
    failure_params = models.JSONField(_("failure values"), default=dict, blank=True, editable=False)
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
    # Where it writes: its policy's destination when it started. The policy
    # may move to another destination later; what this backup stored stays
    # here, and cleanup frees it from here (engine/rollups.py). Empty on rows
    # written before it was kept: those count on their policy's destination.
    destination = models.ForeignKey(
        StorageDestination, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("destination"),
    )
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
    # The simulated machinery's plan for this run (backups/engine/simulation.py),
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
                violation_error_message=_(
                    "A logical backup of this data version already exists; it may be taken once per data version."
                ),
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
                condition=~Q(status="failed") | ~Q(failure_code="") | ~Q(failure_reason=""),
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
                violation_error_message=_("This log backup already has a running secondary copy."),
            ),
        ]

    def __str__(self):
        return f"secondary log #{self.pk} of {self.source_id}"


TASK_MODELS = {
    model.KIND: model
    for model in (DataBackupTask, LogBackupTask, CleanupTask, SecondaryDataBackupTask, SecondaryLogBackupTask)
}
