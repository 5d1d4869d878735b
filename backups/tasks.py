"""Celery entry points only: thin wrappers around the engine (backups/engine/).

Every task takes IDs, never objects, and is idempotent: a message delivered
twice (acks_late + a dead worker) finds the status already moved and does
nothing.  Long data backups (and copies and cleanups) do not hold a worker: each run
is one step that re-queues itself with a countdown.
"""

import logging

from celery import shared_task

from .engine import alerting, drills, notify, restores, schedules, services, simulation

log = logging.getLogger(__name__)


def _again(task, task_id, delay):
    # Eager mode (CELERY_TASK_ALWAYS_EAGER) ignores countdowns: re-queueing
    # would spin through the whole backup inside the caller.  There, one step
    # runs and the sweeper ends what no worker carries on.
    if delay is not None and not task.app.conf.task_always_eager:
        task.apply_async((task_id,), countdown=delay)


@shared_task(ignore_result=True)
def run_data_backup(task_id):
    _again(run_data_backup, task_id, simulation.advance_data_backup(task_id))


@shared_task(ignore_result=True)
def run_secondary_data_backup(task_id):
    _again(run_secondary_data_backup, task_id, simulation.advance_secondary_data_backup(task_id))


@shared_task(ignore_result=True)
def finish_log_move(kind, task_id):
    simulation.finish_log_move(kind, task_id)


@shared_task(ignore_result=True)
def run_cleanup(task_id):
    _again(run_cleanup, task_id, simulation.run_cleanup(task_id))


@shared_task(ignore_result=True)
def run_restore(task_id):
    _again(run_restore, task_id, restores.advance_restore(task_id))


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver_notification(self, delivery_id):
    """One attempt of an alert notification; on failure a retry with a doubling countdown."""
    delay = notify.deliver(delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(ignore_result=True)
def run_scheduled_backup(policy_id):
    """Beat's entry for one policy (SIM-1): today's schedule says full or incremental."""


    result = services.run_scheduled_backup(policy_id)
    log.info("scheduled backup of policy %s: %s", policy_id, result)


@shared_task(ignore_result=True)
def run_scheduled_drill(policy_id):
    """Beat's entry for one restore drill policy: one drill per due time."""
    result = drills.run_scheduled_drill(policy_id)
    log.info("restore drill of policy %s: %s", policy_id, result)


# --- Periodic system tasks (beat entries in settings.CELERY_BEAT_SCHEDULE) -----


@shared_task(ignore_result=True)
def tick_log_backups():
    simulation.tick_log_backups()


@shared_task(ignore_result=True)
def schedule_cleanups():
    simulation.schedule_cleanups()


@shared_task(ignore_result=True)
def sweep_lost_tasks():
    done = simulation.sweep_lost_tasks()
    if any(done.values()):
        log.warning("sweeper: %s", done)


@shared_task(ignore_result=True)
def reconcile_policy_schedules():


    synced = schedules.reconcile_periodic_tasks()
    if synced:
        log.info("beat entries synced for policies %s", synced)


@shared_task(ignore_result=True)
def sweep_drills():
    """Finish drills whose restore ended, remove scratch tenants past their keep time,
    and give drill policies changed outside the console their beat entry."""
    done = drills.sweep_drills()
    synced = schedules.reconcile_drill_tasks()
    if any(done.values()) or synced:
        log.info("restore drills: %s; beat entries synced for drill policies %s", done, synced)


@shared_task(ignore_result=True)
def evaluate_alerts():
    """Open, update and resolve alerts from the current state (engine/alerting.py)."""
    counts = alerting.evaluate_all()
    if any(counts.values()):
        log.info("alerts: %s", counts)
