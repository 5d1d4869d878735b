"""The one way the engine hands work to a worker: publish a Celery task by
name once the current transaction commits, and ask first whether the broker
answers.

An operator action writes its task and queues the worker after commit,
passing IDs, never objects (a worker must find the row the message names).
With the broker down the message could not be sent, and the task would sit
there with nothing to run it: so an action that needs a worker calls
``check_broker`` first, with a short timeout, and is refused with a clear
message if the broker does not answer.  If the broker dies in the instant
between the check and the publish, ``publish`` logs it and the sweeper
(``simulation.sweep_lost_tasks``) ends or re-queues what was never sent.

Tasks are named, not imported: the engine never imports ``backups.tasks``
(which imports the engine), so the dependency runs one way.  A test checks
that every name below is a registered Celery task.
"""

import logging
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

RUN_DATA_BACKUP = "backups.tasks.run_data_backup"
RUN_SECONDARY_DATA_BACKUP = "backups.tasks.run_secondary_data_backup"
FINISH_LOG_MOVE = "backups.tasks.finish_log_move"
RUN_CLEANUP = "backups.tasks.run_cleanup"
RUN_SCHEDULED_BACKUP = "backups.tasks.run_scheduled_backup"
RUN_RESTORE = "backups.tasks.run_restore"
RUN_SCHEDULED_DRILL = "backups.tasks.run_scheduled_drill"
DELIVER_NOTIFICATION = "backups.tasks.deliver_notification"
# Beat's, every minute (settings.CELERY_BEAT_SCHEDULE): engine/alerting.py's periodic pass.
EVALUATE_ALERTS = "backups.tasks.evaluate_alerts"
TASK_NAMES = (RUN_DATA_BACKUP, RUN_SECONDARY_DATA_BACKUP, FINISH_LOG_MOVE, RUN_CLEANUP, RUN_SCHEDULED_BACKUP, RUN_RESTORE,
              RUN_SCHEDULED_DRILL, DELIVER_NOTIFICATION, EVALUATE_ALERTS)


class BrokerUnavailable(Exception):
    pass


def _app():
    from backup_console.celery import app

    return app


def check_broker(timeout=None):
    """Raise BrokerUnavailable unless a connection to the broker opens now."""
    app = _app()
    timeout = timeout if timeout is not None else app.conf.broker_connection_timeout
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            # Redis: a fresh connection is lazy; a PING proves the server answers.
            client = getattr(connection.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
    except Exception as error:  # kombu wraps transport errors in many types
        log.warning("broker unreachable: %s", error)
        raise BrokerUnavailable(
            _("The task queue (broker) is unreachable, so nothing was changed: try again in a minute.")
        ) from error


def publish(name, args, countdown=None):
    """Send task ``name`` now; log instead of raising (the change it serves stands)."""
    try:
        _app().send_task(name, args=tuple(args), countdown=countdown)
    except Exception:
        log.exception("could not queue %s%r: the sweeper will end or finish it", name, tuple(args))
        return False
    return True


def enqueue(name, *args, countdown=None):
    """Publish task ``name`` with ``args`` after the current transaction commits
    (at once outside one): a worker never looks for a row that is not there yet."""
    transaction.on_commit(partial(publish, name, args, countdown=countdown))
