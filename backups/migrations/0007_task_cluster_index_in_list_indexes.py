"""The task tables' cluster-only indexes go (see TaskBase.cluster).

Django's AlterField to db_index=False would also drop the partial unique
indexes on the cluster column ("one running data backup per cluster", "one
live log backup per cluster") and not create them again, so the database side
drops exactly the plain, non-unique, cluster-only index of each task table.
"""

import django.db.models.deletion
from django.db import migrations, models

TASK_MODELS = ["cleanuptask", "databackuptask", "logbackuptask", "secondarydatabackuptask", "secondarylogbackuptask"]


def cluster_only_indexes(schema_editor, model):
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == ["cluster_id"]
    ]


def drop(apps, schema_editor):
    for name in TASK_MODELS:
        model = apps.get_model("backups", name)
        for index in cluster_only_indexes(schema_editor, model):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(index)}")


def create(apps, schema_editor):
    for name in TASK_MODELS:
        model = apps.get_model("backups", name)
        if not cluster_only_indexes(schema_editor, model):
            table = model._meta.db_table
            schema_editor.execute(
                f"CREATE INDEX {schema_editor.quote_name(table + '_cluster_id')} ON {schema_editor.quote_name(table)} (cluster_id)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ('backups', '0006_span_indexes'),
        ('clusters', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=name,
                    name="cluster",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                        to="clusters.cluster", verbose_name="cluster",
                    ),
                )
                for name in TASK_MODELS
            ],
            database_operations=[migrations.RunPython(drop, create)],
                ),
            ]