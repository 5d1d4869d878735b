"""The one registry of task kinds: for each, its model, labels, the list it
lives in (tab key and view name), its task page, what that page shows, and
its state machine (which status may follow which).

Everything that walks "every kind" — the overview tabs, a cluster's recent
failures and quick links, task pages, audit links, the engine's log kinds,
the benchmark — reads this, so a new kind is added here once.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from .choices import CleanupStatus as C
from .choices import DataBackupStatus as D
from .choices import LogBackupStatus as L
from .choices import TaskKind
from .models import CleanupTask, DataBackupTask, LogBackupTask, RestoreTask, SecondaryDataBackupTask, SecondaryLogBackupTask

_DATA_MOVES = {D.IN_PROGRESS: frozenset({D.COMPLETED, D.FAILED})}
_LOG_MOVES = {
    L.STARTING: frozenset({L.IN_PROGRESS, L.STOPPING, L.FAILED}),
    L.IN_PROGRESS: frozenset({L.STOPPING, L.FAILED}),
    L.STOPPING: frozenset({L.STOPPED, L.FAILED}),
    L.STOPPED: frozenset({L.STARTING}),
}
_CLEANUP_MOVES = {C.NOT_STARTED: frozenset({C.RUNNING}), C.RUNNING: frozenset({C.COMPLETED, C.FAILED})}


@dataclass(frozen=True)
class Kind:
    value: str  # a TaskKind value, also the model's KIND
    model: type
    tab: str  # the list's key: the overview tab and the benchmark's name for it
    list_label: str
    list_view: str
    detail_view: str
    moves: dict = field(repr=False)
    # What the task page shows besides cluster, status and times.
    detail_fields: tuple = ()
    # The list's "sorted by end time" parameter (the log lists sort by nothing).
    end_sort: str | None = "-ended_at"

    @property
    def label(self):
        return TaskKind(self.value).label

    @property
    def is_log(self):
        """A long-lived archive stream that operators stop and start."""
        return self.moves is _LOG_MOVES


KINDS = {
    kind.value: kind
    for kind in (
        Kind(TaskKind.DATA, DataBackupTask, "data", _("Data backup tasks"), "backups:data_list",
             "backups:data_detail", _DATA_MOVES),
        Kind(TaskKind.LOG, LogBackupTask, "logs", _("Log backup tasks"), "backups:log_list", "backups:log_detail",
             _LOG_MOVES, ("tenant", "backup_method", "host", "policy", "storage_directory", "latest_point"),
             end_sort=None),
        Kind(TaskKind.CLEANUP, CleanupTask, "cleanups", _("Cleanup tasks"), "backups:cleanup_list",
             "backups:cleanup_detail", _CLEANUP_MOVES, ("policy", "retention_days", "deleted_sets")),
        Kind(TaskKind.SECONDARY_DATA, SecondaryDataBackupTask, "secondary_data", _("Secondary data backups"),
             "backups:secondary_data_list", "backups:secondary_data_detail", _DATA_MOVES,
             ("source", "tenant", "backup_set", "mode", "destination", "storage_directory")),
        Kind(TaskKind.SECONDARY_LOG, SecondaryLogBackupTask, "secondary_logs", _("Secondary log backups"),
             "backups:secondary_log_list", "backups:secondary_log_detail", _LOG_MOVES,
             ("source", "destination", "storage_directory", "latest_point"), end_sort=None),
        Kind(TaskKind.RESTORE, RestoreTask, "restores", _("Restore tasks"), "backups:restore_list",
             "backups:restore_detail", _DATA_MOVES,
             ("source_tenant", "restore_point", "target_cluster", "new_tenant_name", "new_tenant", "phase",
              "finished_bytes", "total_bytes", "source_destination", "data_task_ids", "round_ids",
              "secondary_data_task_ids", "secondary_round_ids", "requested_by")),
    )
}
LOG_KINDS = {value: kind for value, kind in KINDS.items() if kind.is_log}
# The overview's tab groups, in the original page's order.
TAB_GROUPS = [
    (_("Normal backups"), [KINDS[TaskKind.DATA], KINDS[TaskKind.LOG], KINDS[TaskKind.CLEANUP]]),
    (_("Secondary backups"), [KINDS[TaskKind.SECONDARY_DATA], KINDS[TaskKind.SECONDARY_LOG]]),
    (_("Restores"), [KINDS[TaskKind.RESTORE]]),
]


def kind_of(model):
    """The Kind of a task model (or of a task)."""
    return KINDS[model.KIND]
