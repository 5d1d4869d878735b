"""The viewer, operator and admin groups (SPEC section 1; backup_console/roles.py)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from backup_console.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clusters", "0001_initial"),
        ("backups", "0004_audit"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
