"""Daily rollups (models/rollups.py): kept by the state machine, rebuilt by bulk writers.

``count_finished`` is called by ``transitions.transition`` inside the
transaction of a move that ends a task, so the count and the move commit or
roll back together.  It is one upsert — ``INSERT … ON CONFLICT (day, cluster,
kind, outcome) DO UPDATE SET count = count + 1, …`` — which PostgreSQL and
SQLite (3.24 and later) both run atomically: two workers ending tasks of the
same day, cluster and kind at once each add their one (PostgreSQL makes the
second wait on the row the first inserted or updated, SQLite has one writer).

Which kinds: those whose ending is for good (data backups, cleanups,
secondary data backups, restores).  A log backup and its secondary copy are
streams that stop and start again under one row, so "ended on a day" is not a
property of the row and a recount could not agree; the overview reads their
current state instead.

A day is the local date of the moment the task ended, in the console's time
zone (``TIME_ZONE``), fixed when counted.

``rebuild_rollups`` recomputes every rollup from the task rows in one INSERT …
SELECT (after deleting them, in one transaction).  The demo history and the
benchmark's bulk fill write rows without the engine and call it at their end.
"""

from django.db import connections, router, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, IntegerField, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..kinds import KINDS
from ..models import DailyRollup


def _endings(kind):
    """The statuses a task of ``kind`` ends in for good: reached, never left."""
    sources = set(kind.moves)
    return frozenset(to for targets in kind.moves.values() for to in targets if to not in sources)


# {kind value: the outcomes counted}; log kinds restart, so they are not rolled up.
ROLLED = {value: _endings(kind) for value, kind in KINDS.items() if not kind.is_log}

# The column that holds what a task wrote (or restored), per kind; none: 0.
BYTES = {"data": "size_bytes", "restore": "finished_bytes"}


def counts(kind, to):
    """Whether a move of ``kind`` to ``to`` is counted in the rollups."""
    return to in ROLLED.get(kind, ())


def day_of(moment):
    """The rollup day of a moment: its date in the console's time zone."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def count_finished(model, pk, using):
    """Add task ``pk`` (just ended, in this transaction) to its day's rollup."""
    column = BYTES.get(model.KIND)
    names = ["cluster_id", "started_at", "ended_at", "status"] + ([column] if column else [])
    row = model.objects.using(using).filter(pk=pk).values(*names).get()
    connection = connections[using]
    key = {"day": day_of(row["ended_at"]), "cluster_id": row["cluster_id"], "kind": model.KIND, "outcome": row["status"]}
    added = {"count": 1, "bytes_written": row[column] if column else 0, "duration": row["ended_at"] - row["started_at"]}
    fields = DailyRollup._meta
    values = {**key, **added}
    params = [fields.get_field(name.removesuffix("_id")).get_db_prep_save(value, connection) for name, value in values.items()]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(using), params)


def _upsert_sql(using):
    qn = connections[using].ops.quote_name
    meta = DailyRollup._meta
    table = qn(meta.db_table)
    key = [qn(meta.get_field(name).column) for name in ("day", "cluster", "kind", "outcome")]
    added = [qn(meta.get_field(name).column) for name in ("count", "bytes_written", "duration")]
    return (
        f"INSERT INTO {table} ({', '.join(key + added)}) VALUES ({', '.join(['%s'] * (len(key) + len(added)))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in added)
    )


def recount(model):
    """The rollup rows of one kind, computed from its task rows (a queryset of
    day, cluster_id, kind, outcome, count, bytes_written, duration)."""
    column = BYTES.get(model.KIND)
    written = Sum(column) if column else Value(0, output_field=IntegerField())
    took = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    return (
        model.objects.order_by()
        .filter(status__in=sorted(ROLLED[model.KIND]))
        .annotate(r_day=TruncDate("ended_at", tzinfo=timezone.get_default_timezone()), r_kind=Value(str(model.KIND)),
                  r_outcome=F("status"))
        .values("r_day", "cluster_id", "r_kind", "r_outcome")
        .annotate(r_count=Count("pk"), r_bytes=Coalesce(written, 0), r_duration=Sum(took))
        .values_list("r_day", "cluster_id", "r_kind", "r_outcome", "r_count", "r_bytes", "r_duration")
    )


def rebuild_rollups(using=None):
    """Recompute every rollup from the task rows: what bulk writers that
    bypass the engine call at their end.  One DELETE and one INSERT … SELECT
    (a UNION ALL of every kind's recount), in one transaction.  Returns the
    number of rollup rows."""
    using = using or router.db_for_write(DailyRollup)
    connection = connections[using]
    qn = connection.ops.quote_name
    meta = DailyRollup._meta
    columns = [qn(meta.get_field(name).column) for name in
               ("day", "cluster", "kind", "outcome", "count", "bytes_written", "duration")]
    parts, params = [], []
    for value in ROLLED:
        sql, part_params = recount(KINDS[value].model).query.get_compiler(using).as_sql()
        parts.append(f"SELECT * FROM ({sql}) AS {qn('part_' + value)}")
        params.extend(part_params)
    with transaction.atomic(using):
        DailyRollup.objects.using(using).all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) " + " UNION ALL ".join(parts), params)
        return DailyRollup.objects.using(using).count()
