"""One page of a task list whose time window is split into disjoint parts
(``backups.timerange.Window.parts``), with its total counted only up to
``COUNT_CAP``: four queries a page, whatever the page.

What this buys (``manage.py bench_lists``, README "Performance"): a sparse
window reads its own rows instead of a cluster's whole history, and a page
number past the end costs no second round trip.
"""

from django.db.models import F, IntegerField
from django.db.models.expressions import RawSQL

from backup_console.lists import COUNT_CAP


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
