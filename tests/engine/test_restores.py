"""Restores: what may start, the phases the simulated machinery walks, and how it fails."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backups.choices import DataBackupStatus, LogBackupStatus, RestorePhase
from backups.engine import restores, simulation
from backups.engine.outcomes import failure_of
from backups.engine.restores import advance_restore, start_restore
from backups.engine.services import ActionRefused
from backups.engine.transitions import transition
from backups.models import AuditEntry, BackupSet, DataBackupTask, LogBackupTask, RecoverableInterval, RestoreTask, SecondaryDataBackupTask, TaskEvent
from clusters.models import Tenant
from tests import factories as f
from tests.engine.test_race import press_at_once
from tests.services import require_postgres

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def at(hours):
    return NOW + timedelta(hours=hours)


@pytest.fixture
def estate(admin_user):
    source = f.make_cluster(name="prod")
    tenant = f.make_tenant(source, name="sales")
    target = f.make_cluster(name="standby")
    f.make_log_task(source, started_at=at(-30), latest_point=at(-1))
    full = f.make_data_task(source, started_at=at(-20), status=DataBackupStatus.IN_PROGRESS, size_bytes=10 * 2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-19), progress=100)
    return {"source": source, "tenant": tenant, "target": target, "full": full, "user": admin_user}


FIVE_HOURS_AGO = at(-5)


def start(estate, moment=FIVE_HOURS_AGO, name="sales_copy", **kw):
    return start_restore(estate["tenant"], moment, estate["target"], name, estate["user"], **kw)


def test_a_restore_walks_its_phases_to_a_new_tenant(estate):
    task = start(estate, outcome="completed")
    assert task.status == DataBackupStatus.IN_PROGRESS and task.phase == RestorePhase.CREATE_TENANT
    assert task.data_task_ids == [estate["full"].pk] and len(task.round_ids) == 1
    assert task.total_bytes == 10 * 2**30
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RESTORE_START, object_id=task.pk).exists()

    total = restores.duration(task) / restores.speed()  # real seconds
    seen = []
    for share in (0.02, 0.3, 0.6, 0.9):
        advance_restore(task.pk, now=task.started_at + timedelta(seconds=total * share))
        task.refresh_from_db()
        seen.append((task.phase, task.finished_bytes))
    assert [phase for phase, _bytes in seen] == [
        RestorePhase.CREATE_TENANT, RestorePhase.RESTORE_WAIT_LS, RestorePhase.RESTORE_WAIT_LS, RestorePhase.POST_CHECK]
    assert [b for _p, b in seen] == sorted(b for _p, b in seen) and 0 < seen[1][1] < seen[2][1] <= task.total_bytes

    assert advance_restore(task.pk, now=task.started_at + timedelta(seconds=total + 1)) is None
    task.refresh_from_db()
    assert task.status == DataBackupStatus.COMPLETED and task.phase == RestorePhase.RESTORE_SUCCESS
    assert task.finished_bytes == task.total_bytes
    assert Tenant.objects.get(cluster=estate["target"], name="sales_copy") == task.new_tenant
    assert TaskEvent.objects.filter(object_id=task.pk, new_status="completed").exists()


def test_the_new_tenant_is_covered_by_its_clusters_backups_from_the_moment_it_exists(estate):
    """A cluster-level backup covers each of its tenants: the restored tenant
    has the cluster's intervals at once (its RPO judged like its siblings'),
    not from whenever the target's intervals are next rewritten."""
    target, sibling = estate["target"], f.make_tenant(estate["target"], name="orders")
    f.make_log_task(target, started_at=at(-10), latest_point=at(-1))
    full = f.make_data_task(target, started_at=at(-9), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-8), progress=100)
    task = start(estate, outcome="completed")
    advance_restore(task.pk, now=task.started_at + timedelta(seconds=restores.duration(task) / restores.speed() + 1))
    task.refresh_from_db()
    spans = lambda tenant: list(RecoverableInterval.objects.filter(tenant=tenant).values_list("start", "end", "round_id"))  # noqa: E731
    assert spans(sibling) and spans(task.new_tenant) == spans(sibling)


def test_latest_restores_to_the_newest_recoverable_moment(estate):
    task = start(estate, moment=None, outcome="completed")
    assert task.restore_point == at(-1)


@pytest.mark.parametrize("change, field, words", [
    (lambda e: {"moment": at(-25)}, "restore_point", "not in any recoverable interval"),
    (lambda e: {"moment": at(+2)}, "restore_point", "not in any recoverable interval"),
    (lambda e: f.make_tenant(e["target"], name="taken") and {"name": "taken"}, "new_tenant_name", "already exists"),
    (lambda e: e["target"].__class__.objects.filter(pk=e["target"].pk).update(status="unavailable") and {},
     "target_cluster", "needs a running cluster"),
])
def test_refusals_name_their_field_and_write_nothing(estate, change, field, words):
    kwargs = change(estate)
    before = (RestoreTask.objects.count(), AuditEntry.objects.count(), TaskEvent.objects.count())
    estate["target"].refresh_from_db()
    with pytest.raises(ActionRefused) as refused:
        start(estate, **kwargs)
    assert refused.value.field == field and words in refused.value.message
    assert (RestoreTask.objects.count(), AuditEntry.objects.count(), TaskEvent.objects.count()) == before


def test_a_point_in_a_gap_says_the_nearest_moments(estate):
    with pytest.raises(ActionRefused) as refused:
        start(estate, moment=at(-25))
    assert timezone.localtime(at(-19)).strftime("%Y-%m-%d %H:%M:%S") in refused.value.message


def test_a_second_restore_into_the_same_new_tenant_is_refused(estate):
    start(estate, outcome="completed")
    with pytest.raises(ActionRefused) as refused:
        start(estate)
    assert refused.value.field == "new_tenant_name"
    assert RestoreTask.objects.count() == 1


def test_a_set_deleted_meanwhile_fails_the_restore_with_that_reason(estate):
    task = start(estate, outcome="completed")
    BackupSet.objects.filter(pk=estate["full"].backup_set_id).update(expired_at=timezone.now())
    advance_restore(task.pk, now=task.started_at + timedelta(seconds=5))
    task.refresh_from_db()
    assert task.status == DataBackupStatus.FAILED and task.phase == RestorePhase.RESTORE_FAIL
    assert f"data backup #{estate['full'].pk} was deleted" in failure_of(task)


def test_not_enough_log_fails_as_the_real_one_does(estate):
    task = start(estate, outcome="log_missing")
    total = restores.duration(task) / restores.speed()
    advance_restore(task.pk, now=task.started_at + timedelta(seconds=total * 0.6))
    task.refresh_from_db()
    assert task.status == DataBackupStatus.FAILED and "-4018" in failure_of(task)
    assert not Tenant.objects.filter(cluster=estate["target"], name="sales_copy").exists()


def test_running_restores_protect_the_sets_they_read(estate):
    start(estate, outcome="completed")
    assert restores.needed_sets() == {estate["full"].backup_set_id}


def test_two_operators_restoring_into_one_new_tenant_get_one_winner(transactional_db, admin_user):
    require_postgres()
    source = f.make_cluster(name="prod")
    tenant = f.make_tenant(source, name="sales")
    target = f.make_cluster(name="standby")
    f.make_log_task(source, started_at=at(-30), latest_point=at(-1))
    full = f.make_data_task(source, started_at=at(-20), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-19), progress=100)
    results = press_at_once(lambda: start_restore(tenant, at(-5), target, "twin", admin_user, outcome="completed").pk)
    assert sorted(kind for kind, _value in results) == ["ok"] + ["refused"] * (len(results) - 1)
    assert RestoreTask.objects.filter(new_tenant_name="twin").count() == 1


def _old_set_estate(admin_user, n=0):
    """A set past a 1-day retention (anchored by a newer full), both in one
    running log round; a running cleanup of that policy, due now."""
    source = f.make_cluster(name=f"prod{n}")
    tenant = f.make_tenant(source, name="sales")
    target = f.make_cluster(name=f"standby{n}")
    policy = f.make_policy(source, retention_days=1)
    f.make_log_task(source, policy=policy, started_at=at(-300), latest_point=at(-1))
    old = f.make_data_task(source, policy=policy, started_at=at(-240), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, old.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-239), progress=100)
    new = f.make_data_task(source, policy=policy, started_at=at(-48), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, new.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-47), progress=100)
    cleanup = f.make_cleanup_task(source, policy=policy, retention_days=1, status="running", ended_at=None,
                                  started_at=timezone.now() - timedelta(days=1))
    return {"tenant": tenant, "target": target, "old": old, "cleanup": cleanup, "user": admin_user}


def test_a_cleanup_keeps_the_set_a_running_restore_reads(admin_user, settings):
    settings.SIM_FAILURE_RATE = 0  # the simulated storage never fails this cleanup (5 % of runs otherwise)
    e = _old_set_estate(admin_user)
    assert simulation.expirable_sets(e["cleanup"].policy, timezone.now()) == [e["old"].backup_set_id]
    restore = start_restore(e["tenant"], at(-200), e["target"], "copy", e["user"], outcome="completed")
    assert restore.data_task_ids == [e["old"].pk]
    simulation.run_cleanup(e["cleanup"].pk, now=timezone.now() + timedelta(days=2))
    assert BackupSet.objects.get(pk=e["old"].backup_set_id).expired_at is None
    e["cleanup"].refresh_from_db()
    assert e["cleanup"].status == "completed" and e["cleanup"].deleted_sets == 0


def test_a_restore_and_a_cleanup_racing_for_one_set_never_leave_a_restore_on_a_deleted_set(transactional_db, admin_user):
    require_postgres()
    for attempt in range(4):
        RestoreTask.objects.filter(status="in_progress").update(status="failed", failure_reason="test", ended_at=timezone.now())
        e = _old_set_estate(admin_user, attempt)
        barrier = threading.Barrier(2)
        outcome = {}

        def restore(e=e, outcome=outcome, barrier=barrier):
            barrier.wait()
            try:
                outcome["restore"] = start_restore(e["tenant"], at(-200), e["target"], f"copy{attempt}", e["user"], outcome="completed").pk
            except ActionRefused as refused:
                outcome["restore"] = refused.message
            finally:
                connection.close()

        def cleanup(e=e, barrier=barrier):
            barrier.wait()
            try:
                simulation.run_cleanup(e["cleanup"].pk, now=timezone.now() + timedelta(days=2))
            finally:
                connection.close()

        threads = [threading.Thread(target=restore), threading.Thread(target=cleanup)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        expired = BackupSet.objects.get(pk=e["old"].backup_set_id).expired_at is not None
        running = RestoreTask.objects.filter(status="in_progress").exists()
        # Exactly one wins: the restore runs on a kept set, or the set is gone and the restore was refused.
        assert running != expired, (attempt, outcome, expired, running)


# --- From a secondary destination ---------------------------------------------------------------


@pytest.fixture
def covered_by_a_copy(admin_user):
    """The primary archive has a gap from -20 to -10; the secondary log copy
    and the copy of the full go on through it (tests/engine/test_intervals.py)."""
    source = f.make_cluster(name="prod")
    tenant = f.make_tenant(source, name="sales")
    copies_to = f.make_destination(name="oss-copies", kind="object", uri="oss://bucket/copies")
    first = f.make_log_task(source, started_at=at(-30), latest_point=at(-20))
    full = f.make_data_task(source, started_at=at(-28), status=DataBackupStatus.IN_PROGRESS, size_bytes=2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-27), progress=100)
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPING, cause="stop", now=at(-20))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-20))
    f.make_log_task(source, started_at=at(-10), latest_point=at(-1))
    log_copy = f.make_secondary_log_task(first, destination=copies_to, started_at=at(-29), latest_point=at(-2))
    data_copy = f.make_secondary_data_task(full, destination=copies_to, started_at=at(-26.5),
                                           status=DataBackupStatus.IN_PROGRESS)
    transition(SecondaryDataBackupTask, data_copy.pk, DataBackupStatus.COMPLETED, cause="copied", now=at(-26))
    return {"tenant": tenant, "target": f.make_cluster(name="standby"), "user": admin_user, "destination": copies_to,
            "first": first, "full": full, "log_copy": log_copy, "data_copy": data_copy}


def test_a_restore_only_a_secondary_destination_covers_records_it_and_its_copies(covered_by_a_copy):
    c = covered_by_a_copy
    task = start_restore(c["tenant"], at(-15), c["target"], "sales_gap", c["user"], outcome="completed")
    task.refresh_from_db()
    assert task.source_destination == c["destination"]
    assert task.data_task_ids == [c["full"].pk] and task.secondary_data_task_ids == [c["data_copy"].pk]
    assert task.secondary_round_ids == [c["log_copy"].pk] and task.round_ids == []

    # Where the primary reaches, the primary: its rounds, no secondary copies.
    primary = start_restore(c["tenant"], at(-24), c["target"], "sales_primary", c["user"], outcome="completed")
    primary.refresh_from_db()
    assert primary.source_destination is None and primary.round_ids == [c["first"].pk]
    assert primary.secondary_data_task_ids == [] and primary.secondary_round_ids == []
