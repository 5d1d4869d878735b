"""A restore records the destination it reads (null: the primary) and, from a
secondary destination, the copies it reads there, apart from the primary's
log archive rounds (backups/models/restores.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('backups', '0018_rollups'),
    ]

    operations = [
        migrations.AddField(
            model_name='restoretask',
            name='source_destination',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backups.storagedestination', verbose_name='read from destination'),
        ),
        migrations.AddField(
            model_name='restoretask',
            name='secondary_data_task_ids',
            field=models.JSONField(default=list, verbose_name='secondary data copies used'),
        ),
        migrations.AddField(
            model_name='restoretask',
            name='secondary_round_ids',
            field=models.JSONField(default=list, verbose_name='secondary log copies used'),
        ),
    ]
