"""The audit trail page: who did what, when (issue 6).

Filtered by time range, user, cluster and action; newest first from the
``audit_time`` index (or the per-user/cluster/action ones), paginated with
LazyPaginator, so no page counts the whole trail.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import EmptyPage
from django.utils.translation import gettext
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from .audit_filtersets import AuditEntryFilterSet
from .audit_tables import AuditEntryTable
from .models import AuditEntry
from .timerange import RANGE_CHOICES
from .views import InvalidFilter400Mixin

PER_PAGE = 50
MAX_PAGE = 100_000


def _page_number(request):
    raw = request.GET.get("page", "1")
    try:
        page = int(raw)
    except ValueError:
        return 1, True
    if not 1 <= page <= MAX_PAGE:
        return 1, True
    return page, False


class AuditListView(PermissionRequiredMixin, InvalidFilter400Mixin, SingleTableMixin, FilterView):
    permission_required = "backups.view_auditentry"
    raise_exception = True
    http_method_names = ["get", "head"]
    template_name = "backups/audit_list.html"
    filterset_class = AuditEntryFilterSet
    table_class = AuditEntryTable
    queryset = AuditEntry.objects.select_related("cluster", "content_type").order_by("-created_at", "-id")

    def get_table(self, **kwargs):
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        table.request = self.request
        page, odd = _page_number(self.request)
        if odd:
            self.notices.append(gettext("There is no page %(page)s; showing the first page.") % {"page": self.request.GET.get("page", "")[:32]})
        try:
            table.paginate(paginator_class=LazyPaginator, per_page=PER_PAGE, page=page)
        except EmptyPage:
            self.notices.append(gettext("There is no page %(page)s; showing the first page.") % {"page": page})
            table.paginate(paginator_class=LazyPaginator, per_page=PER_PAGE, page=1)
        table.filter_valid = self.filterset.is_valid()
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.filterset.form
        range_key = form.cleaned_data.get("range") if self.filterset.is_valid() else self.request.GET.get("range", "7d")
        context.update(
            notices=self.notices,
            filter_valid=self.filterset.is_valid(),
            range_key=range_key,
            range_choices=[(key, label) for key, label in RANGE_CHOICES],
        )
        return context
