"""The time-range filter every task list shares (SPEC OV-8), written once.

Query parameters: ``range`` = ``24h`` | ``7d`` | ``30d`` | ``custom`` | ``all``,
and with ``custom`` a ``start`` and/or ``end`` given as a date (``2025-03-01``)
or a date-time (``2025-03-01T08:30``), read in the current time zone.  A date
as ``end`` means the whole of that day.  The filter bar sends date-times (its
inputs are ``datetime-local``); dates are what older bookmarks carry.

A start or an end under any other range still means a custom range (older
bookmarks, and the filter bar without script, send ``range=7d&start=…``):
``custom_range_query`` gives the address such a list redirects to, which says
``range=custom``.

A task belongs to a window when its life overlaps it: it started before the
window ended, and it had not ended before the window began (a running task,
``ended_at`` NULL, has not ended).  ``all`` is for drill-down links (a backup
set, a task's secondary copies) that must show every row whatever its age.

"Not ended before the window began" is written ``effective_end() >= start``,
with a running task's end taken as the far future, rather than as
``ended_at IS NULL OR ended_at >= start``: one range on one expression, which
an index on ``effective_end()`` (backups.models.list_indexes) answers with a
bounded range scan, and which sorts by end time in the same order as
``ended_at DESC NULLS FIRST`` (running tasks first).  The OR form cannot be an
index range, so a list filtered to a few rows would walk a cluster's whole
history.

A page of a list sorted by start time still cannot stop early with the
overlap as one condition: the start index has no lower bound for it (a task
that started a year ago may still run), so a window holding fewer rows than
the page walks all older history.  ``Window.parts`` splits the window into
what started inside it, one bounded range of the start index, and what
started before it and was still alive at its start, an interval-stabbing
query (``AliveAt``) that a GiST index on the task's span answers on
PostgreSQL (backups migration 0006).  Sorted by end time, the split is
mirrored: ended inside the window, and alive at its end.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, DateTimeField, Expression, F, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

DEFAULT_RANGE = "7d"
PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RANGE_CHOICES = [
    ("24h", _("Last 24 hours")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("custom", _("Custom")),
    ("all", _("Any time")),
]
# Years outside this span are typos, and would overflow date arithmetic.
MIN_YEAR, MAX_YEAR = 1970, 9000
# A running task's end, for ordering and overlap: after any window can end.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


def effective_end(ended="ended_at"):
    """A task's end time, or FAR_FUTURE while it runs (see the module doc)."""
    return Coalesce(ended, Value(FAR_FUTURE, output_field=DateTimeField()), output_field=DateTimeField())


class AliveAt(Expression):
    """True when a task was alive at ``moment``: started at or before it and
    not ended before it.  On PostgreSQL it is written as the containment that
    the GiST index on ``tstzrange(started_at, effective_end, '[]')`` answers
    (backups migration 0006); elsewhere as two comparisons."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, moment, started="started_at", ended="ended_at"):
        super().__init__()
        self.started, self.ended = F(started), effective_end(ended)
        self.moment = Value(moment, output_field=DateTimeField())

    def get_source_expressions(self):
        return [self.started, self.ended, self.moment]

    def set_source_expressions(self, exprs):
        self.started, self.ended, self.moment = exprs

    def _compile(self, compiler):
        return [compiler.compile(expr) for expr in (self.started, self.ended, self.moment)]

    def as_sql(self, compiler, connection):
        (started, sp), (ended, ep), (moment, mp) = self._compile(compiler)
        return f"({started} <= {moment} AND {ended} >= {moment})", (*sp, *mp, *ep, *mp)

    def as_postgresql(self, compiler, connection):
        (started, sp), (ended, ep), (moment, mp) = self._compile(compiler)
        return f"tstzrange({started}, {ended}, '[]') @> {moment}", (*sp, *ep, *mp)


@dataclass(frozen=True)
class Window:
    """A half-open span of time; either end may be open (None)."""

    start: datetime | None
    end: datetime | None

    def q(self, started="started_at", ended="ended_at"):
        """OV-8 as a Q object: started before the end, not ended before the start."""
        q = Q()
        if self.end is not None:
            q &= Q(**{f"{started}__lt": self.end})
        if self.start is not None:
            q &= Q(GreaterThanOrEqual(effective_end(ended), self.start))
        return q

    def parts(self, by="started_at"):
        """The window as disjoint Q objects whose union is ``q()``, each of
        which one index walks in the order ``by`` (``started_at`` or
        ``effective_end``) without reading rows outside the window (see the
        module doc).  One part when the window cannot be split that way."""
        end_alias = "effective_end"
        if by == "started_at" and self.start is not None:
            inside = Q(started_at__gte=self.start)
            if self.end is not None:
                inside &= Q(started_at__lt=self.end)
            return [inside, Q(started_at__lt=self.start) & Q(AliveAt(self.start))]
        if by == end_alias and self.end is not None:
            inside = Q(**{f"{end_alias}__lt": self.end})
            if self.start is not None:
                inside &= Q(**{f"{end_alias}__gte": self.start})
            return [inside, Q(started_at__lt=self.end) & Q(AliveAt(self.end))]
        return [self.q()]


def preset_window(key, now=None):
    if key not in PRESETS:
        return Window(None, None)
    now = now or timezone.now()
    return Window(now - PRESETS[key], now)


class DateOrDateTimeField(forms.CharField):
    """A date or a date-time; cleans to (datetime, is_date_only) in the current zone."""

    default_error_messages = {
        "invalid": _("Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DD HH:MM)."),
        "out_of_range": _("Enter a year between %(min)s and %(max)s."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            # parse_datetime would take a bare date too (as midnight): try dates first.
            parsed = parse_date(value)
            date_only = parsed is not None
            if parsed is None:
                parsed = parse_datetime(value.replace(" ", "T", 1))
        except ValueError:  # well formed but impossible, e.g. 2025-02-30
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range", params={"min": MIN_YEAR, "max": MAX_YEAR}
            )
        if isinstance(parsed, date) and not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed, date_only


class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


class TimeRangeForm(forms.Form):
    """Checks the range fields together and leaves the result in ``window``."""

    window = None

    def clean(self):
        data = super().clean()
        if any(name in self.errors for name in ("range", "start", "end")):
            return data
        start, end = data.get("start"), data.get("end")
        key = data.get("range") or DEFAULT_RANGE
        if start or end:
            # Dates typed into the filter bar mean a custom range.
            key = "custom"
        if key == "custom":
            if not (start or end):
                # On the field, where the filter bar shows it.
                self.add_error("start", ValidationError(_("A custom range needs a start or an end."), code="custom_empty"))
                return data
            window = Window(start[0] if start else None, _end_of(end) if end else None)
            if window.start and window.end and window.end <= window.start:
                self.add_error("end", ValidationError(_("The end must be after the start."), code="end_before_start"))
                return data
        else:
            window = preset_window(key)
        data["range"] = key
        self.window = window
        return data


def custom_range_query(query):
    """'?…' with ``range=custom`` when ``query`` gives a start or an end
    under another range (or none), else None: the address a list with typed
    dates belongs at, so the URL says what the page shows."""
    if query.get("range") == "custom" or not (query.get("start") or query.get("end")):
        return None
    query = query.copy()
    query["range"] = "custom"
    return "?" + query.urlencode()


def input_value(raw, end=False):
    """What a ``datetime-local`` input shows for the query's ``raw`` start or
    end, in the current time zone: a date as its midnight (an end: the next
    midnight, where that whole day ends); anything unreadable as it was typed,
    so the error beside it says what is wrong with what the operator sees."""
    try:
        value = DateOrDateTimeField().clean(raw)
    except ValidationError:
        return raw
    if value is None:
        return ""
    moment = _end_of(value) if end else value[0]
    local = timezone.localtime(moment).replace(tzinfo=None)
    return local.isoformat(timespec="seconds" if local.second else "minutes")


def _end_of(value):
    moment, date_only = value
    # A date as the end includes that whole day.
    return moment + timedelta(days=1) if date_only else moment


class TimeRangeFilterSet(django_filters.FilterSet):
    """Base of every task-list FilterSet: the OV-8 window plus a status filter hook."""

    range = django_filters.ChoiceFilter(
        label=_("Time range"), choices=RANGE_CHOICES, empty_label=None, method="filter_window"
    )
    start = DateOrDateTimeFilter(label=_("From"), method="filter_nothing")
    end = DateOrDateTimeFilter(label=_("To"), method="filter_nothing")

    def __init__(self, data=None, *args, **kwargs):
        # Always bound, so the default window applies to a bare URL too.
        data = data.copy() if data is not None else {}
        if not data.get("range"):
            data["range"] = DEFAULT_RANGE
        super().__init__(data, *args, **kwargs)

    def get_form_class(self):
        base = super().get_form_class()
        return type(base.__name__, (TimeRangeForm, base), {})

    @property
    def window(self):
        return self.form.window if self.is_valid() else None

    def filter_window(self, queryset, name, value):
        window = self.form.window
        if window is None or getattr(self, "_outside_window", False):
            return queryset
        return queryset.filter(window.q())

    def window_parts(self, order):
        """The filtered rows, sorted by ``order``, as disjoint querysets whose
        union is ``qs`` (``Window.parts``): every filter but the window, then
        one part of the window each."""
        by = order[0].lstrip("-") if order else None
        if self.window is None or by not in ("started_at", "effective_end"):
            return [self.qs.order_by(*order)]
        self._outside_window = True
        try:
            unwindowed = self.filter_queryset(self.queryset.all())
        finally:
            self._outside_window = False
        return [unwindowed.filter(part).order_by(*order) for part in self.window.parts(by)]

    def filter_nothing(self, queryset, name, value):
        # start and end are read by filter_window through the form's window.
        return queryset
