"""The backup overview (SPEC section 3): five task lists, one declarative view
each.

Every list is a FilterSet + a Table wired by ``TaskListView``; the page is
read by ``backups.paging`` and the query string is checked by
``backup_console.lists``.
"""

from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect, QueryDict
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods
from django_filters.views import FilterView
from django_tables2.utils import OrderBy

from backup_console.export import CHUNK_SIZE, ExportMixin
from backup_console.lists import COUNT_CAP, PER_PAGE_CHOICES, UntrustedQueryMixin, join_html, list_url, one_link, options_html, query_with
from backup_console.live import LiveRegionMixin, render_live

from .. import filtersets, tables
from ..choices import STATUS_COLORS, DataBackupStatus, TaskKind
from ..engine.metrics import core_metrics, rpo_distribution
from ..engine.services import superseded
from ..formats import estimated_finish, readable_delay
from ..kinds import TAB_GROUPS, kind_of
from ..models import CleanupTask, DataBackupTask, LogBackupTask, RestoreTask, SecondaryDataBackupTask, SecondaryLogBackupTask
from ..paging import Page, PartsQuery
from ..tables import PageRows
from ..timerange import DEFAULT_RANGE, RANGE_CHOICES, custom_range_query, effective_end, input_value

# Query parameters a tab switch carries over (the rest belong to one list).
SHARED_PARAMS = ("range", "start", "end", "cluster")


class BoundedListMixin(UntrustedQueryMixin):
    """A FilterView's page, without trusting the query string and without
    counting more than COUNT_CAP rows.

    The page's rows and the capped total come back from one query (the count
    is a subquery the database runs once); page numbers stop at COUNT_CAP
    rows, with a notice to narrow the window.
    """

    table_class = None

    def get_table(self):
        return self.order_table(self.table_class(data=self.object_list))

    @staticmethod
    def table_ordering(table):
        """The ORM ordering the table's sort parameter asks for, from its
        columns' ``order_by`` (empty: the queryset's own order)."""
        keys = []
        for alias in table.order_by or ():
            bound = table.columns[OrderBy(alias).bare]
            order = bound.order_by if alias[0] == bound.order_by_alias[0] else bound.order_by.opposite
            keys += [accessor.for_queryset() for accessor in order]
        return keys

    def ordered(self, table):
        """The filtered rows in the order the table's sort parameter asks for."""
        ordering = self.table_ordering(table)
        return self.object_list.order_by(*ordering) if ordering else self.object_list

    def get_page(self, ordered):
        per_page = self.per_page()
        requested = self.page_number()
        last_reachable = COUNT_CAP // per_page
        rows = self.fetch(ordered, min(requested, last_reachable), per_page)
        total = rows[0].capped_total if rows else 0
        last = max(1, -(-min(total, COUNT_CAP) // per_page))
        if requested > last_reachable and total > COUNT_CAP:
            self.notices.append(gettext(
                "Pages stop after %(count)s tasks; showing page %(page)s. Narrow the time range or the filters to see older tasks."
            ) % {"count": f"{COUNT_CAP:,}", "page": last_reachable})
        elif requested > last:
            # The query itself fell back to the last page (PartsQuery.page_ids).
            self.notices.append(gettext("There is no page %(page)s; showing the last page.") % {"page": requested})
        return Page(rows, min(requested, last), per_page, total)

    def fetch(self, ordered, number, per_page):
        """The page's rows, each carrying the capped total.

        A deferred join: the IDs of the page are found first (one bounded
        index walk per part of the window, reading only the task table), and
        only those rows are joined to their cluster, tenant, backup set and
        secondary-copy flag, so a deep page does not join the rows it skips."""
        query = self.parts_query(ordered)
        page = self.rows_from(query, (number - 1) * per_page, per_page)
        return list(page.annotate(capped_total=query.capped_total()))

    def rows_from(self, query, offset, limit):
        """Rows ``offset`` to ``offset + limit`` of the list, in its order, joined."""
        page = self.get_queryset().filter(pk__in=query.page_ids(offset, limit))
        return page.order_by(*query.parts[0].query.order_by)

    def export_source(self):
        """Every row of the list, as its pages show them one after another:
        the same split-window query for the first COUNT_CAP + 1 IDs (no
        count: the one past the cap only tells that there were more), read
        through a server-side cursor."""
        table = self.get_table()
        records = self.rows_from(self.parts_query(self.ordered(table)), 0, COUNT_CAP + 1)
        return table, records.iterator(chunk_size=CHUNK_SIZE)

    def parts_query(self, ordered):
        order = ordered.query.order_by or ordered.model._meta.ordering
        return PartsQuery(self.filterset.window_parts(order))

    def rows_context(self):
        """What the rows template needs besides the rows (the same for every row)."""
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = self.get_table()
        valid = self.filterset.is_valid()
        if valid:
            page = self.get_page(self.ordered(table))
            table.prepare(page.rows, PageRows(self.request, self.filterset, self.object_list.model))
        else:
            page = Page([], 1, self.per_page(), 0)
        context.update({
            "table": table,
            "page": page,
            "rows": page.rows,
            "rows_html": mark_safe(table.render_rows(page.rows, self.rows_context(), self.request)) if page.rows else "",
            "notices": self.notices,
            "filter_valid": valid,
            "total": page.total,
            "total_capped": page.capped,
            "count_cap": COUNT_CAP,
            "per_page_choices": PER_PAGE_CHOICES,
            "per_page": page.per_page,
        })
        return context


class TaskListView(LiveRegionMixin, PermissionRequiredMixin, ExportMixin, BoundedListMixin, FilterView):
    """One overview tab: a FilterSet narrows ``queryset``, a Table shows a page
    (or, with ``?_export=``, every row up to the cap as a file).

    Live: a refresh (htmx) gets only the table and the count (``live-rows``),
    from the same queries as the page.

    Reading a list needs the view permission of its model (every role has it;
    a signed-in account in no group gets 403).
    """

    raise_exception = True

    def get_permission_required(self):
        meta = self.queryset.model._meta
        return [f"{meta.app_label}.view_{meta.model_name}"]

    template_name = "backups/task_list.html"
    live_partial = "live-rows"
    queryset = None
    filterset_class = None
    table_class = None

    @property
    def tab(self):
        return kind_of(self.queryset.model).tab

    def get(self, request, *args, **kwargs):
        # Dates under a preset (an old bookmark, the filter bar without
        # script) are a custom range: move to the address that says so.
        canonical = custom_range_query(request.GET)
        if canonical is not None:
            return HttpResponseRedirect(request.path + canonical)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        # effective_end: the indexed expression the end-time column sorts by.
        return super().get_queryset().alias(effective_end=effective_end())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset
        query = self.request.GET
        valid = filterset.is_valid()
        range_key = filterset.form.cleaned_data.get("range") if valid else query.get("range", DEFAULT_RANGE)
        table = context["table"]
        context.update({
            "tab": self.tab,
            "tabs": self.tab_links(),
            "range_key": range_key,
            "range_links": [
                (key, label, query_with(query, drop=("start", "end"), range=key))
                for key, label in RANGE_CHOICES
                if key not in ("custom", "all") or key == range_key
            ],
            "window": filterset.window,
            "status_choices": [
                (value, label, STATUS_COLORS.get(value, "secondary"))
                for value, label in filterset.filters["status"].extra["choices"]
            ],
            "all_status_url": query_with(query, drop=("status",)),
            # A submitted form with its dates cleared falls back to the default
            # window; with dates typed it says "custom" (console.js, or the
            # redirect in get() without script).
            "form_range": DEFAULT_RANGE if range_key == "custom" else range_key,
            # What the custom range's inputs show: what was asked for (also
            # when it is refused), as date-times in the shown time zone.
            "custom_start": input_value(query.get("start", "")) if range_key == "custom" else "",
            "custom_end": input_value(query.get("end", ""), end=True) if range_key == "custom" else "",
            "selected_statuses": query.getlist("status"),
            "has_tenant": "tenant" in filterset.filters,
            "cluster_options": options_html(filterset.form.fields["cluster"].widget.choices, query.get("cluster", "")),
            "tenant_options": (options_html(filterset.form.fields["tenant"].widget.choices, query.get("tenant", ""))
                               if "tenant" in filterset.filters else ""),
            "drilldowns": self.drilldowns(),
            "tz_name": timezone.get_current_timezone_name(),
            "tz_offset": timezone.localtime().strftime("%z"),
            "clear_url": self.request.path + query_with(QueryDict(), range=DEFAULT_RANGE),
        })
        # The table's empty state suggests a wider window while one is narrow.
        table.wider_url = None
        if valid and range_key in ("24h", "7d", "custom"):
            table.wider_url = query_with(query, drop=("start", "end"), range="30d")
        elif valid and range_key == "30d":
            table.wider_url = query_with(query, drop=("start", "end"), range="all")
        table.filter_valid = valid
        return context

    def tab_links(self):
        carried = QueryDict(mutable=True)
        for name in SHARED_PARAMS:
            if name in self.request.GET:
                carried.setlist(name, self.request.GET.getlist(name))
        suffix = "?" + carried.urlencode() if carried else ""
        return [
            (group, [(kind.tab, kind.list_label, reverse(kind.list_view) + suffix) for kind in kinds])
            for group, kinds in TAB_GROUPS
        ]

    def drilldowns(self):
        """Active ID filters that have no visible control, shown as removable chips."""
        chips = []
        cleaned = self.filterset.form.cleaned_data if self.filterset.is_valid() else {}
        if cleaned.get("backup_set"):
            chips.append((gettext("Backup set"), cleaned["backup_set"], query_with(self.request.GET, drop=("backup_set",))))
        if cleaned.get("source"):
            chips.append((gettext("Copies of data backup task"), f"#{cleaned['source']}", query_with(self.request.GET, drop=("source",))))
        return chips


def secondary_done():
    """OV-3c as one subquery per page: has a completed secondary copy."""
    return Exists(SecondaryDataBackupTask.objects.filter(source=OuterRef("pk"), status=DataBackupStatus.COMPLETED))


class DataBackupTaskListView(TaskListView):
    queryset = DataBackupTask.objects.select_related("cluster", "tenant", "backup_set").annotate(secondary_done=secondary_done())
    filterset_class = filtersets.DataBackupTaskFilterSet
    table_class = tables.DataBackupTaskTable

    def drilldowns(self):
        chips = super().drilldowns()
        cleaned = self.filterset.form.cleaned_data if self.filterset.is_valid() else {}
        if cleaned.get("backup_set"):
            # Show the set's number (what operators know), not its row ID.
            from ..models import BackupSet

            number = BackupSet.objects.filter(pk=cleaned["backup_set"]).values_list("number", flat=True).first()
            label, _value, url = chips[0]
            chips[0] = (label, number if number is not None else f"#{cleaned['backup_set']}", url)
        return chips


class OverviewView(DataBackupTaskListView):
    """/backups/: the data backup list under the core metrics (核心指标) and
    the daily charts (engine/metrics.py; includes/core_metrics.html).  A live
    refresh of the rows reads none of it."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.request.htmx:
            context["metrics"] = MetricsPage(core_metrics())
        return context


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_databackuptask", raise_exception=True)
def overview_metrics(request):
    """The core metrics' live region alone: what the overview's figures poll
    (htmx, LIVE_REFRESH_SECONDS; paused like the lists' rows, console.js).
    The charts under them are drawn once with the page and not refreshed."""
    return render_live(request, "backups/includes/core_metrics.html", "live-metrics",
                       {"metrics": MetricsPage(core_metrics())})


class MetricsPage:
    """What the metrics template shows of ``CoreMetrics``: each figure's list
    address and the charts' data."""

    def __init__(self, metrics):
        self.m = metrics
        week_start = timezone.localtime(metrics.success.since).strftime("%Y-%m-%d")
        week = {"range": "custom", "start": week_start}
        self.links = {
            "completed_week": list_url("backups:data_list", status="completed", **week),
            "failed_week": list_url("backups:data_list", status="failed", **week),
            "failed_recent": list_url("backups:data_list", status="failed", range="24h"),
            "running_data": list_url("backups:data_list", status="in_progress", range="all"),
            "running_restore": list_url("backups:restore_list", status="in_progress", range="all"),
            "running_cleanup": list_url("backups:cleanup_list", status="running", range="all"),
            "drills_succeeded": list_url("backups:drill_list", status="succeeded", **week),
            "drills_run": list_url("backups:drill_list", **week),
        }

    def __getattr__(self, name):
        return getattr(self.m, name)

    @property
    def longest_running(self):
        """kind: (task, progress or None, estimated finish or None) of the
        task of that kind running longest (engine/metrics.py reads it)."""
        out = {}
        for kind, task in self.m.longest.items():
            if task is not None:
                progress = getattr(task, "progress", None)
                out[kind] = (task, progress, estimated_finish(task, self.m.now) if progress is not None else None)
        return out

    # The lists under the figures hold a row per cluster or tenant of the
    # fleet: their rows are markup made here, with one reverse() per list,
    # rather than a template loop resolving every cell.

    @property
    def reasons(self):
        """(why a cluster is not backed up, how many), for the figure."""
        return [(reason_text(reason), n) for reason, n in self.m.protection.reasons.items()]

    def not_backed_up_rows(self):
        detail = one_link("clusters:detail")
        return join_html("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>', (
            (detail(item.cluster.pk), item.cluster.name, reason_text(item.reason, item.days), minute(item.last_success))
            for item in self.m.protection.not_backed_up))

    def backed_up_rows(self):
        detail = one_link("clusters:detail")
        return join_html("", '<tr><td><a href="{}">{}</a></td><td>{}</td></tr>', (
            (detail(item.cluster.pk), item.cluster.name, minute(item.last_success))
            for item in self.m.protection.clusters if item.backed_up))

    @property
    def rpo_lists(self):
        """(state, label, tenants, rows) for the lists the RPO figures link to, worst state first."""
        labels = {"breached": gettext("breached"), "warning": gettext("in warning"), "ok": gettext("OK")}
        recovery, nothing = one_link("clusters:recovery"), gettext("nothing to restore to")
        lists = []
        for state in ("breached", "warning", "ok"):
            tenants = self.m.rpo.of(state)
            rows = join_html("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>', (
                (recovery(t.cluster_id), t.tenant, t.cluster, nothing if t.rpo.seconds is None else readable_delay(t.rpo.seconds))
                for t in tenants))
            lists.append((state, labels[state], len(tenants), rows))
        return lists

    def lagging_rows(self):
        detail = one_link("backups:log_detail")
        return join_html("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>', (
            (detail(lag.task.pk), lag.task.cluster.name, readable_delay(lag.seconds), readable_delay(lag.threshold))
            for lag in self.m.lagging))

    @property
    def sparkline(self):
        return sparkline_points(self.m.success.daily)

    @property
    def chart_data(self):
        """The charts' numbers (json_script): days, outcomes and bytes written."""
        daily = self.m.success.daily
        return {
            "days": [day.strftime("%m-%d") for day, *_ in daily],
            "completed": [completed for _, completed, _, _ in daily],
            "failed": [failed for _, _, failed, _ in daily],
            "gib": [round(written / 2**30, 1) for *_, written in daily],
            "rpo": {"labels": [label for label, _ in self.rpo_buckets], "tenants": [n for _, n in self.rpo_buckets]},
            "labels": {
                "completed": gettext("Completed"), "failed": gettext("Failed"),
                "volume": gettext("Backup volume (GiB)"), "tenants": gettext("Tenants"),
            },
        }

    @property
    def rpo_buckets(self):
        """(label, tenants) of the RPO distribution chart, shortest RPO first."""
        labels = [gettext("under 1 min"), gettext("1–5 min"), gettext("5–15 min"), gettext("15–60 min"),
                  gettext("over 1 h"), gettext("nothing to restore to")]
        return list(zip(labels, rpo_distribution(self.m.rpo), strict=True))


def reason_text(reason, days=None):
    """Why a cluster is not backed up (engine/metrics.py's reasons), in words."""
    if reason == "no_policy":
        return gettext("No backup policy")
    if reason == "paused":
        return gettext("Policy paused")
    if reason == "last_failed":
        return gettext("Last data backup failed")
    if days:
        return ngettext("No successful data backup in %(n)s day", "No successful data backup in %(n)s days", days) % {"n": days}
    return gettext("No recent successful data backup")


def minute(moment):
    """A moment to the minute, local, or a dash."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def sparkline_points(daily, width=120, height=28):
    """The success rate per day as SVG polyline segments ("x,y x,y"): a day
    with no finished backup breaks the line."""
    segments, current = [], []
    step = width / max(1, len(daily) - 1)
    for n, (_day, completed, failed, _written) in enumerate(daily):
        if completed + failed == 0:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        rate = completed / (completed + failed)
        current.append(f"{n * step:.1f},{(1 - rate) * (height - 4) + 2:.1f}")
    if current:
        segments.append(" ".join(current))
    return segments


class LiveFirstMixin:
    """Log backups are long-lived streams: the live ones first, then the most
    recently ended.  The effective-end index answers that order within the
    window as one bounded range; newest start first made PostgreSQL walk every
    older row when the window held few log backups."""

    def get_queryset(self):
        return super().get_queryset().order_by("-effective_end", "-id")

    def rows_context(self):
        # Each row's Stop/Start form: one CSRF field and return address per page, not per row.
        return {"csrf_field": csrf_input(self.request), "next_path": self.request.get_full_path()}


class LogBackupTaskListView(LiveFirstMixin, TaskListView):
    # superseded: Start applies only to the cluster's current piece (engine rule),
    # answered in the page's own query.
    queryset = LogBackupTask.objects.select_related("cluster", "host", "policy").annotate(superseded=superseded(TaskKind.LOG))
    filterset_class = filtersets.LogBackupTaskFilterSet
    table_class = tables.LogBackupTaskTable


class CleanupTaskListView(TaskListView):
    queryset = CleanupTask.objects.select_related("cluster")
    filterset_class = filtersets.CleanupTaskFilterSet
    table_class = tables.CleanupTaskTable


class SecondaryDataBackupTaskListView(TaskListView):
    queryset = SecondaryDataBackupTask.objects.select_related("cluster", "tenant", "backup_set")
    filterset_class = filtersets.SecondaryDataBackupTaskFilterSet
    table_class = tables.SecondaryDataBackupTaskTable


class SecondaryLogBackupTaskListView(LiveFirstMixin, TaskListView):
    queryset = SecondaryLogBackupTask.objects.select_related("cluster").annotate(superseded=superseded(TaskKind.SECONDARY_LOG))
    filterset_class = filtersets.SecondaryLogBackupTaskFilterSet
    table_class = tables.SecondaryLogBackupTaskTable


class RestoreTaskListView(TaskListView):
    queryset = RestoreTask.objects.select_related("cluster", "source_tenant", "target_cluster")
    filterset_class = filtersets.RestoreTaskFilterSet
    table_class = tables.RestoreTaskTable
