"""What the engine says about a task besides its status, in one place: the
cause of each event it writes and the reason a task failed, each under a code.

The operator actions (services.py) and the simulated workers (simulation.py)
write these texts, and so does the demo (backups/devtools/history.py and fill.py): a seeded
history and a worked one read the same in the console.  The texts are lazy
and rendered when written (``cause``, ``failure``), in the language active
then, as the engine has always done: TaskEvent.cause and failure_reason
store text, not codes.
"""

from django.utils.translation import gettext_lazy as _

# The cause of a TaskEvent, by code.  Placeholders: pk (of the policy or the
# source task named), days, count, time.
CAUSES = {
    # Data backups: how one was created (services), how it ended (simulation).
    # A data backup started with no cause of its own says its trigger's label.
    "instant_requested": _("Instant backup requested."),
    "scheduled": _("Scheduled by policy #%(pk)s."),
    "scheduled_full": _("Scheduled by policy #%(pk)s: full, as there is no full backup to build on."),
    "data_finished": _("Backup finished."),
    # Secondary copies of data backups.
    "copy_started": _("Copy of data backup #%(pk)s."),
    "copy_finished": _("Copy finished."),
    # Log backups and their copies.
    "log_started": _("Log backup of policy #%(pk)s."),
    "log_copy_started": _("Copy of log backup #%(pk)s."),
    "log_running": _("Log archiving running."),
    "stop_requested": _("Stop requested."),
    "start_requested": _("Start requested."),
    "log_stopped": _("Log archiving stopped."),
    "sweeper_finished": _("Finished by the sweeper: the worker moving it was lost (no progress since %(time)s)."),
    # Cleanups.
    "cleanup_scheduled": _("Retention of %(days)s days."),
    "cleanup_started": _("Cleanup started."),
    "cleanup_finished": _("Deleted %(count)s expired backup set(s)."),
    # Restores.
    "restore_requested": _("Restore requested."),
    "restore_finished": _("Restore finished: tenant %(tenant)s created."),
}

# Why a task failed, by code; the event of the failure says the same.
# Placeholders: uri (a storage destination), minutes, time, task (a task
# kind's name), error (an exception, as "Type: message"), cluster (a name).
FAILURES = {
    "storage_unreachable": _("Storage destination unreachable: %(uri)s did not answer."),
    "compaction_needed": _("Compaction needed before full backup: the cluster's major compaction has not finished."),
    "timeout": _("Timed out after %(minutes)s minutes (the policy's data backup timeout)."),
    "disk_full": _("No space left on the storage destination %(uri)s."),
    "log_lost": _("Archive log lost on the service host: the log stream broke."),
    "policy_deleted": _("The backup policy of this cleanup was deleted."),
    "worker_lost": _("Worker lost: no progress since %(time)s."),
    # An unavailable cluster: a scheduled job created there fails at once (the
    # database's "job failed to start"); a running one fails where it stood.
    "cluster_unavailable_at_start": _("The backup job failed to start: cluster %(cluster)s is unavailable."),
    "cluster_unavailable": _("Cluster %(cluster)s became unavailable: the backup could not go on."),
    "crashed": _("%(task)s failed on an unexpected error: %(error)s"),
    "set_deleted": _("Backup set of data backup #%(pk)s was deleted while the restore needed it."),
    "log_missing": _("result: -4018 (not enough log for the restore point): the archive has no log up to %(time)s."),
}

# The ends a data backup is planned to reach when it is created (its
# sim_outcome): completed, or one of these failures.
COMPLETED = "completed"
DATA_FAILURES = ("storage_unreachable", "compaction_needed", "timeout", "disk_full")


def cause(code, **values):
    """The event cause ``code``, rendered now with ``values``."""
    return str(CAUSES[code]) % values


def failure(code, **values):
    """The failure reason ``code``, rendered now with ``values`` (extra ones are ignored)."""
    return str(FAILURES[code]) % values
