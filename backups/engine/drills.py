"""Restore drills (恢复抽检): run one, check it when its restore ends, and
remove its scratch tenant once kept long enough.

``run_drill`` is what beat does when a drill policy comes due (and what
"Run now" does): it writes the run first, under the unique constraint on
(policy, due time), so a due time that arrives twice — two beat messages,
a message delivered again, two workers — makes one run and the second
caller finds it.  It then picks a covered cluster's tenant that has a
recoverable interval and a random moment inside it, and starts the restore
into a scratch tenant through ``restores.start_restore``, which keeps every
refusal in one place; a refusal, or nothing to pick, ends the run failed
with the reason.

When the restore ends (the state machine calls ``restore_ended`` after the
commit of its final move, ``transitions.on_ended``) the run is checked and
ends succeeded, with its measured recovery time (the restore's start to its
success, wall clock), or failed with the restore's own reason.
``sweep_drills`` (a static beat entry) finishes any run whose hook was lost
and removes the scratch tenants past their keep time.
"""

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from clusters.models import Cluster, Tenant

from ..choices import DataBackupStatus, DrillStatus, TaskKind
from ..models import RecoverableInterval, RestoreDrillPolicy, RestoreDrillRun, RestoreTask
from . import alerting, audit, outcomes, restores, schedules
from .outcomes import phrase as _
from .services import ActionRefused
from .transitions import on_ended

# How many runs the sweep finishes or cleans up per turn.
SWEEP_BATCH = 100
# A drill still without its restore this long after it was written was lost on the way.
STRANDED_AFTER = timedelta(minutes=10)


def covered_clusters(policy):
    """The clusters a drill policy picks its tenant from."""
    return Cluster.objects.all() if policy.all_clusters else policy.clusters.all()


def scratch_tenant_ids():
    """Tenants made by drills: never picked as a source (they restore nothing real)."""
    return RestoreDrillRun.objects.filter(scratch_tenant__isnull=False).values("scratch_tenant")


def candidates(policy, now=None):
    """{tenant id: [(start, end)]}: the recoverable intervals of the covered
    clusters' tenants, live ends read from their rounds (intervals.current's rule)."""
    now = now or timezone.now()
    rows = (
        RecoverableInterval.objects.filter(cluster__in=covered_clusters(policy))
        .exclude(tenant__in=scratch_tenant_ids())
        .select_related("round")
        .order_by("tenant_id", "start")
    )
    found = {}
    for row in rows:
        end = row.effective_end
        if end is None or end < row.start:
            continue  # its round has not archived up to the set yet
        found.setdefault(row.tenant_id, []).append((row.start, min(end, now)))
    return found


def pick(policy, rng, now=None):
    """(tenant, moment) at random, or None when no covered tenant can be restored."""
    found = candidates(policy, now)
    if not found:
        return None
    tenant_id = rng.choice(sorted(found))
    start, end = rng.choice(found[tenant_id])
    moment = start + timedelta(seconds=int(rng.random() * max(0.0, (end - start).total_seconds())))
    return Tenant.objects.select_related("cluster").get(pk=tenant_id), moment


def scratch_name(run, target):
    """``drill_<run id>``, or with a suffix if a tenant (or a restore) already has that name on the target."""
    base = f"drill_{run.pk}"
    taken = set(Tenant.objects.filter(cluster=target, name__startswith=base).values_list("name", flat=True))
    taken |= set(RestoreTask.objects.filter(target_cluster=target, new_tenant_name__startswith=base)
                 .exclude(status=DataBackupStatus.FAILED).values_list("new_tenant_name", flat=True))
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def run_drill(policy_id, due_at, rng=None, user=None, now=None):
    """Run policy ``policy_id``'s drill for ``due_at`` once.  Returns the run,
    or None when there is no such policy or this due time already has its run."""
    now = now or timezone.now()
    policy = RestoreDrillPolicy.objects.select_related("target_cluster").filter(pk=policy_id).first()
    if policy is None:
        return None
    rng = rng or random.SystemRandom()
    try:
        with transaction.atomic():
            run = RestoreDrillRun.objects.create(policy=policy, policy_name=policy.name, due_at=due_at, started_at=now,
                                                 target_cluster=policy.target_cluster)
            if user is not None:
                audit.record(user, audit.Action.DRILL_RUN_NOW, policy,
                             message=outcomes.audit("drill_run", run=run.pk, name=policy.name))
    except IntegrityError:
        return None  # this due time has its run already (the constraint one_drill_per_due_time)
    picked = pick(policy, rng, now)
    if picked is None:
        _fail(run, outcomes.failure("drill_no_tenant"), now)
        return run
    tenant, moment = picked
    run.source_cluster, run.source_tenant, run.restore_point = tenant.cluster, tenant, moment
    try:
        with transaction.atomic():
            run.scratch_tenant_name = scratch_name(run, policy.target_cluster)
            task = restores.start_restore(
                tenant, moment, policy.target_cluster, run.scratch_tenant_name, None,
                cause=outcomes.cause("drill_restore", pk=run.pk, policy=policy.name),
            )
            run.restore_task = task
            run.save(update_fields=["source_cluster", "source_tenant", "restore_point", "scratch_tenant_name", "restore_task"])
    except ActionRefused as refused:
        run.save(update_fields=["source_cluster", "source_tenant", "restore_point"])
        _fail(run, refused.message, timezone.now())
    return run


def _fail(run, reason, now):
    """End a running drill failed for ``reason`` (a code, or a refusal's text)."""
    RestoreDrillRun.objects.filter(pk=run.pk, status=DrillStatus.RUNNING).update(
        status=DrillStatus.FAILED, ended_at=max(now, run.started_at), **_stored_failure(reason))
    run.refresh_from_db()
    alerting.drill_ended(run.policy_id)


def restore_ended(restore_id, status=None):
    """Check and finish the drill whose restore ``restore_id`` ended (once: a conditional UPDATE)."""
    run = RestoreDrillRun.objects.filter(restore_task_id=restore_id, status=DrillStatus.RUNNING).first()
    if run is None:
        return None
    restore = RestoreTask.objects.select_related("target_cluster").get(pk=restore_id)
    if restore.status == DataBackupStatus.IN_PROGRESS:
        return None
    values = {"ended_at": restore.ended_at}
    if restore.status == DataBackupStatus.FAILED:
        # The restore's own reason, as it stored it.
        values.update(status=DrillStatus.FAILED, failure_code=restore.failure_code, failure_params=restore.failure_params,
                      failure_reason=restore.failure_reason)
    else:
        scratch = Tenant.objects.filter(pk=restore.new_tenant_id, cluster_id=restore.target_cluster_id).first()
        if scratch is None:
            values.update(status=DrillStatus.FAILED, **_stored_failure(outcomes.failure(
                "drill_check_failed", tenant=restore.new_tenant_name, cluster=restore.target_cluster.name, pk=restore.pk)))
        else:
            checked = outcomes.cause("drill_checked", tenant=scratch.name, cluster=restore.target_cluster.name,
                                     time=timezone.localtime(restore.restore_point).strftime("%Y-%m-%d %H:%M:%S"))
            values.update(status=DrillStatus.SUCCEEDED, scratch_tenant=scratch, check_code=checked.code,
                          check_params=checked.params,
                          recovery_seconds=(restore.ended_at - restore.started_at).total_seconds())
    finished = RestoreDrillRun.objects.filter(pk=run.pk, status=DrillStatus.RUNNING).update(**values)
    run.refresh_from_db()
    if finished:
        alerting.drill_ended(run.policy_id)
    return run


def _stored_failure(reason):
    code, params, text = outcomes.stored(reason)
    return {"failure_code": code, "failure_params": params, "failure_reason": text}


on_ended(TaskKind.RESTORE, restore_ended)


def sweep_drills(now=None):
    """Finish runs whose restore ended without its hook (or that never got
    their restore), and remove scratch tenants past their keep time.
    Returns {"finished": n, "removed": n}."""
    now = now or timezone.now()
    finished = 0
    ended = RestoreDrillRun.objects.filter(status=DrillStatus.RUNNING, restore_task__isnull=False).exclude(
        restore_task__status=DataBackupStatus.IN_PROGRESS).values_list("restore_task_id", flat=True)[:SWEEP_BATCH]
    for restore_id in list(ended):
        if restore_ended(restore_id):
            finished += 1
    # A drill whose process died between writing it and starting its restore.
    stranded = RestoreDrillRun.objects.filter(status=DrillStatus.RUNNING, restore_task__isnull=True,
                                              started_at__lt=now - STRANDED_AFTER)
    for run in stranded[:SWEEP_BATCH]:
        _fail(run, outcomes.failure("worker_lost", time=timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M:%S")), now)
        finished += 1
    removed = 0
    due = RestoreDrillRun.objects.filter(scratch_tenant__isnull=False, removed_at__isnull=True).select_related("policy")
    for run in due.order_by("ended_at")[:SWEEP_BATCH]:
        keep = run.policy.keep_hours if run.policy_id else 0
        if run.ended_at + timedelta(hours=keep) > now:
            continue
        with transaction.atomic():
            # Claimed by a conditional UPDATE: two sweeps remove a tenant once.
            if RestoreDrillRun.objects.filter(pk=run.pk, removed_at__isnull=True).update(removed_at=now):
                Tenant.objects.filter(pk=run.scratch_tenant_id).delete()
                removed += 1
    return {"finished": finished, "removed": removed}


# --- What beat and the pages do -------------------------------------------------------------


def due_time(policy, now=None):
    """The newest scheduled moment of ``policy`` at or before ``now`` (a beat
    message that arrives late still names the due time it was sent for)."""
    local = timezone.localtime(now or timezone.now())
    slot = local.replace(hour=policy.run_at.hour, minute=policy.run_at.minute, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    days = {int(day) for day in policy.schedule_days} or set(range(1, 8))
    for _back in range(7):
        if slot.isoweekday() in days:
            return slot
        slot -= timedelta(days=1)
    return slot


def run_scheduled_drill(policy_id, now=None):
    """Beat's entry for a drill policy.  Returns what happened."""
    policy = RestoreDrillPolicy.objects.filter(pk=policy_id).first()
    if policy is None or not policy.enabled:
        return "policy gone or disabled"
    run = run_drill(policy.pk, due_time(policy, now), now=now)
    if run is None:
        return "already ran for this due time"
    return f"drill #{run.pk}: {run.status}"


def run_now(pk, user):
    """An operator's "Run now": a drill due this second.  Returns (the run, the message to show)."""
    if not RestoreDrillPolicy.objects.filter(pk=pk).exists():
        raise ActionRefused(_("Restore drill policy #%(pk)s does not exist.") % {"pk": pk})
    now = timezone.now().replace(microsecond=0)
    run = run_drill(pk, now, user=user, now=now)
    if run is None:
        raise ActionRefused(_("A restore drill of this policy started this second already; try again."))
    if run.status == DrillStatus.FAILED:
        return run, _("Restore drill #%(pk)s failed: %(reason)s") % {"pk": run.pk, "reason": outcomes.failure_of(run)}
    return run, _("Restore drill #%(pk)s started: %(tenant)s to %(time)s into %(cluster)s / %(new)s.") % {
        "pk": run.pk, "tenant": run.source_tenant.name, "cluster": run.target_cluster.name, "new": run.scratch_tenant_name,
        "time": timezone.localtime(run.restore_point).strftime("%Y-%m-%d %H:%M:%S"),
    }


# --- Policies: saved, enabled, disabled, deleted (each audited) -------------------------


def save_policy(form, user):
    """Create or edit a drill policy from a valid form, with its beat entry and audit row."""
    with transaction.atomic():
        policy = form.save(commit=False)
        creating = policy.pk is None
        before = None if creating else RestoreDrillPolicy.objects.get(pk=policy.pk)
        old_clusters = [] if creating else list(before.clusters.all())
        if creating:
            policy.created_by = user if user.is_authenticated else None
        policy.save()
        form.save_m2m()
        schedules.sync_drill_task(policy)
        if creating:
            audit.record(user, audit.Action.DRILL_POLICY_CREATE, policy,
                         message=outcomes.audit("drill_policy", pk=policy.pk, name=policy.name))
        else:
            names = [name for name in form.changed_data if name in form.fields] + ["schedule_days"]
            audit.record(user, audit.Action.DRILL_POLICY_EDIT, policy, message=audit.changes(
                before, policy, names, {"clusters": old_clusters}, {"clusters": list(policy.clusters.all())}))
    return policy


def set_enabled(pk, enabled, user):
    with transaction.atomic():
        moved = RestoreDrillPolicy.objects.filter(pk=pk, enabled=not enabled).update(enabled=enabled, updated_at=timezone.now())
        policy = RestoreDrillPolicy.objects.filter(pk=pk).first()
        if policy is None:
            raise ActionRefused(_("Restore drill policy #%(pk)s does not exist.") % {"pk": pk})
        if not moved:
            raise ActionRefused(
                (_("Restore drill policy #%(pk)s is already enabled.") if enabled
                 else _("Restore drill policy #%(pk)s is already disabled.")) % {"pk": pk})
        schedules.sync_drill_task(policy)
        action = audit.Action.DRILL_POLICY_ENABLE if enabled else audit.Action.DRILL_POLICY_DISABLE
        audit.record(user, action, policy, message=outcomes.audit("drill_policy", pk=policy.pk, name=policy.name))
    if enabled:
        return _("Restore drill policy #%(pk)s is enabled: drills run on its schedule.") % {"pk": pk}
    return _("Restore drill policy #%(pk)s is disabled: no drills until it is enabled.") % {"pk": pk}


def enable_policy(pk, user):
    return set_enabled(pk, True, user)


def disable_policy(pk, user):
    return set_enabled(pk, False, user)


def delete_policy(pk, user):
    """Delete a drill policy and its beat entry; its runs stay, under its name."""
    with transaction.atomic():
        policy = RestoreDrillPolicy.objects.select_for_update().filter(pk=pk).first()
        if policy is None:
            raise ActionRefused(_("Restore drill policy #%(pk)s does not exist.") % {"pk": pk})
        audit.record(user, audit.Action.DRILL_POLICY_DELETE, policy,
                     message=outcomes.audit("drill_policy", pk=policy.pk, name=policy.name))
        entry = policy.periodic_task
        policy.delete()
        if entry is not None:
            entry.delete()
    return _("Restore drill policy #%(pk)s deleted; its drills stay in the list.") % {"pk": pk}


def last_runs(policies):
    """{policy id: its newest run} for the list, in one query (a subquery per policy picks the run)."""
    newest = RestoreDrillRun.objects.filter(policy_id=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    ids = RestoreDrillPolicy.objects.filter(pk__in=[p.pk for p in policies]).annotate(last=Subquery(newest)).values("last")
    return {run.policy_id: run for run in RestoreDrillRun.objects.filter(pk__in=ids).select_related("source_tenant")}
