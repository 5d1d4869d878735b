"""Restore drills: what a drill picks, how its restore's end is recorded, the
scratch tenant's removal, and one run per due time however often it arrives."""

import random
import threading
from datetime import time, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backups.choices import DataBackupStatus, DrillStatus
from backups.engine import drills, intervals, restores, schedules
from backups.engine.outcomes import describe, failure_of
from backups.engine.transitions import transition
from backups.models import AuditEntry, DataBackupTask, RestoreDrillPolicy, RestoreDrillRun, RestoreTask
from clusters.models import Tenant
from tests import factories as f
from tests.services import require_postgres

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def at(hours):
    return NOW + timedelta(hours=hours)


def restorable(name="prod"):
    """A cluster with a tenant that can be restored from 19 hours ago to an hour ago."""
    source = f.make_cluster(name=name)
    tenant = f.make_tenant(source, name=f"{name}_sales")
    f.make_log_task(source, started_at=at(-30), latest_point=at(-1), status="stopped", ended_at=at(-1))
    full = f.make_data_task(source, started_at=at(-20), status=DataBackupStatus.IN_PROGRESS, size_bytes=2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-19), progress=100)
    return source, tenant


def make_drill_policy(clusters=(), target=None, **kw):
    kw.setdefault("name", f"drill-{RestoreDrillPolicy.objects.count() + 1}")
    kw.setdefault("run_at", time(3, 0))
    kw.setdefault("schedule_days", [1, 2, 3, 4, 5, 6, 7])
    policy = RestoreDrillPolicy.objects.create(target_cluster=target or f.make_cluster(name="scratch"), **kw)
    policy.clusters.set(clusters)
    return policy


@pytest.fixture
def estate():
    source, tenant = restorable()
    policy = make_drill_policy([source])
    return {"source": source, "tenant": tenant, "policy": policy, "target": policy.target_cluster}


def finish(run, outcome_at=None):
    """Walk the drill's restore to its end, as the worker does, running after-commit hooks."""
    task = RestoreTask.objects.get(pk=run.restore_task_id)
    end = task.started_at + timedelta(seconds=restores.duration(task) / restores.speed() + 1)
    restores.advance_restore(task.pk, now=outcome_at or end)
    run.refresh_from_db()
    return run


def test_a_seeded_drill_picks_a_recoverable_moment_of_a_covered_tenant(estate, django_capture_on_commit_callbacks):
    other, _tenant = restorable("uncovered")  # restorable, but not covered
    picks = set()
    for seed in range(8):
        picked = drills.pick(estate["policy"], random.Random(seed))
        tenant, moment = picked
        assert tenant == estate["tenant"]
        assert intervals.can_restore(tenant.pk, moment).recoverable, moment
        picks.add(moment)
    assert len(picks) > 1  # a random moment, not always the same one
    # The same seed picks the same moment.
    assert drills.pick(estate["policy"], random.Random(3)) == drills.pick(estate["policy"], random.Random(3))

    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(5))
    assert run.status == DrillStatus.RUNNING and run.source_tenant == estate["tenant"]
    assert run.restore_point == drills.pick(estate["policy"], random.Random(5))[1]
    task = RestoreTask.objects.get(pk=run.restore_task_id)
    assert (task.source_tenant, task.restore_point, task.target_cluster) == (estate["tenant"], run.restore_point, estate["target"])
    assert task.new_tenant_name == run.scratch_tenant_name == f"drill_{run.pk}"
    assert describe(task.events.get().cause_code, task.events.get().cause_params) == (
        f"Restore drill #{run.pk} of policy {estate['policy'].name}.")
    # Beat's drill is nobody's action: no audit row for its restore.
    assert not AuditEntry.objects.exists()


def test_all_clusters_covers_every_cluster(estate):
    policy = make_drill_policy(all_clusters=True, target=estate["target"])
    assert drills.pick(policy, random.Random(1))[0] == estate["tenant"]


def test_the_scratch_name_never_collides(estate):
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(1))
    f.make_tenant(estate["target"], name=f"drill_{run.pk + 1}")
    second = drills.run_drill(estate["policy"].pk, at(1), rng=random.Random(1))
    assert second.pk == run.pk + 1 and second.scratch_tenant_name == f"drill_{second.pk}_2"
    assert second.status == DrillStatus.RUNNING


def test_no_recoverable_tenant_fails_the_run_with_the_reason():
    bare = f.make_cluster(name="bare")
    f.make_tenant(bare, name="nothing_backed_up")
    policy = make_drill_policy([bare])
    run = drills.run_drill(policy.pk, at(0), rng=random.Random(1))
    assert run.status == DrillStatus.FAILED and run.ended_at is not None
    assert failure_of(run).startswith("No recoverable tenant")
    assert run.restore_task_id is None and not RestoreTask.objects.exists()


def test_a_refused_restore_fails_the_run_with_the_refusal(estate):
    type(estate["target"]).objects.filter(pk=estate["target"].pk).update(status="maintenance")
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(1))
    assert run.status == DrillStatus.FAILED and run.source_tenant == estate["tenant"]
    assert "is maintenance: a restore needs a running cluster" in failure_of(run)
    assert not RestoreTask.objects.exists()


def test_restore_success_makes_the_run_succeed_with_its_recovery_time(estate, django_capture_on_commit_callbacks):
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(2))
    RestoreTask.objects.filter(pk=run.restore_task_id).update(sim_outcome="completed")
    with django_capture_on_commit_callbacks(execute=True):
        finish(run)
    run.refresh_from_db()
    task = RestoreTask.objects.get(pk=run.restore_task_id)
    assert task.status == DataBackupStatus.COMPLETED
    assert run.status == DrillStatus.SUCCEEDED and run.ended_at == task.ended_at
    assert run.recovery_seconds == pytest.approx((task.ended_at - task.started_at).total_seconds())
    assert run.recovery_seconds > 0
    assert run.scratch_tenant == task.new_tenant and run.scratch_tenant.cluster == estate["target"]
    assert describe(run.check_code, run.check_params).startswith(f"Tenant drill_{run.pk} exists on scratch")


def test_restore_failure_makes_the_run_fail_with_the_restores_reason(estate, django_capture_on_commit_callbacks):
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(2))
    RestoreTask.objects.filter(pk=run.restore_task_id).update(sim_outcome="log_missing")
    with django_capture_on_commit_callbacks(execute=True):
        finish(run)
    run.refresh_from_db()
    task = RestoreTask.objects.get(pk=run.restore_task_id)
    assert task.status == DataBackupStatus.FAILED
    assert run.status == DrillStatus.FAILED and failure_of(run) == failure_of(task)
    assert "-4018" in failure_of(run) and run.recovery_seconds is None and run.scratch_tenant is None


def test_the_sweep_finishes_a_run_whose_hook_was_lost(estate):
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(2))
    RestoreTask.objects.filter(pk=run.restore_task_id).update(sim_outcome="completed")
    run = finish(run)  # no on-commit callbacks run here: the hook's call is lost
    assert run.status == DrillStatus.RUNNING
    assert drills.sweep_drills()["finished"] == 1
    run.refresh_from_db()
    assert run.status == DrillStatus.SUCCEEDED


def test_the_sweep_fails_a_drill_that_never_got_its_restore(estate):
    run = RestoreDrillRun.objects.create(policy=estate["policy"], policy_name="x", due_at=at(0), started_at=at(0))
    assert drills.sweep_drills(now=at(0) + timedelta(minutes=9))["finished"] == 0
    assert drills.sweep_drills(now=at(0) + timedelta(minutes=11))["finished"] == 1
    run.refresh_from_db()
    assert run.status == DrillStatus.FAILED and failure_of(run).startswith("Worker lost: no progress since")


def test_the_scratch_tenant_is_removed_after_its_keep_time(estate, django_capture_on_commit_callbacks):
    RestoreDrillPolicy.objects.filter(pk=estate["policy"].pk).update(keep_hours=2)
    run = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(2))
    RestoreTask.objects.filter(pk=run.restore_task_id).update(sim_outcome="completed")
    with django_capture_on_commit_callbacks(execute=True):
        finish(run)
    run.refresh_from_db()
    scratch = run.scratch_tenant_id
    assert drills.sweep_drills(now=run.ended_at + timedelta(hours=1, minutes=59))["removed"] == 0
    assert Tenant.objects.filter(pk=scratch).exists()
    assert drills.sweep_drills(now=run.ended_at + timedelta(hours=2))["removed"] == 1
    run.refresh_from_db()
    assert not Tenant.objects.filter(pk=scratch).exists()
    assert run.removed_at == run.ended_at + timedelta(hours=2) and run.scratch_tenant is None
    assert run.scratch_tenant_name == f"drill_{run.pk}" and run.status == DrillStatus.SUCCEEDED
    assert drills.sweep_drills(now=run.ended_at + timedelta(hours=3))["removed"] == 0


def test_a_scratch_tenant_is_never_picked_as_a_source(estate, django_capture_on_commit_callbacks):
    policy = make_drill_policy([estate["source"], estate["target"]], target=estate["target"])
    run = drills.run_drill(policy.pk, at(0), rng=random.Random(2))
    RestoreTask.objects.filter(pk=run.restore_task_id).update(sim_outcome="completed")
    with django_capture_on_commit_callbacks(execute=True):
        finish(run)
    run.refresh_from_db()
    # The target's cluster-level backups would cover its scratch tenant too.
    restorable_target = f.make_data_task(estate["target"], started_at=at(-3), status=DataBackupStatus.IN_PROGRESS)
    f.make_log_task(estate["target"], started_at=at(-4), latest_point=at(-1))
    transition(DataBackupTask, restorable_target.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-2), progress=100)
    assert run.scratch_tenant_id in intervals.cluster_rpo(estate["target"].pk)
    assert run.scratch_tenant_id not in drills.candidates(policy)


def test_the_same_due_time_runs_once(estate):
    first = drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(1))
    assert drills.run_drill(estate["policy"].pk, at(0), rng=random.Random(2)) is None
    assert RestoreDrillRun.objects.count() == 1 and RestoreTask.objects.count() == 1
    assert drills.run_drill(estate["policy"].pk, at(24), rng=random.Random(2)).pk != first.pk


def test_the_same_due_time_from_many_threads_runs_once(transactional_db):
    require_postgres()
    source, _tenant = restorable()
    policy = make_drill_policy([source])
    barrier = threading.Barrier(8)
    results, lock = [], threading.Lock()

    def beat_message():
        try:
            barrier.wait()
            run = drills.run_drill(policy.pk, at(0), rng=random.Random(1))
            outcome = run.pk if run else None
        except Exception as error:
            outcome = repr(error)
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=beat_message) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = [r for r in results if r is not None]
    assert len(made) == 1 and isinstance(made[0], int), results
    assert RestoreDrillRun.objects.count() == 1 and RestoreTask.objects.count() == 1


def test_beat_entry_follows_the_policy_and_due_time_is_the_last_slot(estate):
    policy = estate["policy"]
    policy.schedule_days = [1, 3]
    policy.run_at = time(4, 30)
    policy.save()
    entry = schedules.sync_drill_task(policy)
    assert entry.task == "backups.tasks.run_scheduled_drill" and entry.args == f"[{policy.pk}]" and entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == ("30", "4", "1,3")
    policy.enabled = False
    policy.save()
    assert schedules.sync_drill_task(policy).enabled is False
    assert PeriodicTask.objects.filter(name=f"restore-drill-policy-{policy.pk}").count() == 1

    # A Wednesday 10:00: due Wednesday 04:30; a Tuesday 10:00: due Monday 04:30.
    wednesday = timezone.make_aware(timezone.datetime(2026, 11, 25, 10, 0))
    assert drills.due_time(policy, wednesday) == wednesday.replace(hour=4, minute=30)
    tuesday = wednesday - timedelta(days=1)
    assert drills.due_time(policy, tuesday) == tuesday.replace(hour=4, minute=30) - timedelta(days=1)
    # Before the time of day on a drill day: the previous drill day.
    assert drills.due_time(policy, wednesday.replace(hour=4)) == (wednesday - timedelta(days=2)).replace(hour=4, minute=30)


def test_a_scheduled_drill_runs_once_per_due_time_and_not_when_disabled(estate):
    policy = estate["policy"]
    assert drills.run_scheduled_drill(policy.pk, now=at(0)).startswith("drill #")
    assert drills.run_scheduled_drill(policy.pk, now=at(0) + timedelta(seconds=30)) == "already ran for this due time"
    assert RestoreDrillRun.objects.get().due_at == drills.due_time(policy, at(0))
    RestoreDrillPolicy.objects.filter(pk=policy.pk).update(enabled=False)
    assert drills.run_scheduled_drill(policy.pk, now=at(48)) == "policy gone or disabled"


def test_reconcile_gives_a_policy_made_elsewhere_its_beat_entry(estate):
    assert estate["policy"].pk in schedules.reconcile_drill_tasks()
    assert schedules.reconcile_drill_tasks() == []
    assert RestoreDrillPolicy.objects.get(pk=estate["policy"].pk).periodic_task.enabled
