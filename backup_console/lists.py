"""What every list of the console shares: the query-string checks (a bad
filter answers 400 with the form's messages; odd sort keys, page numbers and
page sizes fall back to the defaults with a notice), one paging scheme for
django-tables2 tables (no COUNT(*) over everything: the total is counted only
up to COUNT_CAP), and the one way to build a link to a list.

The task lists read their pages through ``backups.paging`` (the split time
window); they use the same checks, caps and links from here.
"""

import html

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

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
    default_per_page = DEFAULT_PER_PAGE
    per_page_choices = PER_PAGE_CHOICES

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
            return self.default_per_page
        if raw.isdecimal() and len(raw) < 4 and int(raw) in self.per_page_choices:
            return int(raw)
        self.notices.append(gettext("Page size must be one of %(sizes)s; showing %(default)s rows.") % {
            "sizes": ", ".join(map(str, self.per_page_choices)), "default": self.default_per_page,
        })
        return self.default_per_page

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
    total is counted only up to COUNT_CAP; a list whose rows only grow (the
    audit trail) sets ``count_total = False`` and counts nothing.
    """

    max_page = MAX_PAGE
    count_total = True

    def get_table(self, **kwargs):
        table = self.order_table(self.get_table_class()(data=self.get_table_data(), **self.get_table_kwargs(), **kwargs))
        per_page = self.per_page()
        page = self.page_number()
        self.total = self.capped_count() if self.count_total else None
        if self.total is not None and self.total <= COUNT_CAP:
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

    def filter_valid(self):
        """False only for filters that were given and are wrong: a list opened
        without a query string has an unbound filterset, which is not an error."""
        return not self.filterset.is_bound or self.filterset.is_valid()

    def capped_count(self):
        # Only the IDs: no joins or annotations are needed to count.
        return self.object_list.values("pk")[: COUNT_CAP + 1].count()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({
            "notices": self.notices,
            "filter_valid": self.filter_valid(),
            "total": self.total,
            "total_capped": self.total is not None and self.total > COUNT_CAP,
            "count_cap": COUNT_CAP,
            "per_page_choices": PER_PAGE_CHOICES,
            "per_page": context["table"].paginator.per_page,
        })
        return context


def _cell(value):
    """``conditional_escape`` without its lazy-string machinery: markup stays, the rest is escaped."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def join_html(sep, template, rows):
    """``format_html_join(sep, template, rows)``, the same markup, for lists of
    thousands of cells (a fleet's tenants, a 90-day chart's hours): Django's
    escape goes through its lazy-string wrapper per value, which cost more
    than the rest of those pages."""
    return mark_safe(sep.join(template.format(*map(_cell, row)) for row in rows))


def one_link(viewname):
    """A function of a pk giving the address of the ``viewname`` page (whose
    one argument is the pk) from one reverse(): for lists of many rows."""
    marker = 987654321987654321
    before, after = reverse(viewname, args=[marker]).split(str(marker))
    return lambda pk: f"{before}{int(pk)}{after}"


def list_url(viewname, **params):
    """A task-list address with these query parameters."""
    return reverse(viewname) + query_with(QueryDict(), **params)
