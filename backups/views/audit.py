"""The audit trail page: who did what, when; and the record of what a
user's role forbade (``record_forbidden``, called by the 403 page).

Filtered by time range, user, cluster and action; newest first from the
``audit_time`` index (or the per-user/cluster/action ones), paginated like
every table (``backup_console.lists``) but never counted: the trail only grows.
"""

import logging

from django.apps import apps
from django.contrib.auth.mixins import PermissionRequiredMixin
from django_filters.views import FilterView

from backup_console.export import TableExportMixin
from backup_console.lists import BoundedTableMixin
from clusters.models import Cluster, Tenant

from ..engine import audit, outcomes
from ..filtersets import AuditEntryFilterSet
from ..models import Alert, AuditEntry, BackupPolicy, ClusterSilence, LogBackupTask, RestoreDrillPolicy, SecondaryLogBackupTask
from ..tables import AuditEntryTable
from ..timerange import RANGE_CHOICES

logger = logging.getLogger(__name__)
Action = AuditEntry.Action


class AuditListView(PermissionRequiredMixin, TableExportMixin, BoundedTableMixin, FilterView):
    permission_required = "backups.view_auditentry"
    raise_exception = True
    http_method_names = ["get", "head"]
    template_name = "backups/audit_list.html"
    filterset_class = AuditEntryFilterSet
    table_class = AuditEntryTable
    queryset = AuditEntry.objects.select_related("cluster", "content_type").order_by("-created_at", "-id")
    count_total = False
    default_per_page = 50
    per_page_choices = (50,)

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.filter_valid = self.filterset.is_valid()
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        valid = self.filterset.is_valid()
        context.update(
            range_key=self.filterset.form.cleaned_data.get("range") if valid else self.request.GET.get("range", "7d"),
            range_choices=list(RANGE_CHOICES),
        )
        return context


# --- Forbidden attempts (the 403 page) ----------------------------------------------------

# What each action's address does, and the model of its ``pk``.
FORBIDDEN_ACTIONS = {
    "backups:log_stop": (Action.LOG_STOP, LogBackupTask),
    "backups:log_start": (Action.LOG_START, LogBackupTask),
    "backups:secondary_log_stop": (Action.LOG_STOP, SecondaryLogBackupTask),
    "backups:secondary_log_start": (Action.LOG_START, SecondaryLogBackupTask),
    "backups:instant_backup": (Action.INSTANT_BACKUP, None),
    "backups:policy_create": (Action.POLICY_CREATE, None),
    "backups:policy_edit": (Action.POLICY_EDIT, BackupPolicy),
    "backups:policy_pause": (Action.POLICY_PAUSE, BackupPolicy),
    "backups:policy_resume": (Action.POLICY_RESUME, BackupPolicy),
    "backups:restore_create": (Action.RESTORE_START, None),
    "backups:drill_create": (Action.DRILL_POLICY_CREATE, None),
    "backups:drill_edit": (Action.DRILL_POLICY_EDIT, RestoreDrillPolicy),
    "backups:drill_enable": (Action.DRILL_POLICY_ENABLE, RestoreDrillPolicy),
    "backups:drill_disable": (Action.DRILL_POLICY_DISABLE, RestoreDrillPolicy),
    "backups:drill_delete": (Action.DRILL_POLICY_DELETE, RestoreDrillPolicy),
    "backups:drill_run": (Action.DRILL_RUN_NOW, RestoreDrillPolicy),
    "alerts:acknowledge": (Action.ALERT_ACKNOWLEDGE, Alert),
    "alerts:silence_create": (Action.CLUSTER_SILENCE, Cluster),
    "alerts:silence_end": (Action.SILENCE_END, ClusterSilence),
}
ADMIN_ACTIONS = {"add": Action.ADMIN_ADD, "change": Action.ADMIN_CHANGE, "delete": Action.ADMIN_DELETE}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _forbidden_target(request):
    """(audit action, model, pk) of a refused request, from its address."""
    match = request.resolver_match
    if match is None:
        return Action.OTHER, None, None
    if match.view_name in FORBIDDEN_ACTIONS:
        action, model = FORBIDDEN_ACTIONS[match.view_name]
        if model is None and action == Action.INSTANT_BACKUP:
            # What the form named: the cluster to back up.
            return action, Cluster, request.POST.get("cluster")
        if model is None and action == Action.RESTORE_START:
            return action, Tenant, request.POST.get("source_tenant")
        return action, model, match.kwargs.get("pk", match.kwargs.get("cluster_pk"))
    if match.namespace == "admin" and match.url_name:
        app_model, _sep, verb = match.url_name.rpartition("_")
        if verb in ADMIN_ACTIONS:
            for model in apps.get_models():
                if f"{model._meta.app_label}_{model._meta.model_name}" == app_model:
                    return ADMIN_ACTIONS[verb], model, match.kwargs.get("object_id")
    return Action.OTHER, None, None


def record_forbidden(request):
    """Record a request that the user's role may not make (a 403) in the
    audit trail: who, what (the action, from the address), on what, and why
    (their roles; method and path).  Only attempts to change something
    (not GET or HEAD), by a signed-in user; never raises."""
    user = getattr(request, "user", None)
    if request.method in SAFE_METHODS or user is None or not user.is_authenticated:
        return None
    try:
        action, model, pk = _forbidden_target(request)
        roles = sorted(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            roles.append("superuser")
        reason = outcomes.Said("forbidden", {"roles": roles, "method": request.method[:10], "path": request.path[:200]})
    except Exception:  # the 403 page must answer whatever this meets
        logger.exception("could not describe a forbidden request")
        return None
    return audit.record_attempt(user, action, audit.Outcome.FORBIDDEN, reason=reason, model=model, pk=pk)
