"""The alert lifecycle (issue 14): rules evaluated on the transitions that can
change their condition and by a periodic pass for conditions time makes;
opening, updating and resolving alerts (models/alerts.py), each change
handed to engine/notify.py by the one evaluation that made it.

A rule reads the *current* state only — running tasks (status indexes), the
latest task of each cluster (its cluster/start index, one row per cluster),
open alerts — never a task history, so a pass costs the same at ten million
rows as at ten.  Each rule returns what holds now, ``{subject: Finding}``;
``_reconcile`` opens what is new, updates what is still open, and resolves
what no longer holds.

Exactly once, however many workers evaluate at the same time:

* opening inserts the row in a savepoint; the partial unique constraint
  ``alert_one_open_per_subject`` makes a second insert fail, and its loser
  updates the winner's row instead (and notifies nothing);
* resolving is one conditional UPDATE (``WHERE status = 'open'``): one
  resolver gets the row, the others match nothing;
* ``notify.alert_event`` is called by the winner only, inside the
  transaction of its change, so a rolled-back change notifies nothing.

The lifecycle is automatic, not an operator's action: it writes no audit
rows (the audit trail records what people did); the alert rows themselves,
opened and resolved with their times, are its history, and each change is
logged.

A rule's text is stored as values (``params``) and said in the reader's
language when read, by ``describe(alert)``, as failure reasons are
(engine/outcomes.py).

Public: ``evaluate_all(now)`` (the beat task), ``evaluate_cluster(cluster_id,
now)`` (after a task of the cluster ended), ``evaluate_drills(policy_id, now)``
(after a restore drill ended), ``describe(alert)``, ``SEVERITY``.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Case, F, FloatField, JSONField, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from ..choices import AlertRule, AlertSeverity, AlertStatus, DataBackupStatus, DrillStatus, LogBackupStatus, PolicyState, TaskKind
from ..formats import DEFAULT_LOG_DELAY_THRESHOLD
from ..models import (
    Alert,
    BackupPolicy,
    DataBackupTask,
    LogBackupTask,
    RecoverableInterval,
    RestoreDrillPolicy,
    RestoreDrillRun,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
)
from . import intervals, notify, outcomes, rollups
from .transitions import model_for, on_ended, on_moved

log = logging.getLogger(__name__)

R = AlertRule
OPEN, RESOLVED = AlertStatus.OPEN, AlertStatus.RESOLVED

SEVERITY = {
    R.DATA_FAILED: AlertSeverity.CRITICAL,
    R.DATA_TIMEOUT: AlertSeverity.WARNING,
    R.LOG_DELAY: AlertSeverity.WARNING,
    R.SECONDARY_LOG_DELAY: AlertSeverity.WARNING,
    R.LOG_GAP: AlertSeverity.CRITICAL,
    R.NO_DATA_BACKUP: AlertSeverity.CRITICAL,
    R.SECONDARY_FAILED: AlertSeverity.WARNING,
    R.RPO_BREACHED: AlertSeverity.CRITICAL,
    R.RESTORE_FAILED: AlertSeverity.CRITICAL,
    R.DRILL_FAILED: AlertSeverity.WARNING,
    R.STORAGE_FULL: AlertSeverity.WARNING,
}

# What each rule says, with its params (and the alert's value and threshold).
TEXTS = {
    R.DATA_FAILED: _("Data backup #%(pk)s of %(cluster)s failed: %(reason)s"),
    R.DATA_TIMEOUT: _("Data backup #%(pk)s of %(cluster)s has been running for %(value)s minutes, "
                      "longer than the policy's timeout of %(threshold)s minutes."),
    R.LOG_DELAY: _("Log backup of %(cluster)s is %(value)s seconds behind, "
                   "over the policy's alert threshold of %(threshold)s seconds."),
    R.SECONDARY_LOG_DELAY: _("Secondary log backup of %(cluster)s is %(value)s seconds behind, "
                             "over the policy's alert threshold of %(threshold)s seconds."),
    R.LOG_GAP: _("Log backup #%(pk)s of %(cluster)s failed: %(reason)s "
                 "Restore points after %(time)s are missing until log backup runs again."),
    R.NO_DATA_BACKUP: _("No successful data backup of %(scope)s for %(value)s days "
                        "(the policy alerts after %(threshold)s days)."),
    R.SECONDARY_FAILED: _("Secondary backup #%(pk)s of %(cluster)s (data backup #%(source)s) failed: %(reason)s"),
    R.RPO_BREACHED: _("The RPO of tenant %(tenant)s on %(cluster)s is %(value)s minutes, "
                      "over the %(threshold)s minutes allowed."),
    R.RESTORE_FAILED: _("Restore #%(pk)s of tenant %(tenant)s failed: %(reason)s"),
    R.DRILL_FAILED: _("Restore drill #%(run)s of policy %(policy)s failed: %(reason)s"),
    R.STORAGE_FULL: _("Backups use %(value)s %% of storage destination %(destination)s (%(used)s of %(capacity)s), "
                      "over the alert threshold of %(threshold)s %%."),
}
NOTHING_TO_RESTORE = _("Tenant %(tenant)s on %(cluster)s has nothing to restore to: its RPO is breached.")

# A failed restore is looked for this far back by the periodic pass (the
# transition hook finds it at once; this catches a missed hook).
RESTORE_LOOKBACK = timedelta(days=1)


@dataclass
class Finding:
    """A rule's condition holding now on one subject."""

    rule: str
    subject: str
    cluster_id: int | None
    tenant_id: int | None = None
    value: float | None = None
    threshold: float | None = None
    params: dict = field(default_factory=dict)


def _reason(task):
    """A task's failure reason as stored values, said again when read."""
    return {"reason_code": task.failure_code, "reason_params": task.failure_params, "reason_text": task.failure_reason}


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


# --- The rules ---------------------------------------------------------------------------------
# Each: rule(clusters, open_alerts, now) -> {subject: Finding}; ``clusters``
# is None (every cluster) or a list of cluster ids; ``open_alerts`` the
# rule's open alerts in that scope, {subject: Alert}.


def _scoped(queryset, clusters, name="cluster_id"):
    return queryset if clusters is None else queryset.filter(**{f"{name}__in": clusters})


def _latest_ended(model, clusters):
    """The latest ended task of ``model`` of each cluster in scope: one index
    probe per cluster (its cluster/start index; at most one running task is
    skipped)."""
    newest = (model.objects.filter(cluster=OuterRef("pk")).exclude(status=DataBackupStatus.IN_PROGRESS)
              .order_by("-started_at", "-id").values("pk")[:1])
    ids = _scoped(Cluster.objects.order_by(), clusters, "pk").annotate(task=Subquery(newest)).values_list("task", flat=True)
    return [pk for pk in ids if pk is not None]


def _failed_until_later_success(model, prefix, clusters, open_alerts, finding):
    """A task of ``model`` failed, and no later one of its cluster completed:
    the latest ended task of each cluster when it failed, and every open
    alert's task still not followed by a success."""
    found = {}
    latest = model.objects.filter(pk__in=_latest_ended(model, clusters), status=DataBackupStatus.FAILED)
    for task in latest.select_related("cluster"):
        found[f"{prefix}:{task.pk}"] = finding(task)
    still = [int(s.split(":")[1]) for s in open_alerts if s not in found and s.split(":")[1].isdigit()]
    for task in model.objects.filter(pk__in=still).select_related("cluster"):
        later = model.objects.filter(cluster_id=task.cluster_id, started_at__gt=task.started_at,
                                     status=DataBackupStatus.COMPLETED)
        if not later.exists():
            found[f"{prefix}:{task.pk}"] = finding(task)
    return found


def data_failed_finding(task):
    """The data_failed finding of a failed data backup (its cluster selected)."""
    return Finding(R.DATA_FAILED, f"data:{task.pk}", task.cluster_id, task.tenant_id,
                   params={"pk": task.pk, "cluster": task.cluster.name, **_reason(task)})


def secondary_failed_finding(task):
    """The secondary_failed finding of a failed secondary data backup (its cluster selected)."""
    return Finding(R.SECONDARY_FAILED, f"secondary:{task.pk}", task.cluster_id, task.tenant_id,
                   params={"pk": task.pk, "source": task.source_id, "cluster": task.cluster.name, **_reason(task)})


def data_failed(clusters, open_alerts, now):
    return _failed_until_later_success(DataBackupTask, "data", clusters, open_alerts, data_failed_finding)


def secondary_failed(clusters, open_alerts, now):
    return _failed_until_later_success(SecondaryDataBackupTask, "secondary", clusters, open_alerts,
                                       secondary_failed_finding)


def data_timeout(clusters, open_alerts, now):
    found = {}
    running = _scoped(DataBackupTask.objects.filter(status=DataBackupStatus.IN_PROGRESS), clusters)
    default = BackupPolicy._meta.get_field("data_backup_timeout_minutes").default
    for task in running.select_related("cluster", "policy"):
        limit = task.policy.data_backup_timeout_minutes if task.policy else default
        minutes = (now - task.started_at).total_seconds() / 60
        if minutes > limit:
            found[f"data:{task.pk}"] = Finding(R.DATA_TIMEOUT, f"data:{task.pk}", task.cluster_id, task.tenant_id,
                                               value=int(minutes), threshold=limit,
                                               params={"pk": task.pk, "cluster": task.cluster.name})
    return found


def log_delay(clusters, open_alerts, now):
    found = {}
    live = _scoped(LogBackupTask.objects.filter(status__in=LogBackupTask.ALIVE, latest_point__isnull=False), clusters)
    for task in live.select_related("cluster", "policy"):
        limit = task.policy.log_delay_threshold_seconds if task.policy else DEFAULT_LOG_DELAY_THRESHOLD
        seconds = (now - task.latest_point).total_seconds()
        if seconds > limit:
            subject = f"cluster:{task.cluster_id}"
            found[subject] = Finding(R.LOG_DELAY, subject, task.cluster_id, task.tenant_id, value=int(seconds),
                                     threshold=limit, params={"pk": task.pk, "cluster": task.cluster.name})
    return found


def secondary_log_delay(clusters, open_alerts, now):
    found = {}
    live = _scoped(SecondaryLogBackupTask.objects.filter(status__in=SecondaryLogBackupTask.ALIVE,
                                                         latest_point__isnull=False), clusters)
    for task in live.select_related("cluster", "source__policy"):
        policy = task.source.policy
        limit = policy.log_delay_threshold_seconds if policy else DEFAULT_LOG_DELAY_THRESHOLD
        seconds = (now - task.latest_point).total_seconds()
        if seconds > limit:
            subject = f"cluster:{task.cluster_id}"
            found[subject] = Finding(R.SECONDARY_LOG_DELAY, subject, task.cluster_id, value=int(seconds),
                                     threshold=limit, params={"pk": task.pk, "cluster": task.cluster.name})
    return found


def log_gap(clusters, open_alerts, now):
    """The cluster's latest log backup failed: a gap in what can be restored
    opened, and it stays open until log backup runs (in progress) again."""
    newest = LogBackupTask.objects.filter(cluster=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    ids = _scoped(Cluster.objects.order_by(), clusters, "pk").annotate(task=Subquery(newest)).values_list("task", flat=True)
    found = {}
    for task in LogBackupTask.objects.filter(pk__in=[pk for pk in ids if pk]).select_related("cluster"):
        subject = f"cluster:{task.cluster_id}"
        holds = task.status == LogBackupStatus.FAILED or (
            subject in open_alerts and task.status != LogBackupStatus.IN_PROGRESS)
        if holds:
            previous = open_alerts.get(subject)
            params = previous.params if previous is not None and task.status != LogBackupStatus.FAILED else {
                "pk": task.pk, "cluster": task.cluster.name, "time": _local(task.latest_point or task.ended_at),
                **_reason(task)}
            found[subject] = Finding(R.LOG_GAP, subject, task.cluster_id, task.tenant_id, params=params)
    return found


def no_data_backup(clusters, open_alerts, now):
    """No data backup completed within the policy's ``no_backup_alert_days``
    (counted from the policy's creation when there was none)."""
    found = {}
    policies = _scoped(BackupPolicy.objects.filter(state=PolicyState.ACTIVE, no_backup_alert_days__isnull=False), clusters)
    completed = DataBackupTask.objects.filter(cluster=OuterRef("cluster_id"), status=DataBackupStatus.COMPLETED)
    newest = {
        "cluster": completed.order_by("-started_at", "-id").values("ended_at")[:1],
        "tenant": completed.filter(tenant=OuterRef("tenant_id")).order_by("-started_at", "-id").values("ended_at")[:1],
    }
    for scope, tenant_null in (("cluster", True), ("tenant", False)):
        for policy in policies.filter(tenant__isnull=tenant_null).annotate(last=Subquery(newest[scope])).select_related(
                "cluster", "tenant"):
            since = policy.last or policy.created_at
            days = (now - since).total_seconds() / 86400
            if days > policy.no_backup_alert_days:
                subject = f"policy:{policy.pk}"
                found[subject] = Finding(
                    R.NO_DATA_BACKUP, subject, policy.cluster_id, policy.tenant_id, value=int(days),
                    threshold=policy.no_backup_alert_days,
                    params={"pk": policy.pk, "scope": f"{policy.cluster.name}/{policy.tenant.name}" if policy.tenant_id
                            else policy.cluster.name})
    return found


def rpo_breached(clusters, open_alerts, now):
    """Tenants whose RPO is breached (intervals.judge, as the recovery page and
    the overview judge it), from the intervals' newest ends read at once."""
    thresholds = {}
    for row in _scoped(BackupPolicy.objects.filter(state=PolicyState.ACTIVE), clusters).values(
            "cluster_id", "tenant_id", "log_delay_threshold_seconds"):
        thresholds.setdefault(row["cluster_id"], {})[row["tenant_id"]] = row["log_delay_threshold_seconds"]
    newest = intervals.newest_points(_scoped(RecoverableInterval.objects.all(), clusters, "tenant__cluster_id"))
    scratch = RestoreDrillRun.objects.filter(scratch_tenant__isnull=False).values("scratch_tenant")
    found = {}
    for tenant in _scoped(Tenant.objects.exclude(pk__in=scratch), clusters).select_related("cluster"):
        own = thresholds.get(tenant.cluster_id, {})
        rpo = intervals.judge(newest.get(tenant.pk), own.get(tenant.pk, own.get(None, DEFAULT_LOG_DELAY_THRESHOLD)), now)
        if rpo.state == "breached":
            subject = f"tenant:{tenant.pk}"
            found[subject] = Finding(
                R.RPO_BREACHED, subject, tenant.cluster_id, tenant.pk,
                value=None if rpo.seconds is None else int(rpo.seconds // 60), threshold=rpo.breached_after // 60,
                params={"tenant": tenant.name, "cluster": tenant.cluster.name})
    return found


def restore_failed(clusters, open_alerts, now):
    """A restore (not a drill's: those are the drill rule's) failed and no
    later restore of the same tenant completed."""
    drills = RestoreDrillRun.objects.filter(restore_task__isnull=False).values("restore_task")
    recent = _scoped(RestoreTask.objects.filter(status=DataBackupStatus.FAILED, ended_at__gte=now - RESTORE_LOOKBACK),
                     clusters).exclude(pk__in=drills).values_list("pk", flat=True)
    ids = set(recent) | {int(s.split(":")[1]) for s in open_alerts if s.split(":")[1].isdigit()}
    failed = list(RestoreTask.objects.filter(pk__in=ids, status=DataBackupStatus.FAILED).select_related("source_tenant"))
    # Made good: a later restore of the same tenant completed.  One read of the
    # completed restores since the oldest of these started (the start-time
    # index), not a probe of each tenant's whole restore history per failure.
    newest_completed = {}
    if failed:
        for tenant_id, started in RestoreTask.objects.filter(
                status=DataBackupStatus.COMPLETED, started_at__gt=min(t.started_at for t in failed),
                source_tenant_id__in={t.source_tenant_id for t in failed}).values_list("source_tenant_id", "started_at"):
            newest_completed[tenant_id] = max(started, newest_completed.get(tenant_id, started))
    found = {}
    for task in failed:
        if newest_completed.get(task.source_tenant_id, task.started_at) > task.started_at:
            continue
        subject = f"restore:{task.pk}"
        found[subject] = Finding(R.RESTORE_FAILED, subject, task.cluster_id, task.source_tenant_id,
                                 params={"pk": task.pk, "tenant": task.source_tenant.name, **_reason(task)})
    return found


def drill_failed(policies, open_alerts, now):
    """A drill policy's latest finished run failed (resolved when a later run
    succeeds).  ``policies``: None (every drill policy) or a list of ids."""
    newest = (RestoreDrillRun.objects.filter(policy=OuterRef("pk"), status__in=[DrillStatus.SUCCEEDED, DrillStatus.FAILED])
              .order_by("-started_at", "-id").values("pk")[:1])
    ids = _scoped(RestoreDrillPolicy.objects.order_by(), policies, "pk").annotate(run=Subquery(newest)).values_list(
        "run", flat=True)
    found = {}
    for run in RestoreDrillRun.objects.filter(pk__in=[pk for pk in ids if pk], status=DrillStatus.FAILED).select_related(
            "policy"):
        subject = f"drill_policy:{run.policy_id}"
        found[subject] = Finding(R.DRILL_FAILED, subject, run.source_cluster_id or run.policy.target_cluster_id,
                                 run.source_tenant_id, params={"run": run.pk, "policy": run.policy_name, **_reason(run)})
    return found


def storage_used(destination_ids, now=None):
    """{destination id: bytes its kept backups use now}: completed data backups
    on their policy's destination and completed secondary copies on theirs,
    while their set is not deleted — what the cluster page's storage chart
    counts on its last day (both read the storage rollups, engine/rollups.py)."""
    today = rollups.day_of(now or timezone.now())
    return {destination: series[-1] for destination, series in rollups.storage_used(destination_ids, [today]).items()}


def storage_full(open_alerts, now):
    """Destinations with a capacity whose kept backups use more than
    ``STORAGE_ALERT_PERCENT`` of it (a destination is no one cluster's)."""
    from django.conf import settings

    destinations = list(StorageDestination.objects.filter(capacity_bytes__isnull=False).order_by("pk"))
    used = storage_used([d.pk for d in destinations], now)
    threshold = settings.STORAGE_ALERT_PERCENT
    found = {}
    for destination in destinations:
        percent = used[destination.pk] * 100 / destination.capacity_bytes
        if percent > threshold:
            subject = f"destination:{destination.pk}"
            found[subject] = Finding(R.STORAGE_FULL, subject, None, None, round(percent, 1), threshold, {
                "destination": destination.name, "used_bytes": used[destination.pk],
                "capacity_bytes": destination.capacity_bytes})
    return found


def evaluate_storage(now=None):
    """Evaluate the storage rule over every destination."""
    counts = {"opened": 0, "resolved": 0}
    now = now or timezone.now()
    open_alerts = _open_alerts([R.STORAGE_FULL])[R.STORAGE_FULL]
    _reconcile(R.STORAGE_FULL, storage_full(open_alerts, now), open_alerts, now, counts)
    return counts


# The rules of a cluster's state (evaluated per cluster or for all).
CLUSTER_RULES = {
    R.DATA_FAILED: data_failed,
    R.DATA_TIMEOUT: data_timeout,
    R.LOG_DELAY: log_delay,
    R.SECONDARY_LOG_DELAY: secondary_log_delay,
    R.LOG_GAP: log_gap,
    R.NO_DATA_BACKUP: no_data_backup,
    R.SECONDARY_FAILED: secondary_failed,
    R.RPO_BREACHED: rpo_breached,
    R.RESTORE_FAILED: restore_failed,
}


# --- The lifecycle -----------------------------------------------------------------------------


def open_or_update(finding, now):
    """Open ``finding``'s alert, or update the one a concurrent evaluation
    just opened (an alert already open is updated by ``update_moved``).
    Returns the alert it opened, or None."""
    values = {"value": finding.value, "threshold": finding.threshold, "params": finding.params}
    with transaction.atomic():
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    rule=finding.rule, subject=finding.subject, severity=SEVERITY[finding.rule], status=OPEN,
                    cluster_id=finding.cluster_id, tenant_id=finding.tenant_id, started_at=now, **values)
        except IntegrityError:
            # Another evaluation opened it first (alert_one_open_per_subject): update that one.
            if not Alert.objects.filter(rule=finding.rule, subject=finding.subject, status=OPEN).update(
                    updated_at=now, **values):
                raise
            return None
        notify.alert_event(alert, "opened")
    log.info("alert opened: %s %s (#%s)", finding.rule, finding.subject, alert.pk)
    return alert


def moved(alert, finding):
    """Whether an open alert's value, threshold or details differ from its finding's now."""
    return (alert.value, alert.threshold, alert.params) != (finding.value, finding.threshold, finding.params)


def update_moved(pairs, now, batch=500):
    """Write the findings' values onto their open alerts, [(alert, finding)]:
    one UPDATE per ``batch`` of them (a pass over the fleet moves about a
    thousand), and only onto those still open (a concurrent pass may have
    resolved one). Each column is a CASE cast to its type, as bulk_update
    writes it: a CASE of NULLs alone is text to PostgreSQL."""
    for first in range(0, len(pairs), batch):
        chunk = pairs[first:first + batch]

        def column(name, field, chunk=chunk):
            return Cast(Case(*[When(pk=alert.pk, then=Value(getattr(finding, name), output_field=field))
                               for alert, finding in chunk], default=F(name)), field)

        Alert.objects.filter(pk__in=[alert.pk for alert, _ in chunk], status=OPEN).update(
            updated_at=now, value=column("value", FloatField()), threshold=column("threshold", FloatField()),
            params=column("params", JSONField()))


def resolve(alert, now):
    """Resolve ``alert`` if it is still open; True for the one caller that did."""
    with transaction.atomic():
        ended = max(now, alert.started_at)
        if not Alert.objects.filter(pk=alert.pk, status=OPEN).update(status=RESOLVED, ended_at=ended, updated_at=now):
            return False
        alert.status, alert.ended_at = RESOLVED, ended
        notify.alert_event(alert, "resolved")
    log.info("alert resolved: %s %s (#%s)", alert.rule, alert.subject, alert.pk)
    return True


def _reconcile(rule, found, open_alerts, now, counts):
    update_moved([(open_alerts[subject], finding) for subject, finding in found.items()
                  if subject in open_alerts and moved(open_alerts[subject], finding)], now)
    for subject, finding in found.items():
        if subject not in open_alerts and open_or_update(finding, now) is not None:
            counts["opened"] += 1
    for subject, alert in open_alerts.items():
        if subject not in found and resolve(alert, now):
            counts["resolved"] += 1


def _open_alerts(rules, clusters=None, subjects=None):
    by_rule = {rule: {} for rule in rules}
    alerts = _scoped(Alert.objects.filter(status=OPEN, rule__in=rules), clusters)
    if subjects is not None:
        alerts = alerts.filter(subject__in=subjects)
    for alert in alerts.order_by():
        by_rule[alert.rule][alert.subject] = alert
    return by_rule


def _evaluate_clusters(clusters, now, counts):
    open_alerts = _open_alerts(list(CLUSTER_RULES), clusters)
    for rule, check in CLUSTER_RULES.items():
        _reconcile(rule, check(clusters, open_alerts[rule], now), open_alerts[rule], now, counts)


def evaluate_cluster(cluster_id, now=None):
    """Evaluate every cluster rule for one cluster (after one of its tasks
    ended).  Returns {"opened": n, "resolved": n}."""
    counts = {"opened": 0, "resolved": 0}
    _evaluate_clusters([cluster_id], now or timezone.now(), counts)
    return counts


def evaluate_drills(policy_id=None, now=None):
    """Evaluate the drill rule for one drill policy (None: all)."""
    counts = {"opened": 0, "resolved": 0}
    now = now or timezone.now()
    subjects = None if policy_id is None else [f"drill_policy:{policy_id}"]
    open_alerts = _open_alerts([R.DRILL_FAILED], subjects=subjects)[R.DRILL_FAILED]
    policies = None if policy_id is None else [policy_id]
    found = drill_failed(policies, open_alerts, now)
    # (A deleted drill policy's open alert is found no more: it resolves.)
    _reconcile(R.DRILL_FAILED, found, open_alerts, now, counts)
    return counts


def evaluate_all(now=None):
    """The periodic pass (beat task ``evaluate_alerts``): every rule, every
    cluster, from the current state only.  Returns {"opened": n, "resolved": n}."""
    now = now or timezone.now()
    counts = {"opened": 0, "resolved": 0}
    _evaluate_clusters(None, now, counts)
    for name, value in [*evaluate_drills(None, now).items(), *evaluate_storage(now).items()]:
        counts[name] += value
    return counts


# --- Evaluation on the transitions --------------------------------------------------------------


def _task_moved(kind, pk, status):
    """After a task's final move (or a log backup's return to in progress)
    committed: evaluate its cluster's rules."""
    model = model_for(kind)
    cluster_id = model.objects.filter(pk=pk).values_list("cluster_id", flat=True).first()
    if cluster_id is not None:
        evaluate_cluster(cluster_id)


def drill_ended(policy_id):
    """After a restore drill of ``policy_id`` ended (engine/drills.py): its
    rule, never raising (the drill's end stands; the periodic pass catches up)."""
    if policy_id is None:
        return
    try:
        evaluate_drills(policy_id)
    except Exception:
        log.exception("alert evaluation after a drill of policy %s failed", policy_id)


HOOKS = {kind: partial(_task_moved, kind)
         for kind in (TaskKind.DATA, TaskKind.SECONDARY_DATA, TaskKind.LOG, TaskKind.SECONDARY_LOG, TaskKind.RESTORE)}
for _kind, _hook in HOOKS.items():
    on_ended(_kind, _hook)
# A log backup archiving again closes the gap its failure opened, then and
# not at the next periodic pass.
on_moved(TaskKind.LOG, LogBackupStatus.IN_PROGRESS, HOOKS[TaskKind.LOG])


# --- Saying it ----------------------------------------------------------------------------------


def _number(value):
    """A measured value as said: whole numbers without a decimal point."""
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def describe(alert):
    """What ``alert`` is about, in the reader's language."""
    params = dict(alert.params or {})
    if "reason_code" in params or "reason_text" in params:
        params["reason"] = outcomes.describe(params.pop("reason_code", ""), params.pop("reason_params", None),
                                             params.pop("reason_text", ""))
    for name in ("used", "capacity"):  # sizes said in the reader's units
        if f"{name}_bytes" in params:
            params[name] = filesizeformat(params.pop(f"{name}_bytes"))
    params["value"], params["threshold"] = _number(alert.value), _number(alert.threshold)
    text = TEXTS.get(alert.rule)
    if alert.rule == R.RPO_BREACHED and alert.value is None:
        text = NOTHING_TO_RESTORE
    if text is None:
        return alert.get_rule_display()
    try:
        return str(text) % params
    except (KeyError, TypeError, ValueError):
        return alert.get_rule_display()


notify.describe_alerts_with(describe)
