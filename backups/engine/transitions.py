"""The state machine of every task kind, written once (SPEC SIM-6, OV-4a).

``MOVES`` (from the kinds' registry, backups/kinds.py) says which status may
follow which.  ``transition`` is the only way
a task's status changes after it is created: one conditional UPDATE (the row
moves only while its status is one the move may leave) so two callers racing
for the same move get exactly one winner, and the TaskEvent row written in the
same transaction.  The loser gets ``IllegalTransition`` with a message an
operator can read ("Log backup #12 is already stopping.").

``transition`` decides what to write; how it is written depends on the
database.  On PostgreSQL it is one statement (row lock, UPDATE and INSERT of
the event in data-modifying CTEs), which is atomic by itself: one round trip,
no BEGIN/COMMIT of its own, and it tells the status it found when nothing
moved.  Elsewhere (SQLite, the embedded default) it is a transaction of a
read, a conditional UPDATE and an INSERT.
"""

import logging
from contextlib import nullcontext
from functools import cache, partial

from django.contrib.contenttypes.models import ContentType
from django.db import connections, router, transaction
from django.utils import timezone

from ..choices import CleanupStatus as C
from ..choices import DataBackupStatus as D
from ..choices import LogBackupStatus as L
from ..kinds import KINDS
from . import intervals, rollups
from .outcomes import illegal_move, stored

# Which status may follow which, per kind (declared with the kinds, backups/kinds.py).
MOVES = {value: kind.moves for value, kind in KINDS.items()}

# Statuses in which a task has ended (OV-8: ended_at is set exactly then).
FINAL = {D.COMPLETED, D.FAILED, L.STOPPED, L.FAILED, C.COMPLETED, C.FAILED}

log = logging.getLogger(__name__)

# What runs once a task's move to a final status has committed, by task kind:
# callables (pk, status) registered by the engine above this module (a restore
# drill checks its restore, engine/drills.py), so the state machine imports none of them.
ENDED_HOOKS = {}
# And once a move to one given status has committed, by (kind, status): a log
# backup running again closes its gap's alert (engine/alerting.py).
MOVED_HOOKS = {}


def on_ended(kind, hook):
    """Call ``hook(pk, status)`` after the commit of every move of a ``kind`` task to a final status."""
    hooks = ENDED_HOOKS.setdefault(str(kind), [])
    if hook not in hooks:
        hooks.append(hook)


def on_moved(kind, to, hook):
    """Call ``hook(pk, status)`` after the commit of every move of a ``kind`` task to ``to``."""
    hooks = MOVED_HOOKS.setdefault((str(kind), str(to)), [])
    if hook not in hooks:
        hooks.append(hook)


def _run_ended_hooks(hooks, pk, status):
    for hook in hooks:
        try:
            hook(pk, status)
        except Exception:  # the move stands; the hook's own sweep catches up
            log.exception("after %s of #%s: %r failed", status, pk, hook)

class IllegalTransition(Exception):
    """A move the state machine refuses; ``str()`` is a translated message,
    ``said`` the same as a code and values (outcomes.illegal_move), to say
    again in another language (the audit trail)."""

    def __init__(self, said):
        super().__init__(str(said))
        self.said = said


def sources(kind, to):
    """Statuses from which ``kind`` may move to ``to``."""
    return {src for src, targets in MOVES[kind].items() if to in targets}


def is_final(status):
    return status in FINAL


def model_for(task_or_kind):
    if isinstance(task_or_kind, str):
        return KINDS[task_or_kind].model
    return task_or_kind


def transition(task, pk, to, *, cause, actor=None, actor_label="worker", expect=None, now=None, **fields):
    """Move task ``pk`` of ``task`` (a model, or a TaskKind value) to ``to``.

    ``expect`` narrows the statuses it may leave (e.g. the worker finishing a
    stop expects only "stopping").  ``fields`` are written in the same UPDATE
    (failure_reason, progress, latest_point, ...).  Returns the status it left.
    Must be the only writer of ``status``: everything relies on it.

    ``cause`` and ``failure_reason`` are stored as codes when they are a code
    (outcomes.cause, outcomes.failure) or a translation, as text otherwise
    (outcomes.stored).
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
    if "failure_reason" in values:
        values["failure_code"], values["failure_params"], values["failure_reason"] = stored(values["failure_reason"])
    elif to != "failed" and "failure_reason" in (f.name for f in model._meta.fields):
        values.update(failure_reason="", failure_code="", failure_params={})
    event = {
        "content_type_id": ContentType.objects.get_for_model(model).pk,
        "object_id": pk,
        "new_status": to,
        **_cause(cause),
        "actor_id": actor.pk if actor is not None and actor.is_authenticated else None,
        "actor_label": actor_label if actor is None else "operator",
        "created_at": now,
    }
    using = router.db_for_write(model)
    # A move that changes what can be restored rewrites the cluster's
    # recoverable intervals in its own transaction (engine/intervals.py).
    refresh = intervals.needs_refresh(model.KIND, to)
    # A move that ends a task counts it in its day's rollup, in the same
    # transaction (engine/rollups.py).
    rolled = rollups.counts(model.KIND, to)
    with transaction.atomic(using) if refresh or rolled else nullcontext():
        if connections[using].vendor == "postgresql" and _plain(model, values):
            moved, current = _move_in_one_statement(using, model, pk, allowed, values, event)
        else:
            moved, current = _move_step_by_step(using, model, pk, allowed, values, event)
        if not moved:
            raise IllegalTransition(illegal_move(model.KIND, pk, current, to))
        if rolled:
            rollups.count_finished(model, pk, using)
        if rollups.stores(model.KIND, to):
            rollups.count_stored(model, pk, using)
        if refresh:
            intervals.refresh(model.objects.using(using).values_list("cluster_id", flat=True).get(pk=pk))
    hooks = [*(ENDED_HOOKS.get(str(model.KIND), ()) if is_final(to) else ()), *MOVED_HOOKS.get((str(model.KIND), str(to)), ())]
    if hooks:
        transaction.on_commit(partial(_run_ended_hooks, tuple(hooks), pk, to), using=using)
    return current


def _move_step_by_step(using, model, pk, allowed, values, event):
    """Portable: read what we are moving from, then move only if it is still that.

    A concurrent mover makes our UPDATE match nothing, and we look again.
    Returns (moved, the status found).
    """
    from ..models import TaskEvent

    with transaction.atomic(using):
        for _attempt in range(len(MOVES[model.KIND]) + 1):
            row = model.objects.using(using).filter(pk=pk).values("status", "cluster_id").first()
            current = row and row["status"]
            if current not in allowed:
                return False, current
            if model.objects.using(using).filter(pk=pk, status=current).update(**values):
                break
        else:  # pragma: no cover - only under a pathological storm of moves
            return False, current
        TaskEvent.objects.using(using).create(cluster_id=row["cluster_id"], old_status=current, **event)
    return True, current


def _plain(model, values):
    """Whether one-statement SQL can write ``values``: plain values of local
    columns (an F() expression or a related object takes the ORM's path)."""
    for name, value in values.items():
        field = model._meta.get_field(name)
        if not field.concrete or field.is_relation or hasattr(value, "resolve_expression"):
            return False
    return True


def _move_in_one_statement(using, model, pk, allowed, values, event):
    """PostgreSQL: lock the row, move it if its status is allowed, write the
    event, and report the status found: one statement, so one round trip.

    The row lock (FOR NO KEY UPDATE, what the UPDATE itself takes) makes racing
    movers queue; each then sees the status its predecessor left, so exactly
    one wins a given move, and the event says truly what it moved from.  A
    statement is atomic on its own; inside a caller's transaction it gets a
    savepoint, as before, so a database error leaves that transaction usable.
    Returns (moved, the status found).
    """
    from ..models import TaskEvent

    connection = connections[using]
    pk = model._meta.pk.get_prep_value(pk)
    low, high = connection.ops.integer_field_ranges.get(model._meta.pk.get_internal_type(), (pk, pk))
    if not low <= pk <= high:
        return False, None  # no row has it: the ORM's filter(pk=...) finds none, PostgreSQL would raise
    sql = _one_statement_sql(using, model, tuple(values), tuple(event))
    params = [pk]
    params += [model._meta.get_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    params.append(sorted(str(status) for status in allowed))
    params += [TaskEvent._meta.get_field(name).get_db_prep_save(value, connection) for name, value in event.items()]
    with transaction.atomic(using) if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    if row is None:
        return False, None
    return row[1], row[0]


@cache
def _one_statement_sql(using, model, value_names, event_names):
    """The statement of ``_move_in_one_statement`` for one model and set of
    fields.  Parameters: pk, the values, the allowed statuses, the event's."""
    from ..models import TaskEvent

    qn = connections[using].ops.quote_name
    task, events = model._meta, TaskEvent._meta
    column = {name: qn(task.get_field(name).column) for name in ("status", "cluster", *value_names)}
    event_columns = [qn(events.get_field(name).column) for name in (*event_names, "cluster", "old_status")]
    sql = f"""
        WITH found AS (
            SELECT {qn(task.pk.column)} AS id, {column["status"]} AS status, {column["cluster"]} AS cluster_id
            FROM {qn(task.db_table)} WHERE {qn(task.pk.column)} = %s
            FOR NO KEY UPDATE
        ), moved AS (
            UPDATE {qn(task.db_table)} AS task SET {", ".join(f"{column[name]} = %s" for name in value_names)}
            FROM found WHERE task.{qn(task.pk.column)} = found.id AND found.status = ANY(%s::text[])
            RETURNING found.status, found.cluster_id
        ), event AS (
            INSERT INTO {qn(events.db_table)} ({", ".join(event_columns)})
            SELECT {", ".join(["%s"] * len(event_names))}, moved.cluster_id, moved.status FROM moved
            RETURNING 1
        )
        SELECT found.status, EXISTS (SELECT 1 FROM event) FROM found"""
    return " ".join(sql.split())  # one line in logs and captured queries


def _cause(cause):
    code, params, text = stored(cause, max_length=255)
    return {"cause": text, "cause_code": code, "cause_params": params}


def record_created(task, *, cause, actor=None, actor_label="worker"):
    """The event of a task's birth (old status empty), in the caller's transaction."""
    from ..models import TaskEvent

    return TaskEvent.objects.create(
        content_type=ContentType.objects.get_for_model(type(task)),
        object_id=task.pk,
        cluster_id=task.cluster_id,
        old_status="",
        new_status=task.status,
        **_cause(cause),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label if actor is None else "operator",
        created_at=task.started_at,
    )
