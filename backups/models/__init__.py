"""The backup domain's models, by concern: policies (where and when), tasks
(the five kinds and their list indexes), history (events and audit), recovery (what a tenant restores to)."""

from .history import AuditEntry, TaskEvent
from .policies import BackupPolicy, BackupSet, StorageDestination
from .recovery import RecoverableInterval
from .tasks import TASK_MODELS, CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, TaskBase, list_indexes

__all__ = [
    "TASK_MODELS",
    "AuditEntry",
    "BackupPolicy",
    "BackupSet",
    "CleanupTask",
    "DataBackupTask",
    "LogBackupTask",
    "RecoverableInterval",
    "SecondaryDataBackupTask",
    "SecondaryLogBackupTask",
    "StorageDestination",
    "TaskBase",
    "TaskEvent",
    "list_indexes",
]
