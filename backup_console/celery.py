import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup_console.settings")

app = Celery("backup_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection before and after every
# task unless DB_REUSE_MAX is set, whatever CONN_MAX_AGE says: each message paid
# for a new PostgreSQL connection, more than its transitions cost.
# With it set, the fixup recycles the connection every that many tasks, and
# around each task the worker applies the rules Django applies around each
# request (below).
app.conf.update(CELERY_DB_REUSE_MAX=1000)
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **kwargs):
    """Close a connection older than CONN_MAX_AGE, one left inside a
    transaction, or one whose errors made it unusable; CONN_HEALTH_CHECKS then
    pings the one kept before the task's first query.  Not for a task run
    eagerly: it runs inside its caller's connection and transaction."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections as django_close_old_connections

    django_close_old_connections()
