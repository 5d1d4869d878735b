"""The state machine of every task kind, written once (SPEC SIM-6, OV-4a).

``MOVES`` says which status may follow which.  ``transition`` is the only way
a task's status changes after it is created: one conditional UPDATE
(``WHERE id = :pk AND status = :seen``) so two callers racing for the same
move get exactly one winner, and the TaskEvent row written in the same
transaction.  The loser gets ``IllegalTransition`` with a message an operator
can read ("Log backup #12 is already stopping.").
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .choices import CleanupStatus as C
from .choices import DataBackupStatus as D
from .choices import LogBackupStatus as L
from .choices import TaskKind
from .models import TASK_MODELS

_DATA_MOVES = {D.IN_PROGRESS: {D.COMPLETED, D.FAILED}}
_LOG_MOVES = {
    L.STARTING: {L.IN_PROGRESS, L.STOPPING, L.FAILED},
    L.IN_PROGRESS: {L.STOPPING, L.FAILED},
    L.STOPPING: {L.STOPPED, L.FAILED},
    L.STOPPED: {L.STARTING},
}
_CLEANUP_MOVES = {C.NOT_STARTED: {C.RUNNING}, C.RUNNING: {C.COMPLETED, C.FAILED}}

MOVES = {
    TaskKind.DATA: _DATA_MOVES,
    TaskKind.SECONDARY_DATA: _DATA_MOVES,
    TaskKind.LOG: _LOG_MOVES,
    TaskKind.SECONDARY_LOG: _LOG_MOVES,
    TaskKind.CLEANUP: _CLEANUP_MOVES,
}

# Statuses in which a task has ended (OV-8: ended_at is set exactly then).
FINAL = {D.COMPLETED, D.FAILED, L.STOPPED, L.FAILED, C.COMPLETED, C.FAILED}

# What an operator tried, for the refusal message of a move they asked for.
_ATTEMPTS = {
    L.STOPPING: gettext_lazy("stopped"),
    L.STARTING: gettext_lazy("started"),
}


class IllegalTransition(Exception):
    """A move the state machine refuses; ``str()`` is a translated message."""


def sources(kind, to):
    """Statuses from which ``kind`` may move to ``to``."""
    return {src for src, targets in MOVES[kind].items() if to in targets}


def is_final(status):
    return status in FINAL


def model_for(task_or_kind):
    if isinstance(task_or_kind, str):
        return TASK_MODELS[task_or_kind]
    return task_or_kind


def _label(model, status):
    try:
        return str(model.Status(status).label).lower()
    except ValueError:
        return status


def _refusal(model, pk, current, to):
    task = f"{str(TaskKind(model.KIND).label)} #{pk}"
    if current is None:
        return _("%(task)s does not exist.") % {"task": task}
    if current == to:
        return _("%(task)s is already %(status)s.") % {"task": task, "status": _label(model, current)}
    if to in _ATTEMPTS:
        return _("%(task)s is %(status)s, so it cannot be %(attempt)s.") % {
            "task": task,
            "status": _label(model, current),
            "attempt": _ATTEMPTS[to],
        }
    return _("%(task)s is %(status)s and cannot become %(to)s.") % {
        "task": task,
        "status": _label(model, current),
        "to": _label(model, to),
    }


def transition(task, pk, to, *, cause, actor=None, actor_label="worker", expect=None, now=None, **fields):
    """Move task ``pk`` of ``task`` (a model, or a TaskKind value) to ``to``.

    ``expect`` narrows the statuses it may leave (e.g. the worker finishing a
    stop expects only "stopping").  ``fields`` are written in the same UPDATE
    (failure_reason, progress, latest_point, ...).  Returns the status it left.
    Must be the only writer of ``status``: everything relies on it.
    """
    model = model_for(task)
    allowed = sources(model.KIND, to)
    if expect is not None:
        allowed &= set(expect)
    now = now or timezone.now()
    values = {"status": to, "updated_at": now, **fields}
    if is_final(to):
        values.setdefault("ended_at", now)
    else:
        # Alive again (a restarted log backup): it has not ended.
        values.setdefault("ended_at", None)
    if to != "failed" and "failure_reason" in (f.name for f in model._meta.fields):
        values.setdefault("failure_reason", "")

    with transaction.atomic():
        # Read what we are moving from, then move only if it is still that:
        # a concurrent mover makes our UPDATE match nothing, and we look again.
        for _attempt in range(len(MOVES[model.KIND]) + 1):
            row = model.objects.filter(pk=pk).values("status", "cluster_id").first()
            current = row and row["status"]
            if current not in allowed:
                raise IllegalTransition(_refusal(model, pk, current, to))
            if model.objects.filter(pk=pk, status=current).update(**values):
                break
        else:  # pragma: no cover - only under a pathological storm of moves
            raise IllegalTransition(_refusal(model, pk, current, to))
        from .models import TaskEvent

        TaskEvent.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=pk,
            cluster_id=row["cluster_id"],
            old_status=current,
            new_status=to,
            cause=str(cause)[:255],
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor_label if actor is None else "operator",
            created_at=now,
        )
    return current


def record_created(task, *, cause, actor=None, actor_label="worker"):
    """The event of a task's birth (old status empty), in the caller's transaction."""
    from .models import TaskEvent

    return TaskEvent.objects.create(
        content_type=ContentType.objects.get_for_model(type(task)),
        object_id=task.pk,
        cluster_id=task.cluster_id,
        old_status="",
        new_status=task.status,
        cause=str(cause)[:255],
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label if actor is None else "operator",
        created_at=task.started_at,
    )
