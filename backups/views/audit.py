"""The audit trail page: who did what, when.

Filtered by time range, user, cluster and action; newest first from the
``audit_time`` index (or the per-user/cluster/action ones), paginated like
every table (``backup_console.lists``) but never counted: the trail only grows.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django_filters.views import FilterView

from backup_console.export import TableExportMixin
from backup_console.lists import BoundedTableMixin

from ..filtersets import AuditEntryFilterSet
from ..models import AuditEntry
from ..tables import AuditEntryTable
from ..timerange import RANGE_CHOICES


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
