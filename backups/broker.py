"""Is the Celery broker reachable?  Asked before an action that queues work.

An operator action writes its task and queues the worker after commit.  With
the broker down the message could not be sent, and the task would sit there
with nothing to run it: so an action that needs a worker asks first, with a
short timeout, and is refused with a clear message if the broker does not
answer.  (If the broker dies in the instant between this check and the
publish, ``safe_publish`` logs it and the sweeper ends the task later:
backups/simulation.py ``sweep_lost_tasks``.)
"""

import logging

from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    pass


def check_broker(timeout=None):
    """Raise BrokerUnavailable unless a connection to the broker opens now."""
    from backup_console.celery import app

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


def safe_publish(task, args, countdown=None):
    """apply_async that logs instead of raising: runs after commit, the change stands."""
    try:
        task.apply_async(args, countdown=countdown)
    except Exception:
        log.exception("could not queue %s%r: the sweeper will end or finish it", task.name, tuple(args))
