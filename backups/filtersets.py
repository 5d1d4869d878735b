"""One FilterSet per task list (OV-3..OV-7).  Each adds status, cluster and,
where the list has them, tenant and drill-down filters to the shared time
range of ``timerange.TimeRangeFilterSet``.

No filter renders a dropdown that grows with tasks or hosts: clusters are few,
the tenant select lists only the chosen cluster's tenants, and the drill-down
filters (backup set, source task) take an ID.
"""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from .choices import CleanupStatus, DataBackupStatus, LogBackupStatus
from .models import CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask
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


def cluster_filter():
    return django_filters.ModelChoiceFilter(
        label=_("Cluster"), queryset=Cluster.objects.only("id", "name"), empty_label=_("All clusters")
    )


class TaskFilterSet(TimeRangeFilterSet):
    cluster = cluster_filter()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("cluster", "tenant"):
            if name in self.form.fields:
                self.form.fields[name].widget.attrs.update({"class": "form-select form-select-sm", "data-autosubmit": ""})

    @property
    def cluster_choice(self):
        """The chosen cluster, if the form accepted one."""
        return self.form.cleaned_data.get("cluster") if self.is_valid() else None


class TenantFilterMixin(django_filters.FilterSet):
    tenant = django_filters.ModelChoiceFilter(
        label=_("Tenant"), queryset=Tenant.objects.all(), empty_label=_("All tenants")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any tenant ID validates, but the select offers only the chosen
        # cluster's tenants (a cluster has a handful) and none without a cluster.
        field = self.form.fields["tenant"]
        cluster_id = self.form.data.get("cluster", "")
        options = Tenant.objects.none()
        if cluster_id.isdecimal() and len(cluster_id) <= 19 and int(cluster_id) <= MAX_ID:
            options = Tenant.objects.filter(cluster_id=int(cluster_id)).only("id", "name").order_by("name")
        field.widget.choices = [("", field.empty_label)] + [(t.pk, t.name) for t in options]


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
