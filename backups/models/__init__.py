"""The backup domain's models, by concern: policies (where and when), tasks
(the five kinds and their list indexes), history (events and audit), recovery (what a tenant restores to), restores, restore drills,
rollups (finished tasks per day, for the overview's metrics), alerts and their notification channels."""

from .alerts import Alert, ClusterSilence
from .drills import RestoreDrillPolicy, RestoreDrillRun
from .history import AuditEntry, TaskEvent
from .notify import Delivery, DeliveryAttempt, NotificationChannel
from .policies import BackupPolicy, BackupSet, StorageDestination
from .recovery import RecoverableInterval
from .restores import RestoreTask
from .rollups import DailyRollup, LogDelaySample, StorageRollup
from .tasks import TASK_MODELS, CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, TaskBase, list_indexes

__all__ = [
    "TASK_MODELS",
    "Alert",
    "AuditEntry",
    "BackupPolicy",
    "BackupSet",
    "CleanupTask",
    "ClusterSilence",
    "DailyRollup",
    "StorageRollup",
    "LogDelaySample",
    "Delivery",
    "DeliveryAttempt",
    "DataBackupTask",
    "LogBackupTask",
    "NotificationChannel",
    "RecoverableInterval",
    "RestoreDrillPolicy",
    "RestoreDrillRun",
    "RestoreTask",
    "SecondaryDataBackupTask",
    "SecondaryLogBackupTask",
    "StorageDestination",
    "TaskBase",
    "TaskEvent",
    "list_indexes",
]
