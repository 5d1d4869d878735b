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

Storage rollups (``StorageRollup``) are kept the same way, per destination
and day: ``count_stored`` adds a completed data backup's size to its
policy's destination (a completed secondary copy's to its own) in the
transaction of that move, ``count_freed`` subtracts the kept backups and
copies of the sets a cleanup deletes in the cleanup's transaction, and
``storage_used`` reads what a destination holds at the end of each day from
those rows (a row per destination and day, not every backup kept on it).
"""

from django.db import connections, router, transaction
from django.db.models import Case, Count, DateField, DurationField, ExpressionWrapper, F, IntegerField, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..choices import DataBackupStatus, TaskKind
from ..kinds import KINDS
from ..models import DailyRollup, DataBackupTask, SecondaryDataBackupTask, StorageRollup


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


# --- Storage --------------------------------------------------------------------------


def stores(kind, to):
    """Whether a move of ``kind`` to ``to`` lands bytes on a destination."""
    return to == DataBackupStatus.COMPLETED and kind in (TaskKind.DATA, TaskKind.SECONDARY_DATA)


def _landed(model):
    """(destination, day ended, size) of a kind's completed backups, as a
    queryset of rows; one that completed onto a set cleanup had already
    deleted (a copy finishing after its source's set was deleted) never
    held anything there."""
    kept = model.objects.filter(status=DataBackupStatus.COMPLETED).exclude(backup_set__expired_at__lt=F("ended_at"))
    if model is DataBackupTask:
        return (kept.annotate(landed_on=Coalesce("destination_id", "policy__destination_id")).filter(landed_on__isnull=False)
                .values_list("landed_on", "ended_at", "size_bytes"))
    return kept.values_list("destination_id", "ended_at", "source__size_bytes")


def _upsert_storage(using, rows):
    """Add {(destination, day): (added, freed)} to the storage rollups, one upsert per row."""
    connection = connections[using]
    qn = connection.ops.quote_name
    meta = StorageRollup._meta
    table = qn(meta.db_table)
    key = [qn(meta.get_field(name).column) for name in ("destination", "day")]
    added = [qn(meta.get_field(name).column) for name in ("added_bytes", "freed_bytes")]
    sql = (f"INSERT INTO {table} ({', '.join(key + added)}) VALUES (%s, %s, %s, %s) "
           f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
           + ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in added))
    day_field = meta.get_field("day")
    with connection.cursor() as cursor:
        for (destination, day), (plus, minus) in sorted(rows.items()):
            cursor.execute(sql, [destination, day_field.get_db_prep_save(day, connection), plus, minus])


def count_stored(model, pk, using):
    """Add backup or copy ``pk`` (just completed, in this transaction) to its destination's day."""
    row = _landed(model).using(using).filter(pk=pk).first()
    if row is not None and row[0] is not None:
        destination, ended, size = row
        _upsert_storage(using, {(destination, day_of(ended)): (size or 0, 0)})


def count_freed(set_ids, now, using=None):
    """Take the kept backups and copies of the sets cleanup deleted at ``now``
    (in its transaction) off their destinations' day."""
    using = using or router.db_for_write(StorageRollup)
    freed = {}
    for model in (DataBackupTask, SecondaryDataBackupTask):
        for destination, _ended, size in _landed(model).using(using).filter(backup_set_id__in=list(set_ids)):
            key = (destination, day_of(now))
            freed[key] = (0, freed.get(key, (0, 0))[1] + (size or 0))
    _upsert_storage(using, freed)


def recount_storage(using=None):
    """{(destination, day): (added, freed)} from the rows: what the storage
    rollups must hold (``rebuild_rollups`` writes it; tests compare with it)."""
    using = using or router.db_for_read(StorageRollup)
    tz = timezone.get_default_timezone()
    found = {}
    for model in (DataBackupTask, SecondaryDataBackupTask):
        base = _landed(model).using(using).order_by()
        destination, size = ("landed_on", "size_bytes") if model is DataBackupTask else ("destination_id", "source__size_bytes")
        landed = (base.annotate(r_day=TruncDate("ended_at", tzinfo=tz)).values(destination, "r_day")
                  .annotate(r_size=Sum(size)).values_list(destination, "r_day", "r_size"))
        freed = (base.filter(backup_set__expired_at__isnull=False)
                 .annotate(r_day=TruncDate("backup_set__expired_at", tzinfo=tz)).values(destination, "r_day")
                 .annotate(r_size=Sum(size)).values_list(destination, "r_day", "r_size"))
        for column, rows in ((0, landed), (1, freed)):
            for dest, day, total in rows:
                sums = list(found.get((dest, day), (0, 0)))
                sums[column] += total or 0
                found[(dest, day)] = tuple(sums)
    return found


def storage_used(destination_ids, days):
    """{destination id: [bytes held at the end of each of ``days``]} (oldest
    first): what landed up to each day minus what was freed.  One query: the
    sum before the first day, and the rows of the days."""
    first = days[0]
    before = Case(When(day__lt=first, then=Value(None)), default=F("day"), output_field=DateField())
    rows = (StorageRollup.objects.filter(destination_id__in=destination_ids, day__lte=days[-1]).order_by()
            .values("destination_id", r_day=before).annotate(net=Sum(F("added_bytes") - F("freed_bytes")))
            .values_list("destination_id", "r_day", "net"))
    held = dict.fromkeys(destination_ids, 0)
    on_day = {}
    for destination, day, net in rows:
        if day is None:
            held[destination] += net or 0
        else:
            on_day[(destination, day)] = net or 0
    used = {}
    for destination in destination_ids:
        series, total = [], held[destination]
        for day in days:
            total += on_day.get((destination, day), 0)
            series.append(total)
        used[destination] = series
    return used


def rebuild_rollups(using=None):
    """Recompute every rollup, daily and storage, from the rows: what bulk
    writers that bypass the engine call at their end (one transaction).
    Returns the number of daily rollup rows."""
    using = using or router.db_for_write(DailyRollup)
    with transaction.atomic(using):
        count = rebuild_daily(using)
        rebuild_storage(using)
    return count


def rebuild_storage(using=None):
    """Recompute the storage rollups from the rows (``recount_storage``)."""
    using = using or router.db_for_write(StorageRollup)
    with transaction.atomic(using):
        StorageRollup.objects.using(using).all().delete()
        StorageRollup.objects.using(using).bulk_create(
            [StorageRollup(destination_id=destination, day=day, added_bytes=added, freed_bytes=freed)
             for (destination, day), (added, freed) in sorted(recount_storage(using).items())], batch_size=5000)


def rebuild_daily(using=None):
    """Recompute the daily rollups from the task rows.  One DELETE and one
    INSERT … SELECT (a UNION ALL of every kind's recount), in one
    transaction.  Returns the number of rollup rows."""
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
