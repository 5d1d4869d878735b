"""Alerts (issue 14, engine/alerting.py): each rule fires, does not duplicate
on re-evaluation, and resolves when its condition clears; one alert and one
notification per change however many evaluations race; the policy's
"no data backup in N days" field is never shorter than its schedule's cycle."""

import threading
from datetime import time, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from backups.choices import AlertRule as R
from backups.choices import DataBackupStatus, DrillStatus, LogBackupStatus
from backups.engine import alerting, notify, outcomes, retention
from backups.engine.rollups import rebuild_rollups
from backups.engine.transitions import transition
from backups.models import Alert, BackupPolicy, RecoverableInterval, RestoreDrillPolicy, RestoreDrillRun
from tests import factories as f
from tests.roles import policy_data
from tests.services import require_postgres

THREADS = 16


@pytest.fixture
def events(monkeypatch):
    """Every notify.alert_event call, as (rule, subject, event)."""
    calls = []
    lock = threading.Lock()

    def record(alert, event):
        with lock:
            calls.append((alert.rule, alert.subject, event))

    monkeypatch.setattr(notify, "alert_event", record)
    return calls


class Events:
    """The notifications of one rule (others may fire around it)."""

    def __init__(self, events, rule):
        self.events, self.rule = events, rule

    def __eq__(self, other):
        return [e for e in self.events if e[0] == self.rule] == other

    def __len__(self):
        return len([e for e in self.events if e[0] == self.rule])

    def __repr__(self):
        return repr(self.events)


def alerts(rule, **kw):
    return list(Alert.objects.filter(rule=rule, **kw).order_by("id"))


def cycle(rule, subject, all_events, now, clear, *, again=None):
    """Evaluate: one alert opens; evaluate again: still one, nothing sent;
    ``clear()``, evaluate: it resolves, with one notification each way."""
    events = Events(all_events, rule)
    alerting.evaluate_all(now)
    [alert] = alerts(rule)
    assert (alert.status, alert.subject) == ("open", subject)
    assert events == [(rule, subject, "opened")]
    alerting.evaluate_all(again or now + timedelta(seconds=30))
    assert [a.pk for a in alerts(rule)] == [alert.pk] and alerts(rule)[0].status == "open"
    assert events == [(rule, subject, "opened")]
    clear()
    alerting.evaluate_all(now + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.ended_at == now + timedelta(minutes=1)
    assert events == [(rule, subject, "opened"), (rule, subject, "resolved")]
    alerting.evaluate_all(now + timedelta(minutes=2))
    assert len(events) == 2 and len(alerts(rule)) == 1
    return alert


@pytest.fixture
def now():
    return timezone.now()


# --- One test per rule ----------------------------------------------------------------------------


def test_data_backup_failed_fires_once_and_resolves_on_a_later_success(db, events, now):
    cluster = f.make_cluster()
    f.make_data_task(cluster, started_at=now - timedelta(days=2))
    failed = f.make_data_task(cluster, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=3),
                              failure_reason=outcomes.failure("disk_full", uri="file:///mnt/x"))
    failed.failure_code, failed.failure_params, failed.failure_reason = outcomes.stored(failed.failure_reason)
    failed.save()

    def a_later_backup_completes():
        f.make_data_task(cluster, started_at=now - timedelta(hours=1))

    alert = cycle(R.DATA_FAILED, f"data:{failed.pk}", events, now, a_later_backup_completes)
    assert alert.severity == "critical" and alert.cluster_id == cluster.pk
    assert alerting.describe(alert) == (f"Data backup #{failed.pk} of {cluster.name} failed: "
                                        "No space left on the storage destination file:///mnt/x.")
    with translation.override("zh-hans"):
        assert alerting.describe(alert).startswith(f"{cluster.name} 的数据备份 #{failed.pk} 失败")


def test_a_failure_followed_only_by_a_running_backup_stays_open(db, events, now):
    cluster = f.make_cluster()
    failed = f.make_data_task(cluster, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=3))
    f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(minutes=5))
    alerting.evaluate_all(now)
    assert [a.subject for a in alerts(R.DATA_FAILED, status="open")] == [f"data:{failed.pk}"]


def test_data_backup_over_its_timeout(db, events, now):
    cluster = f.make_cluster()
    policy = f.make_policy(cluster, data_backup_timeout_minutes=60)
    quick = f.make_data_task(f.make_cluster(), status=DataBackupStatus.IN_PROGRESS, started_at=now - timedelta(hours=5))
    slow = f.make_data_task(cluster, policy=policy, status=DataBackupStatus.IN_PROGRESS,
                            started_at=now - timedelta(minutes=61))

    def it_completes():
        slow.status, slow.ended_at = DataBackupStatus.COMPLETED, now
        slow.save()

    alert = cycle(R.DATA_TIMEOUT, f"data:{slow.pk}", events, now, it_completes, again=now + timedelta(minutes=10))
    # The value followed the running time while it was open; the other (default 360 minutes) never fired.
    assert (alert.value, alert.threshold) == (71, 60)
    assert not alerts(R.DATA_TIMEOUT, subject=f"data:{quick.pk}")
    assert "running for 71 minutes, longer than the policy's timeout of 60 minutes" in alerting.describe(alert)


def test_log_backup_delay(db, events, now):
    cluster = f.make_cluster()
    policy = f.make_policy(cluster, log_delay_threshold_seconds=300)
    log = f.make_log_task(cluster, policy=policy, latest_point=now - timedelta(seconds=301))
    other = f.make_cluster()
    f.make_log_task(other, policy=f.make_policy(other), latest_point=now - timedelta(seconds=60))

    def it_catches_up():
        log.latest_point = now + timedelta(seconds=50)
        log.save()

    alert = cycle(R.LOG_DELAY, f"cluster:{cluster.pk}", events, now, it_catches_up)
    assert alert.threshold == 300 and alert.value >= 301
    alert.value = 1234567
    assert "is 1234567 seconds behind, over the policy's alert threshold of 300 seconds." in alerting.describe(alert)


def test_secondary_log_backup_delay(db, events, now):
    cluster = f.make_cluster()
    log = f.make_log_task(cluster, policy=f.make_policy(cluster, log_delay_threshold_seconds=600))
    copy = f.make_secondary_log_task(log, latest_point=now - timedelta(seconds=900))

    def it_catches_up():
        copy.latest_point = now + timedelta(seconds=50)
        copy.save()

    cycle(R.SECONDARY_LOG_DELAY, f"cluster:{cluster.pk}", events, now, it_catches_up)


def test_log_gap_until_log_backup_runs_again(db, events, now):
    cluster = f.make_cluster()
    log = f.make_log_task(cluster, status=LogBackupStatus.FAILED, latest_point=now - timedelta(hours=1))

    def it_runs_again():
        log.status, log.ended_at, log.latest_point = LogBackupStatus.IN_PROGRESS, None, now
        log.save()

    alert = cycle(R.LOG_GAP, f"cluster:{cluster.pk}", events, now, it_runs_again)
    assert "Restore points after" in alerting.describe(alert)


def test_log_gap_survives_the_restart_until_in_progress(db, events, now):
    cluster = f.make_cluster()
    log = f.make_log_task(cluster, status=LogBackupStatus.FAILED)
    alerting.evaluate_all(now)
    log.status, log.ended_at = LogBackupStatus.STARTING, None
    log.save()
    alerting.evaluate_all(now + timedelta(seconds=10))
    assert alerts(R.LOG_GAP)[0].status == "open"
    log.status = LogBackupStatus.IN_PROGRESS
    log.save()
    alerting.evaluate_all(now + timedelta(seconds=20))
    assert alerts(R.LOG_GAP)[0].status == "resolved"
    assert [e for _, _, e in events] == ["opened", "resolved"]


def test_no_successful_data_backup_within_the_policys_days(db, events, now):
    cluster = f.make_cluster()
    policy = f.make_policy(cluster, no_backup_alert_days=4)
    BackupPolicy.objects.filter(pk=policy.pk).update(created_at=now - timedelta(days=30))
    f.make_data_task(cluster, started_at=now - timedelta(days=5, hours=1))  # ended 5 days ago
    f.make_data_task(cluster, status=DataBackupStatus.FAILED, started_at=now - timedelta(days=1))
    quiet = f.make_cluster()
    f.make_policy(quiet)  # no threshold: never alerts
    BackupPolicy.objects.filter(cluster=quiet).update(created_at=now - timedelta(days=300))

    def one_completes():
        f.make_data_task(cluster, started_at=now - timedelta(hours=1))

    alert = cycle(R.NO_DATA_BACKUP, f"policy:{policy.pk}", events, now, one_completes)
    assert (alert.value, alert.threshold) == (5, 4)
    assert alerting.describe(alert) == (f"No successful data backup of {cluster.name} for 5 days "
                                        "(the policy alerts after 4 days).")


def test_no_data_backup_counts_from_the_policys_creation(db, events, now):
    cluster = f.make_cluster()
    policy = f.make_policy(cluster, no_backup_alert_days=2)
    alerting.evaluate_all(now)
    assert not alerts(R.NO_DATA_BACKUP)
    alerting.evaluate_all(policy.created_at + timedelta(days=2, minutes=1))
    assert len(alerts(R.NO_DATA_BACKUP, status="open")) == 1


def test_secondary_backup_failed(db, events, now):
    cluster = f.make_cluster()
    source = f.make_data_task(cluster, started_at=now - timedelta(hours=5))
    failed = f.make_secondary_data_task(source, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=4),
                                        failure_reason="copy broke")

    def a_later_copy_completes():
        f.make_secondary_data_task(f.make_data_task(cluster, started_at=now - timedelta(hours=2)),
                                   started_at=now - timedelta(hours=1))

    alert = cycle(R.SECONDARY_FAILED, f"secondary:{failed.pk}", events, now, a_later_copy_completes)
    assert alerting.describe(alert).endswith("failed: copy broke")


def test_rpo_breached(db, events, now, settings):
    settings.RPO_BREACHED_MINUTES = 60
    cluster = f.make_cluster()
    tenant = f.make_tenant(cluster)
    interval = RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1),
                                                  end=now - timedelta(minutes=90))

    def it_can_be_restored_to_now():
        interval.end = now
        interval.save()

    alert = cycle(R.RPO_BREACHED, f"tenant:{tenant.pk}", events, now, it_can_be_restored_to_now)
    assert (alert.value, alert.threshold, alert.tenant_id) == (90, 60, tenant.pk)


def test_rpo_of_a_tenant_with_nothing_to_restore_to(db, events, now):
    tenant = f.make_tenant(f.make_cluster())
    alerting.evaluate_all(now)
    [alert] = alerts(R.RPO_BREACHED)
    assert alert.value is None and "has nothing to restore to" in alerting.describe(alert)
    assert alert.subject == f"tenant:{tenant.pk}"


def test_restore_failed(db, events, now):
    cluster = f.make_cluster()
    tenant = f.make_tenant(cluster)
    RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1), end=now)
    failed = f.make_restore_task(cluster, source_tenant=tenant, status=DataBackupStatus.FAILED,
                                 started_at=now - timedelta(hours=2), ended_at=now - timedelta(hours=1),
                                 failure_reason="no space")

    def a_later_restore_completes():
        f.make_restore_task(cluster, source_tenant=tenant, status=DataBackupStatus.COMPLETED,
                            started_at=now - timedelta(minutes=30), ended_at=now - timedelta(minutes=10))

    alert = cycle(R.RESTORE_FAILED, f"restore:{failed.pk}", events, now, a_later_restore_completes)
    assert alerting.describe(alert) == f"Restore #{failed.pk} of tenant {tenant.name} failed: no space"


def _drill_policy():
    return RestoreDrillPolicy.objects.create(name="weekly drill", target_cluster=f.make_cluster(), run_at=time(3),
                                             schedule_days=[1, 2, 3, 4, 5, 6, 7])


def _run(policy, status, at):
    return RestoreDrillRun.objects.create(
        policy=policy, policy_name=policy.name, due_at=at, started_at=at, ended_at=at + timedelta(minutes=5),
        status=status, **({"failure_reason": "tenant missing"} if status == DrillStatus.FAILED else {}))


def test_restore_drill_failed(db, events, now):
    policy = _drill_policy()
    _run(policy, DrillStatus.SUCCEEDED, now - timedelta(days=2))
    failed = _run(policy, DrillStatus.FAILED, now - timedelta(days=1))

    def the_next_drill_succeeds():
        _run(policy, DrillStatus.SUCCEEDED, now - timedelta(hours=1))

    alert = cycle(R.DRILL_FAILED, f"drill_policy:{policy.pk}", events, now, the_next_drill_succeeds)
    assert alerting.describe(alert) == f"Restore drill #{failed.pk} of policy weekly drill failed: tenant missing"


def test_every_rule_has_a_severity_and_a_text():
    assert set(alerting.SEVERITY) == set(alerting.TEXTS) == set(R)


GIB = 1024**3


def test_storage_over_its_threshold_fires_once_and_resolves_when_cleanup_frees_it(db, events, now, settings):
    """Kept backups on the destination (a primary backup of each of two
    clusters, a secondary copy onto it) over STORAGE_ALERT_PERCENT of its
    capacity; cleanup deleting a set frees it. The used bytes are what the
    cluster page's storage chart shows on its last day."""
    from backups.engine.cluster_charts import storage_used

    settings.STORAGE_ALERT_PERCENT = 80
    nfs = f.make_destination(name="nfs-main", capacity_bytes=100 * GIB)
    elsewhere = f.make_destination(name="nfs-other", capacity_bytes=10 * GIB)  # a destination of its own
    east, west, north = f.make_cluster(name="east"), f.make_cluster(name="west"), f.make_cluster(name="north")
    on_nfs = f.make_policy(east, destination=nfs)
    big = f.make_data_task(east, policy=on_nfs, started_at=now - timedelta(days=2), size_bytes=50 * GIB)
    f.make_data_task(west, policy=f.make_policy(west, destination=nfs), started_at=now - timedelta(days=1),
                     size_bytes=25 * GIB)
    other = f.make_data_task(north, policy=f.make_policy(north, destination=elsewhere), started_at=now - timedelta(days=1),
                             size_bytes=6 * GIB)
    f.make_secondary_data_task(other, destination=nfs)  # a copy of 6 GiB onto nfs-main: 81 GiB in all
    # Not counted: a failed backup, a deleted set.
    f.make_data_task(east, policy=on_nfs, status="failed", started_at=now - timedelta(hours=5), size_bytes=90 * GIB)
    gone = f.make_data_task(east, policy=on_nfs, started_at=now - timedelta(days=9), size_bytes=70 * GIB)
    gone.backup_set.expired_at = now - timedelta(days=3)
    gone.backup_set.save()
    rebuild_rollups()  # the rows went in without the engine
    assert alerting.storage_used([nfs.pk, elsewhere.pk]) == {nfs.pk: 81 * GIB, elsewhere.pk: 6 * GIB}
    today = timezone.localtime(now).date()
    assert storage_used([nfs.pk], [today])[nfs.pk][-1] == 81 * GIB  # the chart's last day says the same

    def cleanup_deletes_the_big_set():
        retention.expire([big.backup_set_id], now)  # as the cleanup does

    alert = cycle(R.STORAGE_FULL, f"destination:{nfs.pk}", events, now, cleanup_deletes_the_big_set)
    assert alert.severity == "warning" and alert.cluster_id is None and (alert.value, alert.threshold) == (81.0, 80)
    assert alerting.describe(alert).replace("\xa0", " ") == ("Backups use 81 % of storage destination nfs-main (81.0 GB of 100.0 GB), "
                                        "over the alert threshold of 80 %.")
    with translation.override("zh-hans"):
        assert "nfs-main" in alerting.describe(alert) and "81" in alerting.describe(alert)
    assert not alerts(R.STORAGE_FULL, subject=f"destination:{elsewhere.pk}")  # 60 % of its own


# --- Evaluation on the transitions --------------------------------------------------------------


def test_a_failed_move_opens_its_alert_after_commit(db, events, django_capture_on_commit_callbacks):
    cluster = f.make_cluster()
    task = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        transition(task.KIND, task.pk, DataBackupStatus.FAILED, cause="x",
                   failure_reason=outcomes.failure("compaction_needed"))
    assert events == [(R.DATA_FAILED, f"data:{task.pk}", "opened")]
    later = f.make_data_task(cluster, status=DataBackupStatus.IN_PROGRESS, started_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        transition(later.KIND, later.pk, DataBackupStatus.COMPLETED, cause="x")
    assert events[-1] == (R.DATA_FAILED, f"data:{task.pk}", "resolved")


def test_a_log_backup_archiving_again_closes_its_gap_alert_after_commit(db, events, django_capture_on_commit_callbacks):
    """Not at the next periodic pass: the move back to in progress evaluates the cluster."""
    cluster = f.make_cluster()
    log = f.make_log_task(cluster, status=LogBackupStatus.IN_PROGRESS, latest_point=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        transition(log.KIND, log.pk, LogBackupStatus.FAILED, cause="x", failure_reason=outcomes.failure("log_lost"))
    assert events == [(R.LOG_GAP, f"cluster:{cluster.pk}", "opened")]
    again = f.make_log_task(cluster, status=LogBackupStatus.STARTING, started_at=timezone.now(), latest_point=None)
    alerting.evaluate_cluster(cluster.pk)
    assert events[-1][2] == "opened"  # starting is not archiving yet
    with django_capture_on_commit_callbacks(execute=True):
        transition(again.KIND, again.pk, LogBackupStatus.IN_PROGRESS, cause="x")
    assert events[-1] == (R.LOG_GAP, f"cluster:{cluster.pk}", "resolved")


def test_the_beat_task_is_scheduled_every_minute(settings):
    import backups.tasks  # noqa: F401 - registers the tasks
    from backup_console.celery import app
    from backups.engine import dispatch

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == dispatch.EVALUATE_ALERTS]
    assert entries and entries[0]["schedule"] == 60.0 and dispatch.EVALUATE_ALERTS in app.tasks


# --- Races: one alert, one notification per change -----------------------------------------------


def at_once(action):
    barrier = threading.Barrier(THREADS)
    results, lock = [], threading.Lock()

    def run():
        try:
            barrier.wait()
            outcome = ("ok", action())
        except Exception as error:
            outcome = ("error", repr(error))
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def pg(transactional_db):
    require_postgres()


def test_sixteen_openers_one_alert(pg, events):
    cluster = f.make_cluster()
    finding = alerting.Finding(R.DATA_FAILED, "data:1", cluster.pk, params={"pk": 1})
    now = timezone.now()
    results = at_once(lambda: alerting.open_or_update(finding, now))
    assert [kind for kind, _ in results] == ["ok"] * THREADS, results
    assert sum(1 for _, opened in results if opened is not None) == 1
    assert Alert.objects.filter(rule=R.DATA_FAILED).count() == 1
    assert events == [(R.DATA_FAILED, "data:1", "opened")]


def test_sixteen_evaluations_open_one_and_resolve_once(pg, events):
    cluster = f.make_cluster()
    failed = f.make_data_task(cluster, status=DataBackupStatus.FAILED)
    results = at_once(lambda: alerting.evaluate_cluster(cluster.pk))
    assert [kind for kind, _ in results] == ["ok"] * THREADS, results
    assert Alert.objects.filter(rule=R.DATA_FAILED, subject=f"data:{failed.pk}").count() == 1
    f.make_data_task(cluster, started_at=timezone.now())
    results = at_once(lambda: alerting.evaluate_all())
    assert [kind for kind, _ in results] == ["ok"] * THREADS, results
    assert sum(r["resolved"] for _, r in results) == 1
    assert events == [(R.DATA_FAILED, f"data:{failed.pk}", "opened"), (R.DATA_FAILED, f"data:{failed.pk}", "resolved")]


# --- The policy's "no data backup in N days" ----------------------------------------------------


def test_the_policy_form_refuses_an_alert_shorter_than_the_schedules_cycle(admin_client):
    cluster = f.make_cluster()
    f.make_host(cluster, role="leader")
    # Monday and Thursday: up to four days between backups.
    data = policy_data(cluster, f.make_destination(), no_backup_alert_days="3")
    response = admin_client.post(reverse("backups:policy_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["no_backup_alert_days"] == [
        "At least 4 days: this schedule can go 4 days between data backups, so a shorter alert would fire while "
        "nothing is wrong."]
    assert not BackupPolicy.objects.exists()
    data["no_backup_alert_days"] = "4"
    assert admin_client.post(reverse("backups:policy_create"), data).status_code == 302
    assert BackupPolicy.objects.get().no_backup_alert_days == 4


def test_the_policy_form_shows_the_field(admin_client):
    page = admin_client.get(reverse("backups:policy_create")).content.decode()
    assert 'name="no_backup_alert_days"' in page


def test_schedule_cycle():
    from backups.models.policies import schedule_cycle_days

    assert schedule_cycle_days("weekly", ["1", "4"]) == 4
    assert schedule_cycle_days("weekly", range(1, 8)) == 1
    assert schedule_cycle_days("monthly", ["1", "15"]) == 17
    assert schedule_cycle_days("monthly", ["31"]) == 61  # skipped in short months


# --- The demo -------------------------------------------------------------------------------------


def test_seed_demo_shows_open_and_resolved_alerts(db, events):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", stdout=out)
    opened = Alert.objects.filter(status="open")
    resolved = Alert.objects.filter(status="resolved")
    assert opened.exists() and resolved.exists()
    assert f"demo alerts: {opened.count()} open, {resolved.count()} resolved" in out.getvalue()
    assert all(alerting.describe(alert) != alert.get_rule_display() for alert in Alert.objects.all())
    before = list(Alert.objects.values_list("pk", "status"))
    call_command("seed_demo", stdout=StringIO())  # again: nothing new
    assert list(Alert.objects.values_list("pk", "status")) == before


# --- The periodic pass reads the current state, not the history --------------------------------------


def _estate(clusters, history, now):
    for _ in range(clusters):
        cluster = f.make_cluster()
        tenant = f.make_tenant(cluster)
        RecoverableInterval.objects.create(cluster=cluster, tenant=tenant, start=now - timedelta(days=1), end=now)
        policy = f.make_policy(cluster, no_backup_alert_days=7)
        f.make_log_task(cluster, policy=policy, latest_point=now)
        for n in range(history):
            status = DataBackupStatus.FAILED if n % 3 == 0 else DataBackupStatus.COMPLETED
            f.make_data_task(cluster, policy=policy, status=status, started_at=now - timedelta(days=n + 1))
        f.make_data_task(cluster, policy=policy, status=DataBackupStatus.FAILED, started_at=now - timedelta(hours=2))
        # A failed restore of the tenant, and one a later restore made good.
        target = f.make_cluster()
        for hours, status in ((5, DataBackupStatus.FAILED), (4, DataBackupStatus.FAILED), (3, DataBackupStatus.COMPLETED)):
            f.make_restore_task(cluster, source_tenant=tenant, target_cluster=target, status=status,
                                started_at=now - timedelta(hours=hours), ended_at=now - timedelta(hours=hours - 1),
                                **({"failure_reason": "broken"} if status == DataBackupStatus.FAILED else {}))
        f.make_restore_task(cluster, source_tenant=tenant, target_cluster=target, status=DataBackupStatus.FAILED,
                            started_at=now - timedelta(hours=2), ended_at=now - timedelta(hours=1), failure_reason="broken")


def _steady_queries(now):
    from django.test.utils import CaptureQueriesContext

    alerting.evaluate_all(now)  # opens what holds
    with CaptureQueriesContext(connection) as queries:
        counts = alerting.evaluate_all(now)
    assert counts == {"opened": 0, "resolved": 0}
    return len(queries)


def test_the_periodic_pass_costs_the_same_whatever_the_history_and_fleet(db, events, now):
    _estate(clusters=1, history=1, now=now)
    small = _steady_queries(now)
    _estate(clusters=6, history=12, now=now)
    large = _steady_queries(now)
    assert Alert.objects.filter(status="open", rule=R.DATA_FAILED).count() == 7
    assert Alert.objects.filter(status="open", rule=R.RESTORE_FAILED).count() == 7  # the last failure of each tenant
    # Seven clusters with twelve days of history each cost what one with one day did.
    assert large == small, (small, large)


def test_a_pass_writes_the_moved_values_of_its_open_alerts_at_once(db, events, now):
    """An hour on, every tenant's RPO is breached and every log backup behind:
    each pass after moves their values. Seven clusters' moved alerts cost
    the pass what one cluster's did, and each alert holds its new value."""
    from django.conf import settings
    from django.test.utils import CaptureQueriesContext

    later = now + timedelta(minutes=settings.RPO_BREACHED_MINUTES + 5)

    def moving_pass():
        alerting.evaluate_all(later)  # opens what holds then
        with CaptureQueriesContext(connection) as queries:
            counts = alerting.evaluate_all(later + timedelta(minutes=1))
        assert counts == {"opened": 0, "resolved": 0}
        return len(queries)

    _estate(clusters=1, history=1, now=now)
    one = moving_pass()
    _estate(clusters=6, history=1, now=now)
    seven = moving_pass()
    assert seven == one, (one, seven)
    # Each estate tenant's value is the newest pass's RPO: minutes since its interval ended at ``now``.
    values = [a.value for a in Alert.objects.filter(status="open", rule=R.RPO_BREACHED) if a.value is not None]
    assert values == [(later + timedelta(minutes=1) - now).total_seconds() / 60] * 7


def test_moved_details_are_written_when_every_value_of_the_batch_is_empty(db, now):
    """A log-gap alert carries no value or threshold, only details: a batch
    of such alerts (all NULL) and a batch larger than one UPDATE both write."""
    cluster = f.make_cluster()
    alerts = [Alert.objects.create(rule=R.LOG_GAP, severity="warning", cluster=cluster, subject=f"gap:{n}", started_at=now,
                                   status="open", params={"round": n}) for n in range(7)]
    findings = [alerting.Finding(R.LOG_GAP, a.subject, cluster.pk, params={"round": 100 + n})
                for n, a in enumerate(alerts)]
    alerting.update_moved(list(zip(alerts, findings, strict=True)), now + timedelta(minutes=1), batch=3)
    assert [(a.value, a.threshold, a.params) for a in Alert.objects.filter(rule=R.LOG_GAP).order_by("pk")] == \
        [(None, None, {"round": 100 + n}) for n in range(7)]


def test_the_model_refuses_it_too_for_the_admin(db):
    from django.core.exceptions import ValidationError

    policy = f.make_policy(f.make_cluster(), schedule_kind="monthly", schedule_days={"1": "full"})
    policy.no_backup_alert_days = 30
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "At least 31 days" in str(refused.value.message_dict["no_backup_alert_days"])
    policy.no_backup_alert_days = 31
    policy.full_clean()
