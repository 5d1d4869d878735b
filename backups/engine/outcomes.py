"""What the engine says about a task besides its status, and what the audit
trail says about an action, in one place: each text under a code.

A machine writes a code and its parameters (``Said``), never a sentence:
TaskEvent.cause_code/cause_params, a task's failure_code/failure_params and
AuditEntry.message_code/message_params.  The sentence is made when a page
is read, in the reader's language, by ``describe`` (and its helpers
``failure_of``, ``cause_of``, ``details_of``): the task pages,
the reason modal, event rows, the cluster page, the admin and the audit page
all go through it (an event's "old → new" is its statuses' labels:
TaskEvent.change_text).  The operator actions (services.py), the simulated
workers (simulation.py) and the demo (backups/devtools/) write the same codes,
so a seeded history and a worked one read the same in either language.

Rows written before codes existed keep their text (TaskEvent.cause, a task's
failure_reason, AuditEntry.message) and ``describe`` falls back to it: it
was written in whatever language was active then and may be free text, so
it is shown as written rather than guessed back into a code.

Besides the codes below, three kinds of text become codes when stored
(``stored``): a lazy translation (e.g. a trigger's label), a ``Phrase`` (the
translated text a refusal is raised with, which remembers its msgid and
values, see ``phrase``), and a refused state-machine move (``illegal_move``).
"""

import re
from functools import cache
from typing import NamedTuple

from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from ..choices import BackupMethod, BackupMode, TaskKind, Trigger

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
    # Restore drills: the restore a drill started, and what its check found.
    "drill_restore": _("Restore drill #%(pk)s of policy %(policy)s."),
    "drill_checked": _("Tenant %(tenant)s exists on %(cluster)s, restored to %(time)s."),
}

# Why a task failed, by code; the event of the failure says the same.
# Placeholders: uri (a storage destination), minutes, time, task (a task
# kind, shown as its name), error (an exception, as "Type: message"),
# cluster (a name).
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
    # Restore drills.
    "drill_no_tenant": _("No recoverable tenant: no tenant of the clusters this policy covers has a recoverable interval."),
    "drill_check_failed": _("Check failed: tenant %(tenant)s is not on %(cluster)s after restore #%(pk)s."),
}

# The details of an audit entry, by code.  Placeholders: pk, cluster, tenant
# (" / name" or empty), scope (cluster or cluster/tenant), mode, method and
# kind (codes, shown as their labels).
AUDIT = {
    "instant_backup": _("%(mode)s data backup #%(pk)s of %(cluster)s%(tenant)s."),
    "log_move": _("%(kind)s #%(pk)s (%(cluster)s)"),
    "policy_created": _("Policy #%(pk)s created: %(scope)s (%(method)s)."),
    "policy": _("%(scope)s (%(method)s)"),
    "forbidden": _("Refused: the role(s) %(roles)s may not do this (%(method)s %(path)s)."),
    "restore_start": _("Restore of %(tenant)s to %(time)s into %(cluster)s / %(new)s."),
    "drill_policy": _("Restore drill policy #%(pk)s: %(name)s."),
    "drill_run": _("Restore drill #%(run)s of policy %(name)s."),
    "channel": _("Notification channel #%(pk)s: %(name)s."),
    "channel_test": _("Test notification #%(delivery)s to channel %(name)s."),
}

TEXTS = {**CAUSES, **FAILURES, **AUDIT}
assert len(TEXTS) == len(CAUSES) + len(FAILURES) + len(AUDIT), "a code names one text"

# The ends a data backup is planned to reach when it is created (its
# sim_outcome): completed, or one of these failures.
COMPLETED = "completed"
DATA_FAILURES = ("storage_unreachable", "compaction_needed", "timeout", "disk_full")


class Said(NamedTuple):
    """A text as stored: its code and the values of its placeholders
    (JSON: strings and numbers).  ``str()`` renders it in the active language."""

    code: str
    params: dict

    def __str__(self):
        return describe(self.code, self.params)


@cache
def _placeholders(code):
    """The placeholder names of text ``code`` (read from its msgid once)."""
    with translation.override(None):
        return frozenset(re.findall(r"%\((\w+)\)", str(TEXTS[code])))


def _said(texts, code, values):
    if code not in texts:  # an unknown code is a bug: raise here, not on a page later
        raise KeyError(code)
    names = _placeholders(code)
    return Said(code, {name: _jsonable(value) for name, value in values.items() if name in names})


def cause(code, **values):
    """The event cause ``code`` with its ``values``, to store."""
    return _said(CAUSES, code, values)


def failure(code, **values):
    """The failure reason ``code`` with its ``values`` (extra ones are ignored), to store."""
    return _said(FAILURES, code, values)


def audit(code, **values):
    """The details ``code`` of an audit entry, to store."""
    return _said(AUDIT, code, values)


# --- Texts that become codes when stored ----------------------------------------------


class Phrase(str):
    """``gettext(msgid) % values`` that remembers ``msgid`` and ``values``, so
    that what was said in one language can be said again in another.

    ``phrase`` is a drop-in ``_`` for code that raises its refusals as
    translated text (services.py): the refusal reads as before, and the audit
    trail stores the msgid and values instead of the sentence."""

    def __new__(cls, msgid, values=None):
        text = gettext(msgid)
        if values is not None:
            text = text % values
        self = super().__new__(cls, text)
        self.msgid, self.values = msgid, values
        return self

    def __mod__(self, values):
        if self.values is not None or not isinstance(values, dict):
            return str.__mod__(str(self), values)
        return Phrase(self.msgid, values)


def phrase(msgid):
    return Phrase(msgid)


class Lowered(Phrase):
    """A label in lower case inside a sentence ("… is already paused."),
    remembered as its msgid so it is said again in the reader's language."""

    def __new__(cls, msgid):
        self = str.__new__(cls, gettext(msgid).lower())
        self.msgid, self.values = msgid, None
        return self


def lowered(label):
    """``label`` (a lazy translation) in lower case, as a value of a Phrase."""
    return Lowered(_msgid(label))


def _msgid(lazy):
    """The untranslated text of a lazy translation."""
    with translation.override(None):
        return str(lazy)


def _jsonable(value):
    """A placeholder value as stored: numbers and strings as they are, a text
    that can be said again (lazy, Phrase) as its msgid, anything else as text."""
    if isinstance(value, Lowered):
        return {"msgid": value.msgid, "lower": True}
    if isinstance(value, Phrase):
        return {"msgid": value.msgid, "values": None if value.values is None else
                {k: _jsonable(v) for k, v in value.values.items()}}
    if isinstance(value, Promise):
        return {"msgid": _msgid(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def stored(value, max_length=None):
    """(code, params, text) to store for ``value``: a Said as it is, a lazy
    translation or a Phrase under the code "text", anything else as plain
    text (cut to ``max_length``) with no code."""
    if isinstance(value, Said):
        return value.code, value.params, ""
    if isinstance(value, (Phrase, Promise)):
        return "text", _jsonable(value), ""
    text = "" if value is None else str(value)
    return "", {}, text[:max_length] if max_length else text


# --- Saying it, in the reader's language ------------------------------------------------


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _task_name(value):
    from ..models import TASK_MODELS

    model = TASK_MODELS.get(value)
    return capfirst(model._meta.verbose_name) if model else value


# Placeholders whose stored value is a code, shown as its label.
LABELS = {
    "mode": lambda v: _label(BackupMode, v),
    "method": lambda v: _label(BackupMethod, v),
    "kind": lambda v: _label(TaskKind, v),
    "trigger": lambda v: _label(Trigger, v),
    "task": _task_name,
}


def _value(name, value):
    if isinstance(value, dict) and "msgid" in value:
        return _text(value)
    if name in LABELS and isinstance(value, str):
        return LABELS[name](value)
    return value


def _text(params):
    """A lazy translation or Phrase, said again."""
    text = gettext(params["msgid"])
    if params.get("lower"):
        return text.lower()
    values = params.get("values")
    if values is None:
        return text
    return text % {name: _value(name, value) for name, value in values.items()}


def _illegal_move(params):
    """Why the state machine refused a move (backups/engine/transitions.py)."""
    from ..models import TASK_MODELS

    model = TASK_MODELS[params["kind"]]
    task = f"{_label(TaskKind, params['kind'])} #{params['pk']}"
    current, to = params.get("current"), params["to"]

    def status(value):
        return _label(model.Status, value).lower()

    if current is None:
        return gettext("%(task)s does not exist.") % {"task": task}
    if current == to:
        return gettext("%(task)s is already %(status)s.") % {"task": task, "status": status(current)}
    if to in ATTEMPTS:
        return gettext("%(task)s is %(status)s, so it cannot be %(attempt)s.") % {
            "task": task, "status": status(current), "attempt": str(ATTEMPTS[to]),
        }
    return gettext("%(task)s is %(status)s and cannot become %(to)s.") % {
        "task": task, "status": status(current), "to": status(to),
    }


# What an operator tried, for the refusal of a move they asked for.
ATTEMPTS = {"stopping": _("stopped"), "starting": _("started")}


def illegal_move(kind, pk, current, to):
    """The refusal of moving task ``pk`` of ``kind`` from ``current`` (None: no such task) to ``to``."""
    return Said("illegal_move", {"kind": str(kind), "pk": pk, "current": None if current is None else str(current),
                                 "to": str(to)})


def _shown(value):
    """A value of a change (audit.changes): text as it is, a list of msgids
    translated and joined, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return pgettext("list separator", ", ").join(gettext(item) for item in value)
    return str(value)


def _changes(params):
    """"Label: old → new; ..." for an edit (backups/engine/audit.py, ``changes``)."""
    parts = [
        gettext("%(field)s: %(old)s → %(new)s") % {
            "field": capfirst(gettext(change["field"])), "old": _shown(change.get("old")), "new": _shown(change.get("new")),
        }
        for change in params.get("changes", [])
    ]
    if params.get("log") and not parts:
        parts.append(_admin_log(params))
    return pgettext("list separator", "; ").join(parts) if parts else gettext("No change.")


def _admin_log(params):
    """The admin's own change message (LogEntry), which Django translates when read."""
    from django.contrib.admin.models import LogEntry

    return str(LogEntry(change_message=params.get("log") or "").get_change_message())


def _forbidden(params):
    roles = ", ".join(params.get("roles") or []) or gettext("none")
    return str(AUDIT["forbidden"]) % {"roles": roles, "method": params.get("method", ""), "path": params.get("path", "")}


RENDERERS = {
    "text": _text,
    "illegal_move": _illegal_move,
    "changes": _changes,
    "admin_log": _admin_log,
    "forbidden": _forbidden,
}


def describe(code, params=None, fallback=""):
    """The text of ``code`` with ``params``, in the active language; ``fallback``
    (a row's stored text) when there is no code.  A row whose stored values no
    longer fit its text still says something: its fallback or its code."""
    if not code:
        return fallback or ""
    params = params or {}
    try:
        if code in RENDERERS:
            return RENDERERS[code](params)
        if code in TEXTS:
            return str(TEXTS[code]) % {name: _value(name, value) for name, value in params.items()}
    except (KeyError, TypeError, ValueError, LookupError):
        pass
    return fallback or code


def failure_of(task):
    """Why ``task`` failed, in the reader's language ("" when it did not)."""
    return describe(task.failure_code, task.failure_params, task.failure_reason)


def cause_of(event):
    """The cause of a TaskEvent, in the reader's language."""
    return describe(event.cause_code, event.cause_params, event.cause)


def details_of(entry):
    """The details of an AuditEntry, in the reader's language, with how many
    times the same attempt was repeated."""
    text = describe(entry.message_code, entry.message_params, entry.message)
    if getattr(entry, "repeats", 1) > 1:
        text = pgettext("audit repeats", "%(text)s (×%(count)s)") % {"text": text, "count": entry.repeats}
    return text
