"""One FilterSet per task list (OV-3..OV-7).  Each adds status, cluster and,
where the list has them, tenant and drill-down filters to the shared time
range of ``timerange.TimeRangeFilterSet``.

No filter renders a dropdown that grows with tasks or hosts: clusters are few,
the tenant select lists only the chosen cluster's tenants, and the drill-down
filters (backup set, source task) take an ID.

The cluster and tenant choices (and the validation of the chosen ones) come
from one query per page (``FilterChoices``), not one per select plus one per
chosen value: a list page costs session + user + choices + the page itself.
"""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, Value
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from .choices import AlertRule, AlertSeverity, AlertStatus, CleanupStatus, DataBackupStatus, DrillStatus, LogBackupStatus
from .models import (
    Alert,
    AuditEntry,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    RestoreDrillRun,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
)
from .timerange import TimeRangeFilterSet

MAX_ID = 2**63 - 1  # PostgreSQL bigint: larger IDs cannot exist, and must not reach the query


class IdFilter(django_filters.NumberFilter):
    """An exact match on a primary key, validated as a positive bigint."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(*args, **kwargs)


def status_filter(choices):
    # distinct=False: a status lives on the task row itself, so DISTINCT only costs.
    return django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=choices, distinct=False, widget=forms.CheckboxSelectMultiple
    )


def _id_param(data, name):
    """The query string's ID for ``name`` if it can be one, else None."""
    raw = data.get(name, "")
    if isinstance(raw, str) and raw.isdecimal() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return None


class FilterChoices:
    """Every cluster, plus the tenants of the chosen cluster and the chosen
    tenant, in one UNION query: the options of both selects and the
    validation of both chosen values."""

    def __init__(self, data, with_tenants):
        cluster_id = _id_param(data, "cluster")
        tenant_id = _id_param(data, "tenant") if with_tenants else None
        rows = Cluster.objects.order_by().values_list(Value("c"), "id", "name", "id")
        if cluster_id or tenant_id:
            tenants = Tenant.objects.order_by().filter(Q(cluster_id=cluster_id or 0) | Q(pk=tenant_id or 0))
            rows = rows.union(tenants.values_list(Value("t"), "id", "name", "cluster_id"), all=True)
        self.clusters, self.tenants = [], []
        for kind, pk, name, owner in rows:
            (self.clusters if kind == "c" else self.tenants).append((pk, name, owner))
        self.clusters.sort(key=lambda c: c[1])
        self.tenants.sort(key=lambda t: t[1])
        self.cluster_id = cluster_id

    def cluster_choices(self):
        return [(str(pk), name) for pk, name, _ in self.clusters]

    def tenant_choices(self):
        """Every tenant that validates (the chosen cluster's and the chosen one)."""
        return [(str(pk), name) for pk, name, _ in self.tenants]

    def tenant_options(self):
        """What the select offers: the chosen cluster's tenants only."""
        return [(str(pk), name) for pk, name, owner in self.tenants if owner == self.cluster_id]


def cluster_filter():
    # Choices are set per request from FilterChoices (see TaskFilterSet).
    return django_filters.ChoiceFilter(label=_("Cluster"), field_name="cluster_id", choices=[], empty_label=_("All clusters"))


class TaskFilterSet(TimeRangeFilterSet):
    cluster = cluster_filter()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        form = self.form
        self.choices = FilterChoices(self.data, with_tenants="tenant" in form.fields)
        # django-filter's ChoiceField puts the empty label ("All ...") first itself.
        form.fields["cluster"].choices = self.choices.cluster_choices()
        if "tenant" in form.fields:
            field = form.fields["tenant"]
            field.choices = self.choices.tenant_choices()
            field.widget.choices = [("", field.empty_label)] + self.choices.tenant_options()


class TenantFilterMixin(django_filters.FilterSet):
    # Any existing tenant validates, but the select offers only the chosen
    # cluster's tenants (a cluster has a handful) and none without a cluster.
    tenant = django_filters.ChoiceFilter(label=_("Tenant"), field_name="tenant_id", choices=[], empty_label=_("All tenants"))


class DataBackupTaskFilterSet(TenantFilterMixin, TaskFilterSet):
    status = status_filter(DataBackupStatus.choices)
    backup_set = IdFilter(label=_("Backup set"), field_name="backup_set")

    class Meta:
        model = DataBackupTask
        fields = ["range", "start", "end", "status", "cluster", "tenant", "backup_set"]


class LogBackupTaskFilterSet(TaskFilterSet):
    status = status_filter(LogBackupStatus.choices)

    class Meta:
        model = LogBackupTask
        fields = ["range", "start", "end", "status", "cluster"]


class CleanupTaskFilterSet(TaskFilterSet):
    status = status_filter(CleanupStatus.choices)

    class Meta:
        model = CleanupTask
        fields = ["range", "start", "end", "status", "cluster"]


class SecondaryDataBackupTaskFilterSet(TenantFilterMixin, TaskFilterSet):
    status = status_filter(DataBackupStatus.choices)
    source = IdFilter(label=_("Data backup task"), field_name="source")

    class Meta:
        model = SecondaryDataBackupTask
        fields = ["range", "start", "end", "status", "cluster", "tenant", "source"]


class SecondaryLogBackupTaskFilterSet(TaskFilterSet):
    status = status_filter(LogBackupStatus.choices)

    class Meta:
        model = SecondaryLogBackupTask
        fields = ["range", "start", "end", "status", "cluster"]


class RestoreTaskFilterSet(TaskFilterSet):
    status = status_filter(DataBackupStatus.choices)

    class Meta:
        model = RestoreTask
        fields = ["range", "start", "end", "status", "cluster"]


class AlertFilterSet(TaskFilterSet):
    """The alert list: an alert's life (opened .. resolved) overlaps the window,
    as a task's does; state (open or resolved), severity, rule and cluster."""

    status = status_filter(AlertStatus.choices)
    severity = django_filters.MultipleChoiceFilter(
        label=_("Severity"), choices=AlertSeverity.choices, distinct=False, widget=forms.CheckboxSelectMultiple
    )
    rule = django_filters.ChoiceFilter(label=_("Rule"), choices=AlertRule.choices, empty_label=_("All rules"))

    class Meta:
        model = Alert
        fields = ["range", "start", "end", "status", "severity", "rule", "cluster"]


class AuditEntryFilterSet(TimeRangeFilterSet):
    actor = django_filters.ModelChoiceFilter(
        label=_("User"), queryset=get_user_model().objects.order_by("username"), empty_label=_("Any user"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    cluster = django_filters.ModelChoiceFilter(
        label=_("Cluster"), queryset=Cluster.objects.order_by("name"), empty_label=_("All clusters"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=AuditEntry.Action.choices, empty_label=_("Any action"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    # Done, refused by the engine, or forbidden to the user's role.
    outcome = django_filters.ChoiceFilter(
        label=_("Outcome"), choices=AuditEntry.Outcome.choices, empty_label=_("Any outcome"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["range", "start", "end", "actor", "cluster", "action", "outcome"]

    def filter_window(self, queryset, name, value):
        # An audit entry is a moment, not a span: it belongs to the window it
        # happened in (the time index answers it as one range).
        window = self.form.window
        if window is None:
            return queryset
        if window.start is not None:
            queryset = queryset.filter(created_at__gte=window.start)
        if window.end is not None:
            queryset = queryset.filter(created_at__lt=window.end)
        return queryset


class RestoreDrillRunFilterSet(TimeRangeFilterSet):
    """The drills page's runs: time range (a run's life overlaps it), status and source cluster."""

    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=DrillStatus.choices, empty_label=_("Any status"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    cluster = django_filters.ModelChoiceFilter(
        label=_("Cluster"), field_name="source_cluster", queryset=Cluster.objects.order_by("name"),
        empty_label=_("All clusters"), widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = RestoreDrillRun
        fields = ["range", "start", "end", "status", "cluster"]
