"""Every list as a file: the list's own address with ``_export=csv`` or
``_export=xlsx`` added (django-tables2's trigger parameter) downloads the rows
the list shows — its filters, its order, its permission — up to COUNT_CAP
rows, with the columns its Table declares.

Each cell is the column's plain value as django-tables2 gives it for exports
(``Column.value`` / ``value_<name>``: choice labels, names, numbers, never
HTML).  Times are written in the console's time zone, which every time
column's header names ("Start time (Asia/Shanghai)"); headers and labels are
in the reader's language.

CSV is streamed: the rows come through a server-side cursor in chunks
(``QuerySet.iterator``) and leave as they come, so memory stays flat.  XLSX
is one zip that must be whole before it is sent: it is built in memory with
tablib/openpyxl, which the cap keeps to COUNT_CAP rows (its time and memory
at the cap are in the README).

A list holding more than COUNT_CAP rows exports the first COUNT_CAP and says
so on a last line.  Text someone typed (a tenant, policy or cluster name, an
audit detail) that begins like a formula (``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) is written with a leading ``'``, so a spreadsheet shows it
as text instead of running it (OWASP's advice against CSV injection).
"""

import csv
from datetime import datetime
from itertools import islice

import tablib
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, Model
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.encoding import force_str
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext
from django_tables2.export import TableExport
from django_tables2.utils import signature

from .lists import COUNT_CAP, query_with

EXPORT_PARAM = "_export"
FORMATS = (TableExport.CSV, TableExport.XLSX)
CHUNK_SIZE = 1000  # rows per server-side cursor fetch, and per piece of a streamed CSV
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text):
    """Text a spreadsheet would read as a formula, made plain text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_format(request):
    """The format asked for: None (no export), a known format, or the raw unknown value."""
    return request.GET.get(EXPORT_PARAM)


def refused(request, value):
    """An unknown ``_export`` value: 400, in the console's frame, with the way back."""
    message = gettext("“%(format)s” is not an export format. Choose one of: %(formats)s.") % {
        "format": value[:20], "formats": ", ".join(f.upper() for f in FORMATS),
    }
    back = request.path + query_with(request.GET, drop=(EXPORT_PARAM,))
    return render(request, "export_refused.html", {"message": message, "back_url": back}, status=400)


class ListExport:
    """The rows of a list, as the header and plain values of its Table's
    columns (``exclude_from_export`` ones left out, hidden export-only ones
    in), read from ``records`` (at most COUNT_CAP + 1 of them: one more
    than the cap only tells that the list was capped)."""

    def __init__(self, table, records):
        self.table, self.records = table, records
        meta = table._meta.model._meta
        with translation.override("en"):
            self.name = slugify(str(meta.verbose_name_plural))  # data-backup-tasks, audit-trail
        self.title = capfirst(meta.verbose_name_plural)  # the sheet's name, in the reader's language
        self.columns = [bound for bound in table.columns.iterall() if not bound.column.exclude_from_export]
        self.capped = False
        self.language = translation.get_language()
        self.zone = timezone.get_current_timezone()
        self.moment = timezone.localtime()

    def filename(self, fmt):
        return f"{self.name}-{self.moment:%Y%m%d-%H%M}.{fmt}"

    def headers(self):
        model = self.table._meta.model
        zone = timezone.get_current_timezone_name()
        headers = []
        for bound in self.columns:
            header = getattr(bound.column, "export_header", None)
            if header is None:
                header = bound.header
                if _is_time(model, bound.accessor):
                    header = f"{header} ({zone})"
            headers.append(force_str(header))
        return headers

    def rows(self):
        """Each row's values, in order; stops at COUNT_CAP and sets ``capped``."""
        cells = [CellValue(bound, self.table) for bound in self.columns]
        for number, record in enumerate(islice(self.records, COUNT_CAP + 1)):
            if number == COUNT_CAP:
                self.capped = True
                return
            yield [cell(record) for cell in cells]

    def cap_note(self):
        return gettext(
            "Only the first %(count)s rows: the list holds more. Narrow the time range or the filters to export the rest."
        ) % {"count": f"{COUNT_CAP:,}"}

    def response(self, fmt):
        if fmt == TableExport.CSV:
            response = StreamingHttpResponse(self._csv(), content_type=TableExport.FORMATS[fmt])
        else:
            response = HttpResponse(self._xlsx(), content_type=TableExport.FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{self.filename(fmt)}"'
        return response

    def _csv(self):
        # The response is read after the view returned: keep its language and zone.
        with translation.override(self.language), timezone.override(self.zone):
            line = _Line()
            writer = csv.writer(line)
            # A byte-order mark, or Excel reads UTF-8 (Chinese headers) as a legacy code page.
            yield "\ufeff" + writer.writerow(self.headers())
            plain = _Plain(self.zone)
            chunk = []
            for row in self.rows():
                chunk.append(writer.writerow([plain.csv(value) for value in row]))
                if len(chunk) == CHUNK_SIZE:
                    yield "".join(chunk)
                    chunk = []
            if self.capped:
                chunk.append(writer.writerow([neutralise(self.cap_note())]))
            yield "".join(chunk)

    def _xlsx(self):
        plain = _Plain(self.zone)
        dataset = tablib.Dataset(headers=self.headers(), title=force_str(self.title)[:31])
        for row in self.rows():
            dataset.append([plain.xlsx(value) for value in row])
        if self.capped:
            dataset.append_separator(self.cap_note())
        return dataset.export(TableExport.XLSX)


class CellValue:
    """One column's export value of a record: what django-tables2's
    ``BoundRow.get_cell_value`` gives (the accessor's value, a choice's label
    for a choice field, ``None`` for an empty value, else the column's
    ``value_<name>`` / ``render_<name>`` / ``Column.value``), with what is the
    same for every row worked out once: the accessor's path, the choice
    labels (translated once), and which arguments the value method takes.
    django-tables2 inspects that method's signature on every cell, which was
    nine tenths of a 10,000-row export's time (tests/views/test_export.py
    holds the two equal)."""

    def __init__(self, bound, table):
        self.path = bound.accessor.bits
        self.bound, self.table = bound, table
        self.labels = None
        try:
            field = bound.accessor.get_field(table._meta.model)
        except (FieldDoesNotExist, AttributeError):
            field = None
        if field is not None and getattr(field, "choices", None):
            self.labels = {value: str(label) for value, label in field.flatchoices}
        self.empty = bound.column.empty_values
        self.method = bound.value
        wanted, catch_all = signature(self.method)
        self.wanted = None if catch_all else wanted

    def __call__(self, record):
        value = record
        for bit in self.path:
            value = getattr(value, bit, None)
            if value is None:
                break
            if callable(value) and not isinstance(value, Model) and not getattr(value, "do_not_call_in_templates", False):
                value = value()
        if self.labels is not None:
            value = self.labels.get(value, value)
        if value in self.empty:
            return None
        arguments = {"value": value, "record": record, "column": self.bound.column, "bound_column": self.bound,
                     "bound_row": None, "table": self.table}
        if self.wanted is not None:
            arguments = {name: arguments[name] for name in self.wanted}
        return self.method(**arguments)


def _is_time(model, accessor):
    try:
        return isinstance(accessor.get_field(model), DateTimeField)
    except (FieldDoesNotExist, AttributeError):
        return False


class _Line:
    """What csv.writer writes to: it hands back each line instead of keeping it."""

    def write(self, text):
        return text


class _Plain:
    """A cell value as each format stores it: text made formula-safe, times
    in the console's zone (a spreadsheet's own date cells in XLSX), yes/no
    in words."""

    def __init__(self, zone):
        self.zone = zone
        self.yes, self.no = gettext("Yes"), gettext("No")

    def common(self, value):
        if value is None:
            return ""
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, int | float):
            return value
        return neutralise(force_str(value))

    def csv(self, value):
        if isinstance(value, datetime):
            return timezone.localtime(value, self.zone).strftime("%Y-%m-%d %H:%M:%S")
        return self.common(value)

    def xlsx(self, value):
        if isinstance(value, datetime):
            # Spreadsheets have no time zones: the header names the zone.
            return timezone.localtime(value, self.zone).replace(tzinfo=None)
        return self.common(value)


class ExportMixin:
    """A list view that also answers its own address with ``?_export=csv`` or
    ``?_export=xlsx``: the same FilterSet and permission (the view's), and
    what the view's ``export_source()`` gives: its Table and the records in
    the list's order (at most COUNT_CAP + 1 are read).  Invalid filters answer as the list does (the page, 400); an
    unknown format answers 400 with the formats there are."""

    def get(self, request, *args, **kwargs):
        fmt = export_format(request)
        if fmt is None:
            return super().get(request, *args, **kwargs)
        if fmt not in FORMATS:
            return refused(request, fmt)
        self.notices = []
        self.filterset = self.get_filterset(self.get_filterset_class())
        if self.filterset.is_bound and not self.filterset.is_valid():
            return super().get(request, *args, **kwargs)
        self.object_list = self.filterset.qs
        table, records = self.export_source()
        return ListExport(table, records).response(fmt)


class TableExportMixin(ExportMixin):
    """ExportMixin for a django-tables2 list (``BoundedTableMixin``): the
    table's own sort applied to the filtered queryset."""

    def export_source(self):
        table = self.order_table(self.get_table_class()(data=self.get_table_data(), **self.get_table_kwargs()))
        ordered = table.data.data  # the queryset as the table sorted it
        return table, ordered[: COUNT_CAP + 1].iterator(chunk_size=CHUNK_SIZE)
