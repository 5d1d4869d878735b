"""Every status and kind a backup record can have, with its label and badge colour.

Labels follow the original product's wording (see shared/seed); colours are
Bootstrap contextual names used for the status badges.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ColoredChoices(models.TextChoices):
    """TextChoices whose members know their badge colour (see STATUS_COLORS)."""

    @property
    def color(self):
        return STATUS_COLORS.get(self.value, "secondary")


class DataBackupStatus(ColoredChoices):
    """OV-3 and OV-6: data backups and their secondary copies."""

    IN_PROGRESS = "in_progress", _("In progress")
    FAILED = "failed", _("Failed")
    COMPLETED = "completed", _("Completed")


class LogBackupStatus(ColoredChoices):
    """OV-4 and OV-7: log backups and secondary log backups."""

    STARTING = "starting", _("Starting")
    IN_PROGRESS = "in_progress", _("In progress")
    STOPPING = "stopping", _("Stopping")
    STOPPED = "stopped", _("Stopped")
    FAILED = "failed", _("Failed")


class CleanupStatus(ColoredChoices):
    """OV-5."""

    NOT_STARTED = "not_started", pgettext_lazy("cleanup status", "Not started")
    RUNNING = "running", pgettext_lazy("cleanup status", "Running")
    FAILED = "failed", pgettext_lazy("cleanup status", "Failed")
    COMPLETED = "completed", pgettext_lazy("cleanup status", "Completed")


class AlertStatus(ColoredChoices):
    """An alert is open while its condition holds, and resolves by itself when it clears."""

    OPEN = "open", pgettext_lazy("alert status", "Open")
    RESOLVED = "resolved", pgettext_lazy("alert status", "Resolved")


class AlertSeverity(ColoredChoices):
    CRITICAL = "critical", _("Critical")
    WARNING = "warning", _("Warning")
    INFO = "info", pgettext_lazy("alert severity", "Info")


class AlertRule(models.TextChoices):
    """What an alert is about (issue 14; OCP's backup alerts in shared/DOMAIN.md)."""

    DATA_FAILED = "data_failed", _("Data backup failed")
    DATA_TIMEOUT = "data_timeout", _("Data backup timed out")
    LOG_DELAY = "log_delay", _("Log backup delay")
    SECONDARY_LOG_DELAY = "secondary_log_delay", _("Secondary log backup delay")
    LOG_GAP = "log_gap", _("Log backup failed or interrupted")
    NO_DATA_BACKUP = "no_data_backup", _("No successful data backup")
    SECONDARY_FAILED = "secondary_failed", _("Secondary backup failed")
    RPO_BREACHED = "rpo_breached", _("RPO breached")
    RESTORE_FAILED = "restore_failed", _("Restore failed")
    DRILL_FAILED = "drill_failed", _("Restore drill failed")
    STORAGE_FULL = "storage_full", _("Backup storage over threshold")


STATUS_COLORS = {
    "open": "danger",
    "resolved": "success",
    "critical": "danger",
    "warning": "warning",
    "info": "info",
    "in_progress": "primary",
    "running": "primary",
    "starting": "info",
    "stopping": "warning",
    "not_started": "secondary",
    "stopped": "secondary",
    "completed": "success",
    "failed": "danger",
}


class BackupMethod(models.TextChoices):
    LOGICAL = "logical", _("Logical")
    PHYSICAL = "physical", _("Physical")


class BackupMode(models.TextChoices):
    FULL = "full", _("Full")
    INCREMENTAL = "incremental", _("Incremental")


class StorageKind(models.TextChoices):
    NFS = "nfs", _("NFS file path")
    OBJECT = "object", _("Object storage (S3/OSS)")


class ScheduleKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class PolicyState(ColoredChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")


STATUS_COLORS.update({"active": "success", "paused": "secondary"})


class TaskKind(models.TextChoices):
    DATA = "data", _("Data backup")
    LOG = "log", _("Log backup")
    CLEANUP = "cleanup", _("Cleanup")
    SECONDARY_DATA = "secondary_data", _("Secondary data backup")
    SECONDARY_LOG = "secondary_log", _("Secondary log backup")
    RESTORE = "restore", _("Restore")


class RestorePhase(models.TextChoices):
    """A restore's progress, as the real system reports it (shared/DOMAIN.md):
    on the system tenant, then on the new tenant, in this order."""

    CREATE_TENANT = "CREATE_TENANT", _("Creating the tenant")
    WAIT_TENANT_RESTORE_FINISH = "WAIT_TENANT_RESTORE_FINISH", _("Waiting for the tenant's restore")
    RESTORE_PRE = "RESTORE_PRE", _("Preparing the restore")
    RESTORE_CREATE_INIT_LS = "RESTORE_CREATE_INIT_LS", _("Creating log streams")
    RESTORE_WAIT_LS = "RESTORE_WAIT_LS", _("Restoring data and replaying log")
    POST_CHECK = "POST_CHECK", _("Checking the restored tenant")
    UPGRADE = "UPGRADE", _("Upgrading the tenant")
    RESTORE_SUCCESS = "RESTORE_SUCCESS", _("Restore succeeded")
    RESTORE_FAIL = "RESTORE_FAIL", _("Restore failed")


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    INSTANT = "instant", _("Instant backup")
    SYSTEM = "system", _("System")


class DrillStatus(ColoredChoices):
    """A restore drill's run: restoring, then checked (succeeded) or failed."""

    RUNNING = "running", pgettext_lazy("drill status", "Running")
    SUCCEEDED = "succeeded", pgettext_lazy("drill status", "Succeeded")
    FAILED = "failed", pgettext_lazy("drill status", "Failed")


STATUS_COLORS.update({"succeeded": "success"})
