"""The backup overview (SPEC section 3): five task lists, one declarative view
each, and a data backup task's detail page.

Every list is a FilterSet + a Table wired by ``TaskListView``.  Bad query
strings never reach the database: invalid filters answer 400 with the form's
messages; sort keys, page numbers and page sizes that make no sense fall back
to the defaults with a notice.
"""

from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import Exists, F, IntegerField, OuterRef
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.shortcuts import get_object_or_404, render
from django.template import engines
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator
from markupsafe import escape

from . import filtersets, tables
from .choices import STATUS_COLORS, DataBackupStatus, LogBackupStatus
from .models import CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask
from .tables import choice_labels, stamp, url_pattern
from .templatetags.console import duration_text
from .timerange import DEFAULT_RANGE, RANGE_CHOICES, effective_end
from .transitions import sources

TABS = [
    (_("Normal backups"), [
        ("data", _("Data backup tasks"), "backups:data_list"),
        ("logs", _("Log backup tasks"), "backups:log_list"),
        ("cleanups", _("Cleanup tasks"), "backups:cleanup_list"),
    ]),
    (_("Secondary backups"), [
        ("secondary_data", _("Secondary data backups"), "backups:secondary_data_list"),
        ("secondary_logs", _("Secondary log backups"), "backups:secondary_log_list"),
    ]),
]
# Query parameters a tab switch carries over (the rest belong to one list).
SHARED_PARAMS = ("range", "start", "end", "cluster")
PER_PAGE_CHOICES = (10, 20, 50, 100)
DEFAULT_PER_PAGE = 20
MAX_PAGE = 100_000
# Counting stops here, and so do the pages: "10,000+" is as useful as an exact
# figure, and a window with more rows than that is narrowed, not paged through.
COUNT_CAP = 10_000


def query_with(query, drop=(), **params):
    """A copy of a QueryDict with some parameters replaced or removed, as '?...'."""
    query = query.copy()
    for name in ("page", *drop):
        query.pop(name, None)
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            query.setlist(name, value)
        else:
            query[name] = value
    return "?" + query.urlencode()


def options_html(choices, chosen):
    """A select's <option>s: a hundred clusters through a template loop (or
    the widget's per-option templates) cost milliseconds per page."""
    return mark_safe("".join(
        f'<option value="{escape(value)}"{" selected" if str(value) == chosen else ""}>{escape(label)}</option>'
        for value, label in choices
    ))


class InvalidFilter400Mixin:
    """A FilterView whose invalid filters answer 400: the page still renders,
    with the form's messages and any ``notices`` the view collected."""

    def get(self, request, *args, **kwargs):
        self.notices = []
        response = super().get(request, *args, **kwargs)
        if self.filterset.is_bound and not self.filterset.is_valid():
            response.status_code = 400
        return response


class UntrustedQueryMixin(InvalidFilter400Mixin):
    """What the bounded lists do with the rest of the query string: odd sort
    keys, page numbers and page sizes fall back to the defaults with a notice."""

    # Page numbers above this are refused (None: any, the list stops them itself).
    max_page = None

    def order_table(self, table):
        table.request = self.request
        order_by = [key[:64] for key in self.request.GET.getlist(table.prefixed_order_by_field)[:3]]
        if order_by:
            table.order_by = order_by  # unknown or unsortable keys are dropped by the table
            if not table.order_by:
                self.notices.append(gettext("Unknown sort order ignored."))
        return table

    def per_page(self):
        raw = self.request.GET.get("per_page", "")
        if not raw:
            return DEFAULT_PER_PAGE
        if raw.isdecimal() and len(raw) < 4 and int(raw) in PER_PAGE_CHOICES:
            return int(raw)
        self.notices.append(gettext("Page size must be one of %(sizes)s; showing %(default)s rows.") % {
            "sizes": ", ".join(map(str, PER_PAGE_CHOICES)), "default": DEFAULT_PER_PAGE,
        })
        return DEFAULT_PER_PAGE

    def page_number(self):
        raw = self.request.GET.get("page", "")
        if not raw:
            return 1
        if raw.isdecimal() and len(raw) < 10 and int(raw) >= 1 and (self.max_page is None or int(raw) <= self.max_page):
            return int(raw)
        self.notices.append(gettext("That page does not exist; showing the first page."))
        return 1


class BoundedTableMixin(UntrustedQueryMixin, SingleTableMixin):
    """A FilterView's django-tables2 table (the cluster list: a few hundred
    rows at most), paginated without trusting the query string.

    Pages come from LazyPaginator (no COUNT over the whole result) and the
    total is counted only up to COUNT_CAP.
    """

    max_page = MAX_PAGE

    def get_table(self, **kwargs):
        table = self.order_table(self.get_table_class()(data=self.get_table_data(), **self.get_table_kwargs(), **kwargs))
        per_page = self.per_page()
        page = self.page_number()
        self.total = self.capped_count()
        if self.total <= COUNT_CAP:
            last = max(1, -(-self.total // per_page))
            if page > last:
                self.notices.append(gettext("There is no page %(page)s; showing the last page.") % {"page": page})
                page = last
        try:
            table.paginate(paginator_class=LazyPaginator, per_page=per_page, page=page)
        except (EmptyPage, PageNotAnInteger):
            self.notices.append(gettext("There is no page %(page)s; showing the first page.") % {"page": page})
            table.paginate(paginator_class=LazyPaginator, per_page=per_page, page=1)
        return table

    def capped_count(self):
        # Only the IDs: no joins or annotations are needed to count.
        return self.object_list.values("pk")[: COUNT_CAP + 1].count()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({
            "notices": self.notices,
            "filter_valid": self.filterset.is_valid(),
            "total": self.total,
            "total_capped": self.total > COUNT_CAP,
            "count_cap": COUNT_CAP,
            "per_page_choices": PER_PAGE_CHOICES,
            "per_page": context["table"].paginator.per_page,
        })
        return context


class Page:
    """One page of a list: its rows, the capped total and the page links."""

    def __init__(self, rows, number, per_page, total):
        self.rows, self.number, self.per_page, self.total = rows, number, per_page, total
        self.capped = total > COUNT_CAP
        # Beyond COUNT_CAP rows the pages stop: narrowing the window reaches older tasks.
        self.num_pages = max(1, -(-min(total, COUNT_CAP) // per_page))
        self.has_previous = number > 1
        self.has_next = number < self.num_pages
        self.previous_page_number, self.next_page_number = number - 1, number + 1

    def page_range(self):
        """1 … n-2 n-1 n n+1 n+2 … last"""
        pages = sorted({1, self.num_pages, *range(max(1, self.number - 2), min(self.num_pages, self.number + 2) + 1)})
        shown, previous = [], 0
        for p in pages:
            if p - previous > 1:
                shown.append("...")
            shown.append(p)
            previous = p
        return shown


class PartsQuery:
    """One page of rows whose window is split into disjoint parts
    (``TimeRangeFilterSet.window_parts``).

    The first part is one range of the index that sorts the list: it is read
    in order and cut at the rows the page can need.  The others are the
    tasks alive at an instant, a few per cluster, which the GiST span index
    finds: they are read whole, unsorted, since an ordered walk of them would
    scan all older history (PostgreSQL guesses 1% of tasks are alive at any
    instant, and walks the sort index hoping to meet them early).  The page
    is the first rows of the union, re-sorted.  The total is counted over
    the same parts, each read up to COUNT_CAP + 1 rows."""

    def __init__(self, parts):
        self.parts = parts
        self.keys = [(name.lstrip("-"), name.startswith("-")) for name in parts[0].query.order_by]

    def _union(self, columns, limit, ordered=True):
        """SQL of the parts, each selecting ``columns`` (alias -> expression);
        the first cut at ``limit`` rows in order (``ordered``), the rest whole."""
        pieces, params = [], []
        for number, part in enumerate(self.parts):
            part = part.annotate(**columns).values(*columns)
            if number == 0:
                part = (part if ordered else part.order_by())[:limit]
            else:
                part = part.order_by()
            sql, part_params = part.query.sql_with_params()
            pieces.append(f"SELECT * FROM ({sql}) part{number}")
            params.extend(part_params)
        return " UNION ALL ".join(pieces), params

    def page_ids(self, offset, limit):
        """``RawSQL`` of the page's IDs in order, for ``pk__in``.  Past the
        last row the offset falls back to the last page's, in the same query
        (a typed page number or a stale link costs no second round trip)."""
        columns = {"k_id": F("pk")}
        ordering = []
        for number, (key, descending) in enumerate(self.keys):
            alias = "k_id" if key in ("id", "pk") else f"k{number}"
            columns.setdefault(alias, F(key))
            ordering.append(f'"{alias}" {"DESC" if descending else "ASC"}')
        sql, params = self._union(columns, offset + limit)
        offset, limit = int(offset), int(limit)
        offset_sql = str(offset)
        if offset:
            total = self.capped_total()
            offset_sql = (f"(SELECT CASE WHEN n > {offset} THEN {offset} ELSE ((n - 1) / {limit}) * {limit} END "
                          f"FROM (SELECT CASE WHEN c > {COUNT_CAP} THEN {COUNT_CAP} ELSE c END AS n "
                          f"FROM ({total.sql}) AS counted) AS capped)")
            params = (*params, *total.params)
        return RawSQL(f'SELECT "k_id" FROM ({sql}) parts ORDER BY {", ".join(ordering)} '
                      f"LIMIT {limit} OFFSET {offset_sql}", params)

    def capped_total(self):
        """``RawSQL`` counting the parts' rows, reading at most COUNT_CAP + 1."""
        sql, params = self._union({"k_id": F("pk")}, COUNT_CAP + 1, ordered=False)
        return RawSQL(f"SELECT COUNT(*) AS c FROM (SELECT 1 FROM ({sql}) parts LIMIT {COUNT_CAP + 1}) capped", params,
                      output_field=IntegerField())


class BoundedListMixin(UntrustedQueryMixin):
    """A FilterView's page, without trusting the query string and without
    counting more than COUNT_CAP rows.

    The page's rows and the capped total come back from one query (the count
    is a subquery the database runs once); page numbers stop at COUNT_CAP
    rows, with a notice to narrow the window.
    """

    table_class = None
    rows_template = None  # a Jinja2 template (templates/jinja2/), fed by prepare_rows
    label_fields = ("status",)  # choice fields whose labels the rows show

    def get_table(self):
        return self.order_table(self.table_class(data=self.object_list))

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
        page = self.get_queryset().filter(pk__in=query.page_ids((number - 1) * per_page, per_page))
        rows = list(page.order_by(*query.parts[0].query.order_by).annotate(capped_total=query.capped_total()))
        self.prepare_rows(rows)
        return rows

    def parts_query(self, ordered):
        order = ordered.query.order_by or ordered.model._meta.ordering
        return PartsQuery(self.filterset.window_parts(order))

    def prepare_rows(self, rows):
        """What each row's cells show, computed here once per page rather than
        per cell in the template: choice labels translated once, times
        formatted without the date filter's machinery, links from a pattern."""
        status_urls = {value: query_with(self.request.GET, status=[value]) for value, _label in self.filterset.filters["status"].extra["choices"]}
        labels = {name: choice_labels(self.object_list.model, name) for name in self.label_fields}
        cluster_url = url_pattern("clusters:detail")
        for row in rows:
            row.status_url = status_urls.get(row.status, "?")
            row.cluster_url = cluster_url(row.cluster_id)
            for name, texts in labels.items():
                value = getattr(row, name)
                setattr(row, f"{name}_label", texts.get(value, value))
            row.started_text, row.ended_text = stamp(row.started_at), stamp(row.ended_at)

    def render_rows(self, rows):
        template = engines["jinja2"].get_template(self.rows_template)
        return mark_safe(template.render({"rows": rows, **self.rows_context()}, self.request))

    def rows_context(self):
        """What the rows template needs besides the rows (the same for every row)."""
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = self.get_table()
        valid = self.filterset.is_valid()
        page = self.get_page(table.data.data) if valid else Page([], 1, self.per_page(), 0)
        context.update({
            "table": table,
            "page": page,
            "rows": page.rows,
            "rows_html": self.render_rows(page.rows) if page.rows else "",
            "notices": self.notices,
            "filter_valid": valid,
            "total": page.total,
            "total_capped": page.capped,
            "count_cap": COUNT_CAP,
            "per_page_choices": PER_PAGE_CHOICES,
            "per_page": page.per_page,
        })
        return context


class TaskListView(PermissionRequiredMixin, BoundedListMixin, FilterView):
    """One overview tab: a FilterSet narrows ``queryset``, a Table shows a page.

    Reading a list needs the view permission of its model (every role has it;
    a signed-in account in no group gets 403).
    """

    raise_exception = True

    def get_permission_required(self):
        meta = self.queryset.model._meta
        return [f"{meta.app_label}.view_{meta.model_name}"]

    template_name = "backups/task_list.html"
    tab = None
    queryset = None
    filterset_class = None
    table_class = None

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
            # A submitted form with its dates cleared falls back to the default window.
            "form_range": DEFAULT_RANGE if range_key == "custom" else range_key,
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
            (group, [(key, label, reverse(viewname) + suffix) for key, label, viewname in items])
            for group, items in TABS
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
    tab = "data"
    queryset = DataBackupTask.objects.select_related("cluster", "tenant", "backup_set").annotate(secondary_done=secondary_done())
    filterset_class = filtersets.DataBackupTaskFilterSet
    table_class = tables.DataBackupTaskTable
    rows_template = "backups/rows/data.html"
    label_fields = ("status", "mode", "backup_method")

    def prepare_rows(self, rows):
        super().prepare_rows(rows)
        copies = reverse("backups:secondary_data_list")
        detail_url = url_pattern("backups:data_detail")
        for row in rows:
            # OV-3c: "yes" lists every secondary copy of this task, whatever its age.
            row.copies_url = f"{copies}?source={row.pk}&range=all"
            row.detail_url = detail_url(row.pk)
            row.duration_text = duration_text(row.duration)

    def drilldowns(self):
        chips = super().drilldowns()
        cleaned = self.filterset.form.cleaned_data if self.filterset.is_valid() else {}
        if cleaned.get("backup_set"):
            # Show the set's number (what operators know), not its row ID.
            from .models import BackupSet

            number = BackupSet.objects.filter(pk=cleaned["backup_set"]).values_list("number", flat=True).first()
            label, _value, url = chips[0]
            chips[0] = (label, number if number is not None else f"#{cleaned['backup_set']}", url)
        return chips


class LiveFirstMixin:
    """Log backups are long-lived streams: the live ones first, then the most
    recently ended.  The effective-end index answers that order within the
    window as one bounded range; newest start first made PostgreSQL walk every
    older row when the window held few log backups (~1 s at 10M rows)."""

    stop_url = start_url = None

    def get_queryset(self):
        return super().get_queryset().order_by("-effective_end", "-id")

    def rows_context(self):
        # Each row's Stop/Start form: one CSRF field and return address per page, not per row.
        return {"csrf_field": csrf_input(self.request), "next_path": self.request.get_full_path()}

    def prepare_rows(self, rows):
        super().prepare_rows(rows)
        kind = self.object_list.model.KIND
        stoppable, startable = sources(kind, LogBackupStatus.STOPPING), sources(kind, LogBackupStatus.STARTING)
        stop_url, start_url = url_pattern(self.stop_url), url_pattern(self.start_url)
        for row in rows:
            row.latest_text = stamp(row.latest_point)
            # The buttons appear exactly where the state machine allows the move.
            row.stop_url = stop_url(row.pk) if row.status in stoppable else None
            row.start_url = start_url(row.pk) if row.status in startable else None


class LogBackupTaskListView(LiveFirstMixin, TaskListView):
    tab = "logs"
    queryset = LogBackupTask.objects.select_related("cluster", "host", "policy")
    filterset_class = filtersets.LogBackupTaskFilterSet
    table_class = tables.LogBackupTaskTable
    rows_template = "backups/rows/logs.html"
    label_fields = ("status", "backup_method")
    stop_url, start_url = "backups:log_stop", "backups:log_start"

    def prepare_rows(self, rows):
        super().prepare_rows(rows)
        now = timezone.now()
        for row in rows:
            delay = tables.log_delay(row, now)
            row.delay = delay and delay["text"]
            row.delay_alert = bool(delay and delay["over"])
            row.delay_threshold = delay and delay["threshold"]


class CleanupTaskListView(TaskListView):
    tab = "cleanups"
    queryset = CleanupTask.objects.select_related("cluster")
    filterset_class = filtersets.CleanupTaskFilterSet
    table_class = tables.CleanupTaskTable
    rows_template = "backups/rows/cleanups.html"


class SecondaryDataBackupTaskListView(TaskListView):
    tab = "secondary_data"
    queryset = SecondaryDataBackupTask.objects.select_related("cluster", "tenant", "backup_set")
    filterset_class = filtersets.SecondaryDataBackupTaskFilterSet
    table_class = tables.SecondaryDataBackupTaskTable
    rows_template = "backups/rows/secondary_data.html"
    label_fields = ("status", "mode")

    def prepare_rows(self, rows):
        super().prepare_rows(rows)
        data_list = reverse("backups:data_list")
        for row in rows:
            # Every data backup task of this set, whatever its age.
            row.set_url = f"{data_list}?backup_set={row.backup_set_id}&range=all"


class SecondaryLogBackupTaskListView(LiveFirstMixin, TaskListView):
    tab = "secondary_logs"
    queryset = SecondaryLogBackupTask.objects.select_related("cluster")
    filterset_class = filtersets.SecondaryLogBackupTaskFilterSet
    table_class = tables.SecondaryLogBackupTaskTable
    rows_template = "backups/rows/secondary_logs.html"
    stop_url, start_url = "backups:secondary_log_stop", "backups:secondary_log_start"


@permission_required("backups.view_databackuptask", raise_exception=True)
def data_detail(request, pk):
    """One data backup task: what the expanded row shows, plus its history and copies."""
    task = get_object_or_404(
        DataBackupTask.objects.select_related("cluster", "tenant", "backup_set", "policy", "requested_by"), pk=pk
    )
    return render(request, "backups/data_detail.html", {
        "task": task,
        "events": task.events.select_related("actor")[:50],
        "copies": task.secondary_copies.select_related("destination").order_by("-started_at", "-id")[:50],
        "tz_name": timezone.get_current_timezone_name(),
        "tabs_url": reverse("backups:data_list"),
    })
