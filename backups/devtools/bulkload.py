"""Writing the bulk top-up's rows (fill.py) fast.

A batch is {model: [row dicts keyed by COLUMNS[model]]}, written parents first
(WRITE_ORDER) in one transaction: by COPY on PostgreSQL, ``bulk_create`` on
SQLite.  Primary keys are taken ahead (``Ids``) so that a row can point at a
row of the same batch.  A load that at least doubles the task tables sets their
plain indexes aside and builds them again after (``indexes_set_aside``).
"""

import io
import json
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter

from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from ..models import BackupSet, CleanupTask, DataBackupTask, LogBackupTask, RestoreTask, SecondaryDataBackupTask, SecondaryLogBackupTask

# Columns written per table, in this order; "id" is allocated up front when
# other rows point at it.
COLUMNS = {
    BackupSet: ["id", "cluster_id", "tenant_id", "number", "backup_method", "created_at", "expired_at"],
    DataBackupTask: ["id", "cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at", "tenant_id",
                     "policy_id", "backup_set_id", "mode", "backup_method", "data_version", "storage_directory",
                     "status", "progress", "size_bytes", "trigger", "requested_by_id", "sim_outcome", "sim_fail_at"],
    SecondaryDataBackupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at", "source_id",
                              "tenant_id", "backup_set_id", "mode", "destination_id", "storage_directory", "status"],
    LogBackupTask: ["id", "cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at", "tenant_id",
                    "policy_id", "backup_method", "host_id", "storage_directory", "latest_point", "status"],
    SecondaryLogBackupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at", "source_id",
                             "destination_id", "storage_directory", "latest_point", "status"],
    CleanupTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at", "policy_id", "status",
                  "retention_days", "deleted_sets"],
    RestoreTask: ["cluster_id", "started_at", "ended_at", "failure_reason", "failure_code", "failure_params", "updated_at",
                  "source_tenant_id", "restore_point", "target_cluster_id", "new_tenant_name", "status", "phase",
                  "total_bytes", "finished_bytes", "data_task_ids", "round_ids", "sim_outcome"],
}
# Parents first, so every batch satisfies its foreign keys as it goes in.
WRITE_ORDER = [BackupSet, DataBackupTask, SecondaryDataBackupTask, LogBackupTask, SecondaryLogBackupTask, CleanupTask, RestoreTask]


class Ids:
    """Primary keys handed out as rows are made, so that a row can point at a
    row of the same batch by its id: taken from the table's sequence a block
    at a time on PostgreSQL (what a block leaves unused is a gap, as a
    rolled-back insert leaves), counted on from the largest id on SQLite."""

    def __init__(self, model, block):
        self.model, self.block, self.free = model, block, []
        self.next_sqlite = None

    def next(self):
        if not self.free:
            self.free = self._take(self.block)[::-1]
        return self.free.pop()

    def _take(self, n):
        if connection.vendor == "postgresql":
            table = self.model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
                )
                return [row[0] for row in cursor.fetchall()]
        if self.next_sqlite is None:
            self.next_sqlite = (self.model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        first, self.next_sqlite = self.next_sqlite, self.next_sqlite + n
        return list(range(first, first + n))


def _json(value):
    """A JSON column's value in COPY's text format (a backslash is COPY's escape)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("\\", "\\\\") if value else "{}"


class Writer:
    """Writes a batch {model: [row dicts keyed by COLUMNS[model]]} in one transaction."""

    def __init__(self, batch_size):
        self.batch_size, self.rows = batch_size, 0
        self.postgres = connection.vendor == "postgresql"
        self.extra = {model: self._defaults(model) for model in WRITE_ORDER}
        self.values = {model: itemgetter(*COLUMNS[model]) for model in WRITE_ORDER}

    @staticmethod
    def _defaults(model):
        """Columns added to a model after this module was written get their default."""
        extra = []
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in COLUMNS[model]:
                continue
            value = field.get_default()
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = "t" if value else "f"
            extra.append((field.column, r"\N" if value is None else str(value)))
        return extra

    def write(self, batch):
        with transaction.atomic():
            for model in WRITE_ORDER:
                rows = batch.get(model)
                if rows:
                    (self._copy if self.postgres else self._bulk_create)(model, rows)
                    self.rows += len(rows)

    def _copy(self, model, rows):
        extra, values = self.extra[model], self.values[model]
        tail = "".join("\t" + value for _, value in extra) + "\n"
        buffer = io.StringIO()
        write = buffer.write
        for row in rows:
            write("\t".join([r"\N" if v is None else (v.isoformat() if isinstance(v, datetime) else
                                                        _json(v) if isinstance(v, dict) else str(v))
                             for v in values(row)]))
            write(tail)
        buffer.seek(0)
        columns = [model._meta.get_field(name).column for name in COLUMNS[model]] + [column for column, _ in extra]
        sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, buffer)  # psycopg2's COPY FROM STDIN

    def _bulk_create(self, model, rows):
        names = COLUMNS[model]
        model.objects.bulk_create([model(**{name: row[name] for name in names}) for row in rows], batch_size=2000)


# A top-up that at least doubles the task tables (and adds this many rows or
# more) loads without their plain indexes and rebuilds them after: PostgreSQL
# builds an index from sorted rows many times faster than it inserts each row
# into eight indexes, a GiST one among them.  A smaller top-up of a big table
# keeps them: rebuilding costs in proportion to the whole table.
BULK_LOAD_ROWS = 100_000


@contextmanager
def indexes_set_aside(models, rows):
    """Drop the non-unique indexes of ``models``' tables for a load of ``rows``
    rows, and build them again, all in one transaction: an interrupted load
    rolls back with its indexes intact.  Unique indexes stay (they are rules).
    PostgreSQL only; the tables are locked for the load.

    A superuser loads with the foreign-key triggers off (``pg_restore
    --disable-triggers`` does the same) and checks every foreign key of the
    tables after, one anti-join each: the triggers' row-by-row checks (a
    locked probe of the parent per row and key) were most of a 10M-row
    fill. Anyone else loads with the checks deferred to the end."""
    if connection.vendor != "postgresql" or rows < max(BULK_LOAD_ROWS, _estimated_rows(models)):
        yield
        return
    tables = [model._meta.db_table for model in models]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
            "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT x.indisunique",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        unchecked = cursor.fetchone()[0]
        if unchecked:
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        if unchecked:
            cursor.execute("SET LOCAL session_replication_role = origin")
            _check_foreign_keys(cursor, models)
        # The rows' deferred foreign-key checks run now: an index cannot be
        # built on a table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)


def _check_foreign_keys(cursor, models):
    """Raise IntegrityError (and so roll the load back) if a row of ``models``
    points at a row that does not exist: one anti-join per foreign key."""
    qn = connection.ops.quote_name
    keys = [(model, field) for model in models for field in model._meta.concrete_fields
            if field.is_relation and getattr(field, "db_constraint", False)]
    # Statistics of the rows just loaded first: planned from the tables' old
    # ones (a few rows), the check probed a parent by scanning it once per row.
    for table in sorted({m._meta.db_table for m in models} | {f.related_model._meta.db_table for _, f in keys}):
        cursor.execute(f"ANALYZE {qn(table)}")
    for model, field in keys:
        parent = field.related_model._meta
        cursor.execute(
            f"SELECT c.{qn(field.column)} FROM {qn(model._meta.db_table)} c WHERE c.{qn(field.column)} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {qn(parent.db_table)} p WHERE p.{qn(field.target_field.column)} = c.{qn(field.column)}) "
            "LIMIT 1"
        )
        orphan = cursor.fetchone()
        if orphan is not None:
            raise IntegrityError(f"{model._meta.db_table}.{field.column} = {orphan[0]} points at no {parent.db_table} row")


def _estimated_rows(models):
    """The planner's row estimate of the tables (no count over millions of rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(GREATEST(reltuples, 0)), 0) FROM pg_class WHERE relname = ANY(%s)",
                       [[model._meta.db_table for model in models]])
        return int(cursor.fetchone()[0])
