"""GiST indexes on each task's span, for the interval-stabbing half of a
split time window (backups.timerange.AliveAt, Window.parts).

PostgreSQL only: SQLite has no GiST, and there the same query is two
comparisons.  The expression is written exactly as AliveAt.as_postgresql
and the effective-end indexes write it, so the planner matches the two.
"""

from django.db import migrations

TABLES = {
    "databk": "backups_databackuptask",
    "logbk": "backups_logbackuptask",
    "cleanup": "backups_cleanuptask",
    "secdata": "backups_secondarydatabackuptask",
    "seclog": "backups_secondarylogbackuptask",
}
SPAN = "tstzrange(started_at, COALESCE(ended_at, '9999-12-31 00:00:00+00'::timestamp with time zone), '[]')"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for prefix, table in TABLES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {prefix}_span ON {table} USING gist ({SPAN})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for prefix in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {prefix}_span")


class Migration(migrations.Migration):
    dependencies = [("backups", "0005_roles")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
