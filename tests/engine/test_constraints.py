"""Every rule the database enforces: a violating write is refused by the
database itself (bulk_create / update skip model validation).

``VIOLATIONS`` holds one refused write per constraint of the backups and
clusters models, and the list of constraints is read from the models'
``Meta.constraints``: a new constraint without a refused-write test here
fails ``test_every_constraint_has_a_refused_write``."""

from datetime import time, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CheckConstraint, F
from django.utils import timezone, translation

from backups.models import (
    Alert,
    BackupPolicy,
    BackupSet,
    ClusterSilence,
    DailyRollup,
    DataBackupTask,
    Delivery,
    DeliveryAttempt,
    LogDelaySample,
    NotificationChannel,
    RecoverableInterval,
    RestoreDrillPolicy,
    RestoreDrillRun,
    StorageRollup,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def refused(fn):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fn()


@pytest.fixture
def cluster():
    return f.make_cluster()


# --- One refused write per constraint -----------------------------------------------


def clone(obj, **changes):
    """A copy of a saved row with some fields changed, written by bulk_create."""
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields if not field.primary_key}
    values.update(changes)
    return lambda: type(obj).objects.bulk_create([type(obj)(**values)])


def update(obj, **changes):
    """An UPDATE of one saved row."""
    return lambda: type(obj).objects.filter(pk=obj.pk).update(**changes)


def ends_before_start(obj):
    return update(obj, ended_at=F("started_at") - timedelta(microseconds=1))


def stopped_log(c):
    return f.make_log_task(c, status="stopped")


def drill_policy(c):
    return RestoreDrillPolicy.objects.create(name=f"drill-{c.pk}", target_cluster=c, run_at=time(3), schedule_days=[1])


def drill_run(c):
    policy = drill_policy(c)
    return RestoreDrillRun.objects.create(policy=policy, policy_name=policy.name, due_at=timezone.now(), started_at=timezone.now())


def open_alert(c):
    return Alert.objects.create(rule="data_failed", severity="critical", subject=f"cluster:{c.pk}", cluster=c,
                                started_at=timezone.now())


def delivery(c):
    channel = NotificationChannel.objects.create(name=f"ops-{c.pk}", email_recipients=["ops@example.com"])
    return Delivery.objects.create(channel=channel, alert=open_alert(c), event="opened")


# constraint name -> cluster -> the refused write (a no-argument callable), after
# making the valid rows it needs.
VIOLATIONS = {
    # Every task kind: no end before the start.
    "backups_databackuptask_end_not_before_start": lambda c: ends_before_start(f.make_data_task(c)),
    "backups_logbackuptask_end_not_before_start": lambda c: ends_before_start(stopped_log(c)),
    "backups_cleanuptask_end_not_before_start": lambda c: ends_before_start(f.make_cleanup_task(c)),
    "backups_secondarydatabackuptask_end_not_before_start":
        lambda c: ends_before_start(f.make_secondary_data_task(f.make_data_task(c))),
    "backups_secondarylogbackuptask_end_not_before_start":
        lambda c: ends_before_start(f.make_secondary_log_task(stopped_log(c), status="stopped")),
    # Data backups.
    "logical_backup_once_per_data_version": lambda c: clone(
        f.make_data_task(c, backup_method="logical", data_version=7), backup_set_id=f.make_backup_set(c).pk),
    "logical_backup_is_full": lambda c: update(f.make_data_task(c, mode="incremental"), backup_method="logical"),
    "one_full_backup_per_set": lambda c: clone(f.make_data_task(c, mode="full"), data_version=99),
    "one_running_data_backup_per_cluster": lambda c: clone(
        f.make_data_task(c, status="in_progress"), mode="incremental", data_version=99),
    "data_backup_progress_percent": lambda c: update(f.make_data_task(c), progress=101),
    "data_backup_ended_iff_finished": lambda c: update(f.make_data_task(c), ended_at=None),
    "data_backup_failure_has_reason": lambda c: update(f.make_data_task(c, status="failed"), failure_reason=""),
    # Log backups and their copies: one alive at a time.
    "one_live_log_backup_per_cluster": lambda c: clone(f.make_log_task(c, status="in_progress"), status="starting"),
    "one_live_secondary_log_per_source": lambda c: clone(
        f.make_secondary_log_task(f.make_log_task(c), status="in_progress"), status="stopping"),
    # Policies.
    "one_active_policy_per_cluster": lambda c: clone(f.make_policy(c), periodic_task_id=None),
    "one_active_policy_per_tenant": lambda c: clone(f.make_policy(c, tenant=f.make_tenant(c)), periodic_task_id=None),
    "policy_retention_at_least_one_day": lambda c: update(f.make_policy(c), retention_days=0),
    "policy_retention_at_most_ten_years": lambda c: update(f.make_policy(c), retention_days=1_000_000),
    "policy_timeout_at_most_a_week": lambda c: update(f.make_policy(c), data_backup_timeout_minutes=10081),
    "policy_log_delay_alert_at_most_a_week": lambda c: update(f.make_policy(c), log_delay_threshold_seconds=604801),
    "policy_secondary_differs_from_primary": lambda c: update(
        f.make_policy(c, secondary_enabled=True, secondary_destination=f.make_destination()),
        secondary_destination=F("destination")),
    "policy_secondary_needs_destination": lambda c: update(f.make_policy(c), secondary_enabled=True, secondary_destination=None),
    "policy_physical_needs_log_backup": lambda c: update(f.make_policy(c, backup_method="physical"), log_backup_enabled=False),
    "policy_logical_is_full_only": lambda c: update(
        f.make_policy(c, backup_method="logical"), schedule_days={"1": "full", "3": "incremental"}),
    "backup_set_id_unique_in_cluster": lambda c: clone(f.make_backup_set(c, number=5)),
    # Restores: one into a new tenant (unless it failed); bytes within the total; an end iff finished; a reason if failed.
    "backups_restoretask_end_not_before_start": lambda c: ends_before_start(f.make_restore_task(c, status="completed", ended_at=timezone.now())),
    "one_restore_per_new_tenant": lambda c: clone(f.make_restore_task(c, new_tenant_name="twin"), status="completed",
                                                  ended_at=timezone.now()),
    "restore_finished_within_total": lambda c: update(f.make_restore_task(c), finished_bytes=F("total_bytes") + 1),
    "restore_ended_iff_finished": lambda c: update(f.make_restore_task(c), ended_at=timezone.now()),
    "restore_failure_has_reason": lambda c: update(f.make_restore_task(c), status="failed", ended_at=timezone.now()),
    # Restore drills: a keep time of 1..720 hours; one drill per due time; an end iff finished; a reason if failed.
    # Rollups.
    "rollup_one_row_per_key": lambda c: clone(DailyRollup.objects.create(
        day=timezone.localdate(), cluster=c, kind="data", outcome="completed", count=1, duration=timedelta(0))),
    "drill_keep_hours_in_range": lambda c: update(drill_policy(c), keep_hours=721),
    "one_drill_per_due_time": lambda c: clone(drill_run(c)),
    "drill_ended_iff_finished": lambda c: update(drill_run(c), ended_at=timezone.now()),
    "drill_failure_has_reason": lambda c: update(drill_run(c), status="failed", ended_at=timezone.now()),
    # Recoverable intervals: an end not before the start, or a live round to follow.
    "interval_ends_after_start_or_follows_its_round": lambda c: update(
        RecoverableInterval.objects.create(cluster=c, tenant=f.make_tenant(c), start=timezone.now(), end=timezone.now()),
        end=None),
    # ... and a secondary destination's interval rides that destination's log copy, not a primary round.
    "interval_round_of_its_destination": lambda c: update(
        RecoverableInterval.objects.create(cluster=c, tenant=f.make_tenant(c), start=timezone.now(), end=timezone.now()),
        destination=f.make_destination(), round=f.make_log_task(c)),
    # Alerts: one open alert per rule and subject; an end exactly when resolved.
    "alert_one_open_per_subject": lambda c: clone(open_alert(c)),
    "alert_resolved_has_end": lambda c: update(open_alert(c), status="resolved"),
    "silence_ends_after_start": lambda c: lambda: ClusterSilence.objects.create(
        cluster=c, starts_at=timezone.now(), ends_at=timezone.now() - timedelta(minutes=1)),
    # Notifications: one delivery per change and channel; an alert unless a test; attempts numbered once.
    "delivery_once_per_change": lambda c: clone(delivery(c)),
    "delivery_alert_unless_test": lambda c: update(delivery(c), alert=None),
    "delivery_attempt_number": lambda c: clone(DeliveryAttempt.objects.create(delivery=delivery(c), number=1)),
    # Storage capacity, and one log-delay sample per cluster and hour.
    "destination_capacity_positive": lambda c: update(f.make_destination(), capacity_bytes=0),
    "logdelay_one_row_per_hour": lambda c: clone(LogDelaySample.objects.create(
        cluster=c, hour=timezone.now().replace(minute=0, second=0, microsecond=0), delay_seconds=5)),
    # One storage rollup per destination and day.
    "storage_one_row_per_day": lambda c: clone(StorageRollup.objects.create(
        destination=f.make_destination(), day=timezone.localdate(), added_bytes=1)),
    # Clusters.
    "tenant_name_unique_in_cluster": lambda c: clone(f.make_tenant(c, name="sales")),
    "host_ip_port_unique": lambda c: clone(f.make_host(c, ip="10.9.9.9", port=2881), cluster_id=f.make_cluster().pk),
    "host_port_in_range": lambda c: update(f.make_host(c), port=0),
}


def constraints():
    """(name, constraint) of every Meta.constraints entry of the project's models."""
    for label in ("backups", "clusters"):
        for model in apps.get_app_config(label).get_models():
            for constraint in model._meta.constraints:
                yield constraint.name, constraint


def test_every_constraint_has_a_refused_write():
    names = [name for name, _constraint in constraints()]
    assert len(names) == len(set(names))
    missing = sorted(set(names) - set(VIOLATIONS))
    assert not missing, f"add a refused write to VIOLATIONS for: {missing}"
    assert sorted(VIOLATIONS) == sorted(names)  # and none for a constraint that is gone


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_the_database_refuses_a_write_that_breaks(cluster, name):
    violation = VIOLATIONS[name](cluster)
    with pytest.raises(IntegrityError) as refusal:
        with transaction.atomic():
            violation()
    constraint = dict(constraints())[name]
    # PostgreSQL names the constraint it enforced; SQLite names its CHECK
    # constraints (a unique index, only by its columns).
    if connection.vendor == "postgresql" or isinstance(constraint, CheckConstraint):
        assert name in str(refusal.value), refusal.value


# --- What the constraints allow, and refusals through the factories ---------------------


def test_logical_backup_only_once_per_data_version(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    refused(lambda: f.make_data_task(cluster, backup_method="logical", data_version=7))


def test_logical_backup_of_next_data_version_is_allowed(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    f.make_data_task(cluster, backup_method="logical", data_version=8)
    assert DataBackupTask.objects.filter(cluster=cluster).count() == 2


def test_failed_logical_backup_may_be_retried_at_same_version(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7, status="failed")
    f.make_data_task(cluster, backup_method="logical", data_version=7)


def test_same_data_version_in_another_cluster_is_allowed(cluster):
    f.make_data_task(cluster, backup_method="logical", data_version=7)
    f.make_data_task(f.make_cluster(), backup_method="logical", data_version=7)


def test_backup_set_id_unique_within_cluster(cluster):
    f.make_backup_set(cluster, number=5)
    refused(lambda: f.make_backup_set(cluster, number=5))
    f.make_backup_set(f.make_cluster(), number=5)  # another cluster may reuse it
    assert BackupSet.objects.filter(number=5).count() == 2


def test_backup_set_has_one_full_backup_and_many_incrementals(cluster):
    full = f.make_data_task(cluster, mode="full")
    f.make_data_task(cluster, mode="incremental", backup_set=full.backup_set)
    f.make_data_task(cluster, mode="incremental", backup_set=full.backup_set)
    refused(lambda: f.make_data_task(cluster, mode="full", backup_set=full.backup_set))


def test_one_running_data_backup_per_cluster(cluster):
    f.make_data_task(cluster, status="in_progress")
    refused(lambda: f.make_data_task(cluster, status="in_progress"))


def test_one_live_log_backup_per_cluster(cluster):
    f.make_log_task(cluster, status="in_progress")
    f.make_log_task(cluster, status="stopped")
    refused(lambda: f.make_log_task(cluster, status="starting"))


def test_policy_rules(cluster):
    dest = f.make_destination()
    refused(lambda: f.make_policy(cluster, retention_days=0))
    refused(lambda: f.make_policy(cluster, destination=dest, secondary_enabled=True, secondary_destination=dest))
    refused(lambda: f.make_policy(cluster, secondary_enabled=True, secondary_destination=None))
    refused(lambda: f.make_policy(cluster, backup_method="physical", log_backup_enabled=False))
    f.make_policy(cluster, backup_method="logical", log_backup_enabled=False)


def test_a_logical_policy_schedules_full_backups_only(cluster):
    refused(lambda: f.make_policy(cluster, backup_method="logical", schedule_days={"1": "full", "4": "incremental"}))
    refused(lambda: f.make_policy(cluster, backup_method="logical", schedule_kind="monthly", schedule_days={"15": "incremental"}))
    f.make_policy(cluster, backup_method="logical", schedule_days={"1": "full", "4": "full"}, state="paused")
    f.make_policy(cluster, backup_method="physical", schedule_days={"1": "full", "4": "incremental"})


def test_model_validation_refuses_a_logical_policy_with_incremental_days(cluster):
    """What the admin and the form run before writing: the same rule, with its message."""
    policy = BackupPolicy(cluster=cluster, backup_method="logical", destination=f.make_destination(), directory="/x",
                          schedule_kind="weekly", schedule_days={"1": "full", "2": "incremental"}, run_at=time(2))
    with translation.override("en"), pytest.raises(ValidationError) as refusal:
        policy.full_clean()
    (error,) = refusal.value.error_dict["__all__"]
    assert error.code == "policy_logical_is_full_only" and "Logical backups are full only" in error.message
    policy.schedule_days = {"1": "full", "2": "full"}
    policy.full_clean()


def test_one_active_policy_per_cluster_and_per_tenant(cluster):
    tenant = f.make_tenant(cluster)
    f.make_policy(cluster)
    refused(lambda: f.make_policy(cluster))
    f.make_policy(cluster, state="paused")
    f.make_policy(cluster, tenant=tenant)
    refused(lambda: f.make_policy(cluster, tenant=tenant))


def test_host_ip_port_unique():
    c = f.make_cluster()
    f.make_host(c, ip="10.1.1.1", port=2881)
    refused(lambda: f.make_host(f.make_cluster(), ip="10.1.1.1", port=2881))
