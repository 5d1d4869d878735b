"""Operator actions and what beat starts (OV-1, OV-2, OV-4a, SIM-1).

Views and tasks call these; each either does the whole thing in one
transaction and queues the worker after commit (IDs only), or refuses with
``ActionRefused`` (or ``IllegalTransition``) and writes nothing.
"""

from datetime import timedelta

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, UniqueConstraint
from django.utils import timezone

from clusters.choices import HostRole
from clusters.models import Cluster, Host

from ..choices import BackupMethod, BackupMode, DataBackupStatus, LogBackupStatus, PolicyState, ScheduleKind, TaskKind, Trigger
from ..kinds import LOG_KINDS
from ..models import BackupPolicy, BackupSet, DataBackupTask, LogBackupTask, SecondaryLogBackupTask
from . import audit, dispatch, outcomes, simulation
from .dispatch import BrokerUnavailable, check_broker
from .outcomes import phrase as _  # gettext that remembers what it said, for the audit trail
from .schedules import sync_periodic_task
from .transitions import IllegalTransition, record_created, transition


class ActionRefused(Exception):
    """An operator action that may not happen; ``field`` names the form field to blame."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# The form field an operator is shown a refusal on, by the fields a unique
# constraint covers (the message is the constraint's own).
_BLAMED_FIELDS = ("new_tenant_name", "tenant", "cluster")


def _unique_constraints():
    for model in apps.get_app_config("backups").get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint):
                yield model, constraint


def refusal_from(error, default):
    """Turn an IntegrityError into the ActionRefused an operator understands:
    the refusing constraint's own message.  PostgreSQL names the constraint;
    SQLite names the columns of its unique index."""
    text = str(error)
    failed = text.split("UNIQUE constraint failed: ", 1)[1].strip() if "UNIQUE constraint failed: " in text else None
    for model, constraint in _unique_constraints():
        columns = ", ".join(f"{model._meta.db_table}.{model._meta.get_field(name).column}" for name in constraint.fields)
        if constraint.name in text or failed == columns:
            field = next((name for name in _BLAMED_FIELDS if name in constraint.fields), None)
            return ActionRefused(str(constraint.get_violation_error_message()), field)
    return ActionRefused(default)


def _require_broker():
    """Refuse, before anything is written, an action whose work needs a worker."""
    try:
        check_broker()
    except BrokerUnavailable as error:
        raise ActionRefused(str(error)) from error


# --- Instant and scheduled data backups (OV-2, SIM-1) -----------------------------


def active_policy(cluster, tenant=None):
    """The policy that governs backups of ``cluster`` (a tenant's override first)."""
    policies = BackupPolicy.objects.select_related("destination").filter(cluster=cluster, state=PolicyState.ACTIVE)
    if tenant is not None:
        override = policies.filter(tenant=tenant).first()
        if override:
            return override
    return policies.filter(tenant__isnull=True).first()


def base_full_backup(cluster, tenant):
    """The newest completed physical full backup an incremental can build on."""
    return (
        DataBackupTask.objects.filter(
            cluster=cluster,
            tenant=tenant,
            mode=BackupMode.FULL,
            backup_method=BackupMethod.PHYSICAL,
            status=DataBackupStatus.COMPLETED,
            backup_set__expired_at__isnull=True,
        )
        .order_by("-started_at", "-id")
        .first()
    )


def check_cluster_available(cluster):
    """Refuse any backup of a cluster that is unavailable: no server is there to run it."""
    if not cluster.accepts_backups:
        raise ActionRefused(
            _("Cluster %(cluster)s is unavailable: no backup can run there until it is back.") % {"cluster": cluster},
            "cluster",
        )


def check_data_backup(cluster, tenant, mode, policy):
    """Raise ActionRefused saying why this data backup may not start now."""
    check_cluster_available(cluster)
    if policy is None:
        raise ActionRefused(
            _("Cluster %(cluster)s has no active backup policy: create or resume one first.") % {"cluster": cluster},
            "cluster",
        )
    if mode == BackupMode.INCREMENTAL and policy.backup_method == BackupMethod.LOGICAL:
        raise ActionRefused(_("Logical backups are full backups only: this cluster's policy is logical."), "mode")
    running = DataBackupTask.objects.filter(cluster=cluster, status=DataBackupStatus.IN_PROGRESS).first()
    if running:
        raise ActionRefused(
            _("Cluster %(cluster)s is already running data backup #%(pk)s.") % {"cluster": cluster, "pk": running.pk},
            "cluster",
        )
    if policy.backup_method == BackupMethod.LOGICAL:
        done = (
            DataBackupTask.objects.filter(
                cluster=cluster, data_version=cluster.data_version, backup_method=BackupMethod.LOGICAL
            )
            .exclude(status=DataBackupStatus.FAILED)
            .first()
        )
        if done:
            raise ActionRefused(
                _(
                    "Data version %(version)s of cluster %(cluster)s already has a logical backup (#%(pk)s); "
                    "a logical backup may be taken once per data version."
                )
                % {"version": cluster.data_version, "cluster": cluster, "pk": done.pk},
                "cluster",
            )
    if mode == BackupMode.INCREMENTAL and base_full_backup(cluster, tenant) is None:
        raise ActionRefused(
            _("An incremental backup needs a completed full backup of the same cluster and tenant before it."), "mode"
        )


def start_data_backup(
    cluster, tenant, mode, *, trigger, actor=None, actor_label="worker", cause=None, force_outcome=None, size_bytes=None,
    fail_if_unavailable=False,
):
    """Create an in-progress data backup and queue the worker; refuse with ActionRefused.

    ``fail_if_unavailable`` (beat's runs): on an unavailable cluster the job
    is created and fails at once with the reason, instead of being refused,
    so the skipped run is in the data backup list for an operator to see."""
    try:
        with transaction.atomic():
            # One operator at a time per cluster: the checks below stay true
            # until we commit, and set numbers cannot collide.
            cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
            policy = active_policy(cluster, tenant)
            failing = fail_if_unavailable and policy is not None and not cluster.accepts_backups
            if not failing:
                check_data_backup(cluster, tenant, mode, policy)
            if mode == BackupMode.FULL:
                last = BackupSet.objects.filter(cluster=cluster).order_by("-number").values_list("number", flat=True)
                backup_set = BackupSet.objects.create(
                    cluster=cluster,
                    tenant=tenant,
                    number=(last.first() or 0) + 1,
                    backup_method=policy.backup_method,
                )
            else:
                backup_set = base_full_backup(cluster, tenant).backup_set
            size, outcome, fail_at = simulation.plan_data_backup(
                cluster, mode, policy, force_outcome=force_outcome, size_bytes=size_bytes, tenant=tenant
            )
            now = timezone.now()
            task = DataBackupTask.objects.create(
                cluster=cluster,
                tenant=tenant,
                policy=policy,
                backup_set=backup_set,
                destination_id=policy.destination_id,
                mode=mode,
                backup_method=policy.backup_method,
                data_version=cluster.data_version,
                storage_directory=simulation.data_directory(policy.destination.uri, policy.directory, backup_set.number),
                status=DataBackupStatus.IN_PROGRESS,
                started_at=now,
                size_bytes=size,
                sim_outcome=outcome,
                sim_fail_at=fail_at,
                trigger=trigger,
                requested_by=actor if actor is not None and actor.is_authenticated else None,
            )
            record_created(task, cause=cause or Trigger(trigger).label, actor=actor, actor_label=actor_label)
            if failing:
                reason = outcomes.failure("cluster_unavailable_at_start", cluster=cluster.name)
                transition(DataBackupTask, task.pk, DataBackupStatus.FAILED, cause=reason, failure_reason=reason,
                           actor_label=actor_label, progress=0, size_bytes=0, sim_outcome="cluster_unavailable_at_start",
                           sim_fail_at=0, now=now)
                task.refresh_from_db()
            else:
                dispatch.enqueue(dispatch.RUN_DATA_BACKUP, task.pk)
    except IntegrityError as error:
        raise refusal_from(error, _("The data backup could not start; try again.")) from error
    return task


def instant_backup(cluster, tenant, mode, user, **plan):
    """OV-2: an operator's data backup, now (refused while the broker is down)."""
    _require_broker()
    with transaction.atomic():
        task = start_data_backup(
            cluster, tenant, mode, trigger=Trigger.INSTANT, actor=user, cause=outcomes.cause("instant_requested"), **plan
        )
        audit.record(
            user, audit.Action.INSTANT_BACKUP, task,
            message=outcomes.audit("instant_backup", mode=task.mode, pk=task.pk, cluster=str(task.cluster),
                                   tenant=f" / {tenant}" if tenant else ""),
        )
    return task


def todays_mode(policy, now=None):
    """full/incremental per today's schedule entry, or None on a day without one."""
    today = timezone.localtime(now or timezone.now())
    day = today.isoweekday() if policy.schedule_kind == ScheduleKind.WEEKLY else today.day
    return policy.schedule_days.get(str(day))


def run_scheduled_backup(policy_id, now=None):
    """SIM-1: what beat does when a policy's time comes.  Returns what happened."""
    policy = BackupPolicy.objects.select_related("cluster", "tenant").filter(pk=policy_id).first()
    if policy is None or policy.state != PolicyState.ACTIVE:
        return "policy gone or paused"
    mode = todays_mode(policy, now)
    if mode is None:
        return "nothing scheduled today"
    # A re-delivered beat message (a worker died before acknowledging it)
    # must not start a second backup for the same scheduled moment.
    local_now = timezone.localtime(now or timezone.now())
    slot = local_now.replace(hour=policy.run_at.hour, minute=policy.run_at.minute, second=0, microsecond=0)
    if slot > local_now:
        slot -= timedelta(days=1)
    if DataBackupTask.objects.filter(policy=policy, trigger=Trigger.SCHEDULE, started_at__gte=slot).exists():
        return "already started for this scheduled time"
    cause = outcomes.cause("scheduled", pk=policy.pk)
    if mode == BackupMode.INCREMENTAL and base_full_backup(policy.cluster, policy.tenant) is None:
        mode = BackupMode.FULL
        cause = outcomes.cause("scheduled_full", pk=policy.pk)
    if policy.backup_method == BackupMethod.LOGICAL:
        mode = BackupMode.FULL
        # The cluster compacts daily between scheduled runs; the simulation
        # catches up if this version already has its logical backup (an
        # unavailable cluster compacts nothing).
        if policy.cluster.accepts_backups and DataBackupTask.objects.filter(
            cluster=policy.cluster, data_version=policy.cluster.data_version, backup_method=BackupMethod.LOGICAL
        ).exclude(status=DataBackupStatus.FAILED).exists():
            simulation.compact(policy.cluster)
    try:
        task = start_data_backup(
            policy.cluster, policy.tenant, mode, trigger=Trigger.SCHEDULE, actor_label="beat", cause=cause,
            fail_if_unavailable=True,
        )
    except ActionRefused as refused:
        return f"skipped: {refused.message}"
    if task.status == DataBackupStatus.FAILED:
        return f"data backup #{task.pk} failed to start: {outcomes.failure_of(task)}"
    return f"started data backup #{task.pk}"


# --- Log backups (OV-4a, OV-7) ----------------------------------------------------


def _log_model(kind):
    return LOG_KINDS[kind].model


def stop_log_backup(kind, pk, user):
    """Operator's Stop: → stopping now; the worker finishes → stopped."""
    _require_broker()
    with transaction.atomic():
        transition(_log_model(kind), pk, LogBackupStatus.STOPPING, cause=outcomes.cause("stop_requested"), actor=user)
        _audit_log_move(user, audit.Action.LOG_STOP, kind, pk)
    dispatch.enqueue(dispatch.FINISH_LOG_MOVE, kind, pk, countdown=simulation.log_switch_delay())
    return _("%(task)s #%(pk)s is stopping.") % {"task": _log_label(kind), "pk": pk}


def start_log_backup(kind, pk, user):
    """Operator's Start: → starting now; the worker finishes → in progress.

    Only the cluster's current piece starts (``check_current_piece``), and
    only on a cluster that is not unavailable; the state machine and the
    one-live-per-cluster constraint speak first, so a row that is not
    stopped, or a cluster whose current piece runs, gets their refusal."""
    _require_broker()
    try:
        with transaction.atomic():
            transition(_log_model(kind), pk, LogBackupStatus.STARTING, cause=outcomes.cause("start_requested"), actor=user)
            # Refusing rolls the move back.
            check_cluster_available(_log_model(kind).objects.select_related("cluster").get(pk=pk).cluster)
            check_current_piece(kind, pk)
            _audit_log_move(user, audit.Action.LOG_START, kind, pk)
    except IntegrityError as error:
        raise refusal_from(error, _("The log backup could not start; try again.")) from error
    dispatch.enqueue(dispatch.FINISH_LOG_MOVE, kind, pk, countdown=simulation.log_switch_delay())
    return _("%(task)s #%(pk)s is starting.") % {"task": _log_label(kind), "pk": pk}


# --- The current piece: what Start applies to -----------------------------------------
# A cluster's log archive goes on in its newest log backup task; an older,
# stopped one is a closed piece of history (restarting it would archive into
# a finished round while the cluster has a newer one).  Secondary logs copy
# the current piece: its newest copy is the one that goes on.  "Newest" is
# the lists' own order: start time, then ID.
NEWEST_FIRST = ("-started_at", "-id")


def _newer(model, **same):
    """Exists: a row of ``model`` with the same ``same`` (field: outer field)
    as the outer row, and newer than it.  ``started_at >=`` bounds the index
    range (the OR alone would leave the index only the cluster, and walk a
    current piece's whole history); the OR breaks a tie by ID."""
    rows = model.objects.filter(**{name: OuterRef(outer) for name, outer in same.items()})
    start = OuterRef("started_at")
    return Exists(rows.filter(Q(started_at__gte=start) & (Q(started_at__gt=start) | Q(pk__gt=OuterRef("pk")))))


def superseded(kind):
    """A boolean expression, for a list's page query: this (secondary) log
    backup is not its cluster's current piece, so Start does not apply to it.
    One correlated subquery per row on the (cluster, start) and source
    indexes, in the page's own query."""
    newer_log = _newer(LogBackupTask, cluster="cluster")
    if kind == TaskKind.LOG:
        return newer_log
    old_source = Exists(LogBackupTask.objects.filter(pk=OuterRef("source")).filter(newer_log))
    newer_copy = _newer(SecondaryLogBackupTask, source="source")
    return ExpressionWrapper(Q(old_source) | Q(newer_copy), output_field=BooleanField())


def check_current_piece(kind, pk):
    """Refuse, saying which one is, unless task ``pk`` is its cluster's
    current log backup (for a secondary log: the newest copy of it)."""
    task = _log_model(kind).objects.get(pk=pk)
    if kind == TaskKind.LOG:
        current = LogBackupTask.objects.filter(cluster_id=task.cluster_id).order_by(*NEWEST_FIRST).first()
        if current.pk != task.pk:
            raise ActionRefused(
                _("Log backup #%(pk)s is not the cluster's current log backup (#%(current)s is): start that one.")
                % {"pk": pk, "current": current.pk}
            )
        return
    source = LogBackupTask.objects.get(pk=task.source_id)
    current_log = LogBackupTask.objects.filter(cluster_id=source.cluster_id).order_by(*NEWEST_FIRST).first()
    current = SecondaryLogBackupTask.objects.filter(source=current_log).order_by(*NEWEST_FIRST).first()
    if current is None:
        raise ActionRefused(
            _(
                "Secondary log backup #%(pk)s copies log backup #%(source)s, which is not the cluster's current "
                "log backup (#%(current)s is)."
            )
            % {"pk": pk, "source": source.pk, "current": current_log.pk}
        )
    if current.pk != task.pk:
        raise ActionRefused(
            _(
                "Secondary log backup #%(pk)s is not the current copy of the cluster's log backup "
                "(#%(current)s is): start that one."
            )
            % {"pk": pk, "current": current.pk}
        )


def _audit_log_move(user, action, kind, pk):
    task = _log_model(kind).objects.select_related("cluster").get(pk=pk)
    audit.record(user, action, task, object_repr=f"#{pk}",
                 message=outcomes.audit("log_move", kind=kind, pk=pk, cluster=str(task.cluster)))


def _log_label(kind):
    return str(LOG_KINDS[kind].label)


def ensure_log_backup(policy, actor=None):
    """A policy with log backup keeps one log backup alive on its cluster.

    Returns the new task, or None when one is alive already or the cluster has
    no host to archive from.
    """
    if not policy.log_backup_enabled or policy.state != PolicyState.ACTIVE or policy.tenant_id:
        return None
    if LogBackupTask.objects.filter(cluster_id=policy.cluster_id, status__in=LogBackupTask.ALIVE).exists():
        return None
    if not policy.cluster.accepts_backups:
        return None  # nothing to archive from until the cluster is back
    hosts = Host.objects.filter(cluster_id=policy.cluster_id)
    host = hosts.filter(role=HostRole.LEADER).first() or hosts.first()
    if host is None:
        return None
    # The new log backup needs a worker to start it: refuse (and, in the
    # caller's transaction, roll back the policy change) while the broker is down.
    _require_broker()
    now = timezone.now()
    try:
        with transaction.atomic():
            task = LogBackupTask.objects.create(
                cluster_id=policy.cluster_id,
                policy=policy,
                backup_method=policy.backup_method,
                host=host,
                storage_directory=simulation.log_directory(policy.destination.uri, policy.directory),
                started_at=now,
                status=LogBackupStatus.STARTING,
            )
            record_created(task, cause=outcomes.cause("log_started", pk=policy.pk), actor=actor)
    except IntegrityError:
        return None  # another one started meanwhile: that one serves
    dispatch.enqueue(dispatch.FINISH_LOG_MOVE, "log", task.pk, countdown=simulation.log_switch_delay())
    return task


# --- Policies (OV-1, SIM-1) -------------------------------------------------------


def save_policy(form, user):
    """Create or edit a policy from a valid form; refusals land on the form."""
    try:
        with transaction.atomic():
            policy = form.save(commit=False)
            creating = policy.pk is None
            # The policy as it was, for the audit's old → new values.
            before = None if creating else BackupPolicy.objects.select_related(
                "destination", "secondary_destination").get(pk=policy.pk)
            if creating:
                policy.created_by = user if user.is_authenticated else None
            policy.save()
            sync_periodic_task(policy)
            ensure_log_backup(policy, actor=user)
            if creating:
                audit.record(user, audit.Action.POLICY_CREATE, policy,
                             message=outcomes.audit("policy_created", pk=policy.pk, **_policy_words(policy)))
            else:
                audit.record(user, audit.Action.POLICY_EDIT, policy,
                             message=audit.changes(before, policy, [*form._meta.fields, "schedule_days"]))
    except IntegrityError as error:
        refused = refusal_from(error, _("The policy could not be saved; try again."))
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return None
    except ActionRefused as refused:
        form.add_error(None, refused.message)
        return None
    return policy


def _policy_words(policy):
    """A policy's scope and method, for its audit details."""
    scope = f"{policy.cluster}/{policy.tenant}" if policy.tenant_id else str(policy.cluster)
    return {"scope": scope, "method": policy.backup_method}


def pause_policy(pk, user):
    return _set_policy_state(pk, PolicyState.ACTIVE, PolicyState.PAUSED, user)


def resume_policy(pk, user):
    return _set_policy_state(pk, PolicyState.PAUSED, PolicyState.ACTIVE, user)


def _set_policy_state(pk, current, to, user=None):
    try:
        with transaction.atomic():
            moved = BackupPolicy.objects.filter(pk=pk, state=current).update(state=to, updated_at=timezone.now())
            policy = BackupPolicy.objects.select_related("cluster", "tenant", "destination").filter(pk=pk).first()
            if policy is None:
                raise ActionRefused(_("Backup policy #%(pk)s does not exist.") % {"pk": pk})
            if not moved:
                raise ActionRefused(
                    _("Backup policy #%(pk)s is already %(state)s.")
                    % {"pk": pk, "state": outcomes.lowered(PolicyState(policy.state).label)}
                )
            sync_periodic_task(policy)
            if to == PolicyState.ACTIVE:
                ensure_log_backup(policy)
            action = audit.Action.POLICY_RESUME if to == PolicyState.ACTIVE else audit.Action.POLICY_PAUSE
            audit.record(user, action, policy, message=outcomes.audit("policy", **_policy_words(policy)))
    except IntegrityError as error:
        raise refusal_from(error, _("The policy could not be resumed; try again.")) from error
    if to == PolicyState.PAUSED:
        return _("Backup policy #%(pk)s is paused: no scheduled backups until it is resumed.") % {"pk": pk}
    return _("Backup policy #%(pk)s is active again.") % {"pk": pk}


__all__ = [
    "ActionRefused",
    "IllegalTransition",
    "instant_backup",
    "pause_policy",
    "resume_policy",
    "run_scheduled_backup",
    "save_policy",
    "start_log_backup",
    "stop_log_backup",
    "superseded",
    "sync_periodic_task",
]
