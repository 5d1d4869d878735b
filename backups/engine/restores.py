"""Restores (恢复任务): starting one, and the simulated machinery walking it.

``start_restore`` refuses, with the reason on the form field to blame and
nothing written, a restore point outside every recoverable interval of the
source tenant, a new tenant name that exists on the target cluster, a target
cluster that is not running, and a second restore into the same new tenant
(a unique constraint, so two operators racing get one winner).  A restore
never overwrites a tenant: it only creates one.

``advance_restore`` is one step of a running restore: it moves through the
real phases (shared/DOMAIN.md) with finished bytes proportional to the sizes
of the backups it reads, and fails as the real one does — a backup set
deleted meanwhile, not enough log for the point (-4018), the storage
unreachable.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.choices import ClusterStatus
from clusters.models import Tenant

from ..choices import DataBackupStatus, RestorePhase
from ..models import BackupSet, DataBackupTask, RestoreTask, SecondaryDataBackupTask
from . import audit, dispatch, intervals, outcomes, retention, simulation
from .dispatch import RUN_RESTORE
from .outcomes import phrase as _  # gettext that remembers what it said, for the audit trail
from .services import ActionRefused, _require_broker, refusal_from
from .simulation import THROUGHPUT, failing_on_error, rng, speed
from .transitions import IllegalTransition, record_created, transition

# The phases a restore walks, in order, and the share of its time each takes.
PHASES = [
    (RestorePhase.CREATE_TENANT, 0.05),
    (RestorePhase.WAIT_TENANT_RESTORE_FINISH, 0.05),
    (RestorePhase.RESTORE_PRE, 0.05),
    (RestorePhase.RESTORE_CREATE_INIT_LS, 0.05),
    (RestorePhase.RESTORE_WAIT_LS, 0.65),  # data restored and log replayed: the bytes move here
    (RestorePhase.POST_CHECK, 0.1),
    (RestorePhase.UPGRADE, 0.05),
]
MIN_RESTORE_SECONDS = 120
STEP_SECONDS = 1.0
# How a simulated restore ends, planned at creation: share of each failure.
FAILURE_SHARES = {"log_missing": 0.04, "storage_unreachable": 0.04}


def check_restore(source_tenant, moment, target_cluster, new_tenant_name):
    """Raise ActionRefused saying why this restore may not start; return (answer, moment)."""
    if moment is None:  # "latest": the newest recoverable moment
        moment = intervals.newest_point(source_tenant.pk)
        if moment is None:
            raise ActionRefused(_("Tenant %(tenant)s has no recoverable moment to restore to.") % {"tenant": source_tenant.name},
                                "restore_point")
    found = intervals.can_restore(source_tenant.pk, moment)
    if not found.recoverable:
        nearest = [m for m in (found.before, found.after) if m is not None]
        raise ActionRefused(
            _("The restore point is not in any recoverable interval of the tenant (nearest: %(nearest)s).")
            % {"nearest": ", ".join(timezone.localtime(m).strftime("%Y-%m-%d %H:%M:%S") for m in nearest) or "—"},
            "restore_point",
        )
    if target_cluster.status != ClusterStatus.RUNNING:
        raise ActionRefused(
            _("The target cluster %(cluster)s is %(status)s: a restore needs a running cluster.")
            % {"cluster": target_cluster.name, "status": outcomes.lowered(ClusterStatus(target_cluster.status).label)},
            "target_cluster",
        )
    if Tenant.objects.filter(cluster=target_cluster, name=new_tenant_name).exists():
        raise ActionRefused(
            _("Tenant %(tenant)s already exists on %(cluster)s: a restore never overwrites a tenant.")
            % {"tenant": new_tenant_name, "cluster": target_cluster.name},
            "new_tenant_name",
        )
    if RestoreTask.objects.filter(target_cluster=target_cluster, new_tenant_name=new_tenant_name).exclude(
        status=DataBackupStatus.FAILED
    ).exists():
        raise ActionRefused(_("A restore into this new tenant already exists on the target cluster."), "new_tenant_name")
    return found, moment


def used_backups(found, moment):
    """The backups a restore to ``moment`` reads: the newest usable one at or
    before it and every one it builds on in its set, oldest (the full) first."""
    tasks = DataBackupTask.objects.filter(pk__in=found.interval.set_ids, ended_at__lte=moment).order_by("-ended_at")
    newest = tasks.first()
    if newest is None:
        return []
    chain = DataBackupTask.objects.filter(
        backup_set_id=newest.backup_set_id, status=DataBackupStatus.COMPLETED, started_at__lte=newest.started_at
    ).order_by("started_at")
    return list(chain)


def reads_from(destination, round_ids, backups):
    """What a restore reads, by destination (an interval's: None for the
    primary, else a secondary destination's id): the data backups always;
    from the primary, its log archive rounds; from a secondary destination,
    that destination, the copies of the backups there and its log copies
    (so ``round_ids`` names log backup tasks only)."""
    fields = {"data_task_ids": [b.pk for b in backups]}
    if destination is None:
        return fields | {"round_ids": list(round_ids)}
    copies = dict(SecondaryDataBackupTask.objects.filter(
        source__in=backups, destination_id=destination, status=DataBackupStatus.COMPLETED,
    ).order_by("ended_at", "pk").values_list("source_id", "pk"))
    return fields | {
        "source_destination_id": destination,
        "secondary_data_task_ids": [copies[b.pk] for b in backups if b.pk in copies],
        "secondary_round_ids": list(round_ids),
    }


def stored_reads(row, backups):
    """``reads_from`` for a stored interval (models.RecoverableInterval)."""
    round_id = row.secondary_round_id if row.destination_id is not None else row.round_id
    return reads_from(row.destination_id, [round_id] if round_id else [], backups)


def start_restore(source_tenant, moment, target_cluster, new_tenant_name, user, *, outcome=None, cause=None):
    """Start a restore (``moment`` None: the latest point); refused with a reason otherwise.

    ``cause``: why it was created (default: an operator's request); a
    restore started by the machinery (a drill, no ``user``) is no one's
    action, so it is not in the audit trail."""
    _require_broker()
    try:
        with transaction.atomic():
            found, moment = check_restore(source_tenant, moment, target_cluster, new_tenant_name)
            backups = used_backups(found, moment)
            # Lock the sets it reads before counting on them: a cleanup deleting
            # them now either finished first (and they are expired here) or
            # waits and then sees this restore running (simulation._run_cleanup).
            sets = BackupSet.objects.select_for_update().filter(pk__in={b.backup_set_id for b in backups})
            if not backups or any(expired is not None for expired in sets.values_list("expired_at", flat=True)):
                raise ActionRefused(
                    _("A backup set this restore needs has just been deleted by a cleanup; choose another restore point."),
                    "restore_point",
                )
            now = timezone.now()
            task = RestoreTask.objects.create(
                **reads_from(found.interval.destination, found.interval.round_ids, backups),
                cluster_id=source_tenant.cluster_id,
                source_tenant=source_tenant,
                restore_point=moment,
                target_cluster=target_cluster,
                new_tenant_name=new_tenant_name,
                started_at=now,
                total_bytes=sum(b.size_bytes for b in backups) or 1,
                requested_by=user if user is not None and user.is_authenticated else None,
                sim_outcome=outcome or plan_outcome(),
            )
            record_created(task, cause=cause or outcomes.cause("restore_requested"), actor=user)
            if user is not None:
                audit.record(
                    user, audit.Action.RESTORE_START, task,
                    message=outcomes.audit(
                        "restore_start", tenant=source_tenant.name, time=timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S"),
                        cluster=target_cluster.name, new=new_tenant_name,
                    ),
                )
            dispatch.enqueue(RUN_RESTORE, task.pk)
    except IntegrityError as error:
        raise refusal_from(error, _("The restore could not be started; try again.")) from error
    return task


def plan_outcome():
    if simulation.failure_rate() <= 0:  # SIM_FAILURE_RATE=0: the simulated machinery fails nothing
        return outcomes.COMPLETED
    roll = rng("restore-plan", timezone.now().isoformat()).random()
    for key, share in FAILURE_SHARES.items():
        if roll < share:
            return key
        roll -= share
    return outcomes.COMPLETED


def duration(task):
    """Simulated seconds a restore takes: its bytes at the simulation's throughput."""
    return max(MIN_RESTORE_SECONDS, task.total_bytes / THROUGHPUT)


def phase_at(share):
    """The phase a restore is in once ``share`` (0..1) of its time has passed."""
    done = 0.0
    for phase, part in PHASES:
        done += part
        if share < done:
            return phase
    return PHASES[-1][0]


def make_tenant(cluster_id, name):
    """The tenant a successful restore leaves on its target cluster, with the
    cluster's recoverable intervals rewritten to cover it (a cluster-level
    backup covers each of its tenants), so its RPO is judged at once and not
    from whenever the cluster's intervals are next rewritten."""
    with transaction.atomic():
        tenant = Tenant.objects.create(cluster_id=cluster_id, name=name)
        intervals.refresh(cluster_id)
    return tenant


def _fail(task, code, now, **values):
    reason = outcomes.failure(code, **values)
    transition(RestoreTask, task.pk, DataBackupStatus.FAILED, cause=reason, failure_reason=reason, now=now,
               phase=RestorePhase.RESTORE_FAIL)


def advance_restore(pk, now=None):
    """One step of a running restore.  Returns the real seconds until the next, or None when it has ended."""
    now = now or timezone.now()
    task = RestoreTask.objects.filter(pk=pk).first()
    if task is None or task.status != DataBackupStatus.IN_PROGRESS:
        return None
    with failing_on_error(RestoreTask, pk, DataBackupStatus.IN_PROGRESS, now):
        return _advance(task, now)


def _advance(task, now):
    total = duration(task)
    elapsed = max(0.0, (now - task.started_at).total_seconds() * speed())
    share = min(1.0, elapsed / total)
    phase = phase_at(share)
    try:
        # A set the restore reads was deleted (a cleanup raced it): the real restore fails.
        gone = DataBackupTask.objects.filter(pk__in=task.data_task_ids, backup_set__expired_at__isnull=False).values_list("pk", flat=True)
        if gone:
            _fail(task, "set_deleted", now, pk=gone[0])
            return None
        if task.sim_outcome == "log_missing" and share >= 0.5:
            _fail(task, "log_missing", now, time=timezone.localtime(task.restore_point).strftime("%Y-%m-%d %H:%M:%S"))
            return None
        if task.sim_outcome == "storage_unreachable" and share >= 0.3:
            _fail(task, "storage_unreachable", now, uri=f"backup storage of {task.cluster_id}")
            return None
        if share >= 1.0:
            with transaction.atomic():
                tenant = make_tenant(task.target_cluster_id, task.new_tenant_name)
                transition(RestoreTask, task.pk, DataBackupStatus.COMPLETED, now=now, phase=RestorePhase.RESTORE_SUCCESS,
                           finished_bytes=task.total_bytes, new_tenant_id=tenant.pk,
                           cause=outcomes.cause("restore_finished", tenant=task.new_tenant_name))
            return None
    except IllegalTransition:
        return None
    except IntegrityError:
        # Someone made a tenant of that name on the target meanwhile: never overwrite it.
        _fail(task, "crashed", now, task=_("Restore"), error=_("tenant %(name)s appeared on the target cluster") % {"name": task.new_tenant_name})
        return None
    # Bytes move while data is restored and log replayed.
    start = sum(part for p, part in PHASES[:4])
    moved_share = min(1.0, max(0.0, (share - start) / PHASES[4][1]))
    moved = RestoreTask.objects.filter(pk=task.pk, status=DataBackupStatus.IN_PROGRESS).update(
        phase=phase, finished_bytes=max(task.finished_bytes, int(task.total_bytes * moved_share)), updated_at=now
    )
    if not moved:
        return None
    return max(0.05, min(STEP_SECONDS, (total - elapsed) / speed()))


needed_sets = retention.sets_read_by_running_restores

