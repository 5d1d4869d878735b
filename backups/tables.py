"""One django-tables2 Table per task list (OV-3..OV-7), columns in SPEC order,
and the audit trail's table.

A task-list column is declared once, as a ``Cell``: its header and sort key
(django-tables2), its cell (a Jinja2 fragment in which ``task`` is the row
and ``texts`` the page's translated words), and the step that computes, once
per page, the values the fragment reads (``prepare(rows, page)``).  The rows
of a list are one Jinja2 loop generated from its Table's columns
(``row_template``): django-tables2's own cell rendering cost about 5x a plain
Django template loop, which cost about 4x this loop.

Only start and end time sort: each has an index in the window's order
(backups.models.list_indexes), so a sorted page stops after one page or reads
one bounded index range.  Sorting a window of months by cluster name, status
or delay would sort every row in it on each request.
"""

from dataclasses import dataclass, field

import django_tables2 as tables
from django.template import engines
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from backup_console.lists import one_link, query_with

from .choices import AlertRule, LogBackupStatus
from .engine.outcomes import describe, details_of, failure_of
from .engine.transitions import sources
from .formats import duration_text, estimated_finish, log_delay, readable_delay, stamp
from .kinds import KINDS, kind_of
from .models import (
    Alert,
    AuditEntry,
    BackupPolicy,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    RestoreDrillPolicy,
    RestoreDrillRun,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
)


def choice_labels(model, field_name):
    """{value: translated label} of a choice field, for a page of rows."""
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


@dataclass
class PageRows:
    """What a column's ``prepare`` may read besides the rows: the request and
    the list's FilterSet, and one ``now`` for the whole page."""

    request: object
    filterset: object
    model: type
    now: object = field(default_factory=timezone.now)


# Bootstrap's display utilities: hidden below its "sm" breakpoint (576 px).
WIDE_ONLY = "d-none d-sm-table-cell"


class Cell(tables.Column):
    """A task-list column: header and sort key, cell fragment, prepare step,
    and its value in an export.

    ``cell`` is Jinja2 source for the inside of the ``<td>`` (``td`` its
    attributes); ``texts`` the words it needs, translated once per page and
    read as ``texts.<name>``; ``prepare(rows, page)`` sets on each row what
    the fragment reads.  Columns sort only where they say so (``order_by``).

    In an export (backup_console.export) a cell is django-tables2's plain
    value of its accessor (a choice's label, a name, a number, a time), or
    ``export(task, table)`` where that is not what the column shows, under
    ``export_header`` if given.  A column with ``visible=False`` is in the
    export only; ``exclude_from_export`` keeps one (the buttons) out of it.
    """

    def __init__(self, verbose_name, cell, *, td="", prepare=None, texts=None, order_by=None, accessor=None, narrow=True,
                 export=None, export_header=None, visible=True, exclude_from_export=False):
        # narrow=False: a column a phone's width leaves out (its header and
        # cells hidden below 576 px), so the columns that matter fit.
        attrs = {} if narrow else {"th": {"class": WIDE_ONLY}}
        if not narrow:
            td = td.replace(' class="', f' class="{WIDE_ONLY} ', 1) if ' class="' in td else f'{td} class="{WIDE_ONLY}"'
        super().__init__(verbose_name=verbose_name, accessor=accessor, order_by=order_by, orderable=order_by is not None,
                         attrs=attrs, visible=visible, exclude_from_export=exclude_from_export)
        self.cell, self.td, self.prepare, self.texts = cell, td, prepare, texts or {}
        self.export, self.export_header = export, export_header

    def value(self, record, value, table):
        return value if self.export is None else self.export(record, table)


def export_only(verbose_name, accessor=None):
    """A column the list does not show and its export does (hidden, no cell)."""
    return Cell(verbose_name, "", accessor=accessor, visible=False)


def export_failure(task, table):
    return failure_of(task)


def failure_export_cell():
    """Why a failed row failed, in an export: said in the reader's language
    (backups/engine/outcomes.py).  Not skipped as empty: a reason stored as a
    code leaves the text column empty."""
    cell = Cell(_("Failure reason"), "", visible=False, export=export_failure)
    cell.empty_values = ()
    return cell


# --- Prepare steps: values computed once per page ------------------------------------


def prepare_times(*names):
    def prepare(rows, page):
        for row in rows:
            for name in names:
                setattr(row, f"{name}_text", stamp(getattr(row, name)))

    return prepare


def prepare_label(name):
    def prepare(rows, page):
        labels = choice_labels(page.model, name)
        for row in rows:
            value = getattr(row, name)
            setattr(row, f"{name}_label", labels.get(value, value))

    return prepare


def prepare_cluster(rows, page):
    cluster_url = one_link("clusters:detail")
    for row in rows:
        row.cluster_url = cluster_url(row.cluster_id)


def prepare_status(rows, page):
    """The badge's label, and its link: this list with only this status."""
    query = page.request.GET
    urls = {value: query_with(query, status=[value]) for value, _label in page.filterset.filters["status"].extra["choices"]}
    prepare_label("status")(rows, page)
    for row in rows:
        row.status_url = urls.get(row.status, "?")


def prepare_detail_url(rows, page):
    """The task's page, and a failed row's reason in the reader's language (the modal's text)."""
    detail_url = one_link(kind_of(page.model).detail_view)
    for row in rows:
        row.detail_url = detail_url(row.pk)
        row.failure_text = failure_of(row) if row.status == "failed" else ""


def prepare_copies_url(rows, page):
    # OV-3c: "yes" lists every secondary copy of this task, whatever its age.
    copies = reverse("backups:secondary_data_list")
    for row in rows:
        row.copies_url = f"{copies}?source={row.pk}&range=all"


def prepare_set_url(rows, page):
    # Every data backup task of this set, whatever its age.
    data_list = reverse("backups:data_list")
    for row in rows:
        row.set_url = f"{data_list}?backup_set={row.backup_set_id}&range=all"


def prepare_delay(rows, page):
    for row in rows:
        delay = log_delay(row, page.now)
        row.delay = delay and delay["text"]
        row.delay_alert = bool(delay and delay["over"])
        row.delay_threshold = delay and delay["threshold"]


def export_delay(task, table):
    """The delay as a number a spreadsheet can sort and sum."""
    return int((table.now - task.latest_point).total_seconds())


def prepare_log_actions(rows, page):
    """Stop and Start appear exactly where the engine would accept them: the
    state machine allows the move, the user may take it (the views check the
    same permission), and, for Start, the row is its cluster's current piece
    (``superseded``: the list's annotation, backups.engine.services) on a
    cluster that can take backups (not unavailable)."""
    kind = kind_of(page.model).value
    meta = page.model._meta
    if not page.request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
        for row in rows:
            row.stop_url = row.start_url = None
        return
    stoppable, startable = sources(kind, LogBackupStatus.STOPPING), sources(kind, LogBackupStatus.STARTING)
    stop_url, start_url = one_link(f"backups:{kind}_stop"), one_link(f"backups:{kind}_start")
    for row in rows:
        row.stop_url = stop_url(row.pk) if row.status in stoppable else None
        row.start_url = (
            start_url(row.pk) if row.status in startable and not row.superseded and row.cluster.accepts_backups else None
        )


def prepare_progress(rows, page):
    """An in-progress data backup's estimated finish (formats.estimated_finish):
    the time of day, with the date too when it is not today."""
    today = timezone.localtime(page.now).date()
    for row in rows:
        finish = estimated_finish(row, page.now)
        row.finish_stamp = stamp(finish) if finish else ""
        local = finish and timezone.localtime(finish)
        row.finish_text = "" if not finish else local.strftime("%H:%M" if local.date() == today else "%m-%d %H:%M")


def prepare_data_status(rows, page):
    prepare_status(rows, page)
    prepare_progress(rows, page)


def prepare_data_details(rows, page):
    prepare_label("backup_method")(rows, page)
    for row in rows:
        row.duration_text = duration_text(row.duration)


# --- Columns more than one list shows ----------------------------------------------


def id_cell():
    return Cell(_("ID"), "{{ task.pk }}", td=' class="font-monospace"')


def cluster_cell():
    return Cell(_("Cluster"), '<a href="{{ task.cluster_url }}">{{ task.cluster.name }}</a>', td=' class="text-nowrap"',
                prepare=prepare_cluster, accessor="cluster__name")


def tenant_cell():
    return Cell(_("Tenant"), "{% if task.tenant_id %}{{ task.tenant.name }}{% else %}—{% endif %}",
                accessor="tenant__name", narrow=False)


def status_cell():
    return Cell(
        _("Status"),
        '<a class="badge rounded-pill status-badge text-bg-{{ task.status_color }}" href="{{ task.status_url }}" '
        'title="{{ texts.only_status }}">{{ task.status_label }}</a>',
        prepare=prepare_status, texts={"only_status": _("Show only this status")},
    )


# An in-progress data backup's bar and estimated finish, under its status.
PROGRESS = """
{%- if task.status == "in_progress" %}<div class="task-progress-cell">
<progress class="task-progress" max="100" value="{{ task.progress }}" aria-label="{{ texts.progress }}">{{ task.progress }}%</progress>
<span class="small text-body-secondary text-nowrap">{{ task.progress }}%{% if task.finish_text %} · <span class="task-finish" title="{{ texts.est_finish }} {{ task.finish_stamp }}">{{ texts.est_finish }} {{ task.finish_text }}</span>{% endif %}</span>
</div>{% endif %}"""


def data_status_cell():
    """The status badge, and while running the progress bar and estimated finish."""
    base = status_cell()
    return Cell(_("Status"), base.cell + PROGRESS, prepare=prepare_data_status,
                texts={**base.texts, "progress": _("Progress"), "est_finish": _("Est. finish")})


def start_cell():
    return Cell(_("Start time"), "{{ task.started_at_text }}", td=' class="text-nowrap"',
                prepare=prepare_times("started_at"), order_by=("started_at", "id"))


def end_cell():
    # effective_end: the view's alias for coalesce(ended_at, far future), the
    # indexed expression; it orders running tasks first, as ended_at DESC does.
    return Cell(_("End time"), "{{ task.ended_at_text }}", td=' class="text-nowrap"',
                prepare=prepare_times("ended_at"), order_by=("effective_end", "id"), accessor="ended_at", narrow=False)


def latest_point_cell(narrow=True):
    return Cell(_("Latest backup time point"), "{{ task.latest_point_text }}", td=' class="text-nowrap"',
                prepare=prepare_times("latest_point"), narrow=narrow)


def storage_cell():
    return Cell(_("Storage directory"), "{{ task.storage_directory }}", td=' class="font-monospace small text-break"',
                narrow=False)


# A failed row's "View reason" (the modal, or the task page's reason without
# script), and the link to the task's page: the last cell of every list.
REASON_AND_DETAILS = """
{%- if task.status == "failed" %}<a href="{{ task.detail_url }}#failure-reason" class="btn btn-sm btn-outline-danger view-reason"
   data-bs-toggle="modal" data-bs-target="#reason-modal" data-reason="{{ task.failure_text }}" data-reason-for="{{ task.pk }}">{{ texts.view_reason }}</a>{% endif %}
<a href="{{ task.detail_url }}" class="btn btn-sm btn-icon" title="{{ texts.details }}" aria-label="{{ texts.details }}"><i class="bi bi-box-arrow-up-right"></i></a>"""
REASON_TEXTS = {"view_reason": _("View reason"), "details": _("Details")}

# A log row's Stop or Start (where the move is allowed and the user may make
# it), then the reason and details every row has.
LOG_MOVE = """
{%- if task.stop_url %}<form method="post" action="{{ task.stop_url }}" class="d-inline">{{ csrf_field }}
  <input type="hidden" name="next" value="{{ next_path }}">
  <button type="submit" class="btn btn-sm btn-outline-danger" data-confirm="{{ texts.confirm_stop }}"><i class="bi bi-stop-circle me-1"></i>{{ texts.stop }}</button>
</form>{% elif task.start_url %}<form method="post" action="{{ task.start_url }}" class="d-inline">{{ csrf_field }}
  <input type="hidden" name="next" value="{{ next_path }}">
  <button type="submit" class="btn btn-sm btn-outline-success"><i class="bi bi-play-circle me-1"></i>{{ texts.start }}</button>
</form>{% endif %}"""


def actions_cell():
    """The last column of every list: "View reason" on a failed row, and the task's page."""
    return Cell(_("Actions"), f'<div class="d-flex align-items-center gap-1">{REASON_AND_DETAILS}</div>',
                td=' class="text-nowrap"', prepare=prepare_detail_url, texts=REASON_TEXTS, exclude_from_export=True)


def prepare_log_row_actions(rows, page):
    prepare_log_actions(rows, page)
    prepare_detail_url(rows, page)


def log_actions_cell():
    return Cell(
        _("Actions"), f'<div class="d-flex align-items-center gap-1">{LOG_MOVE}{REASON_AND_DETAILS}</div>',
        td=' class="text-nowrap"', prepare=prepare_log_row_actions,
        texts={"stop": _("Stop"), "start": _("Start"), "confirm_stop": _("Stop this log backup?"), **REASON_TEXTS},
        exclude_from_export=True,
    )


# --- The Tables ----------------------------------------------------------------------


class TaskTable(tables.Table):
    """What every task list shares.  ``row_attrs_source`` and ``after_row``
    are Jinja2 source for the ``<tr>``'s attributes and for what follows each
    row (the data list's expandable details); ``texts`` their words."""

    row_attrs_source = ""
    after_row = ""
    texts = {}
    prepare_extra = None
    # The "View reason" behind a failed row's button, as a column of its own in an export.
    failure_reason = failure_export_cell()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = timezone.now()  # one "now" for every delay an export computes

    class Meta:
        # The views' querysets are already newest first (the index order).
        order_by = None
        orderable = False
        empty_text = _("No tasks match these filters.")

    def cells(self):
        return [bound.column for bound in self.columns]

    def prepare(self, rows, page):
        """Compute, once for the page, every value the row template reads."""
        for cell in self.cells():
            if cell.prepare is not None:
                cell.prepare(rows, page)
        if self.prepare_extra is not None:
            type(self).prepare_extra(rows, page)

    def page_texts(self):
        texts = dict(self.texts)
        for cell in self.cells():
            texts.update(cell.texts)
        return {name: str(text) for name, text in texts.items()}

    def render_rows(self, rows, context, request):
        template = row_template(self)
        return template.render({"rows": rows, "texts": self.page_texts(), "columns": len(self.columns), **context}, request)


_ROW_TEMPLATES = {}


def row_template(table):
    """The Jinja2 loop that renders ``table``'s rows, generated from its
    columns once per Table class and process."""
    template = _ROW_TEMPLATES.get(type(table))
    if template is None:
        cells = "".join(f"<td{cell.td}>{cell.cell}</td>" for cell in table.cells())
        source = (f"{{%- for task in rows %}}\n<tr{table.row_attrs_source}>{cells}</tr>"
                  f"{table.after_row}{{% endfor %}}")
        template = _ROW_TEMPLATES[type(table)] = engines["jinja2"].from_string(source)
    return template


DATA_DETAILS = """
<tr class="collapse row-details" id="task-{{ task.pk }}-details">
  <td colspan="{{ columns }}">
    <dl class="detail-grid mb-0">
      <div><dt>{{ texts.method }}</dt><dd>{{ task.backup_method_label }}</dd></div>
      <div><dt>{{ texts.version }}</dt><dd class="font-monospace">{{ task.data_version }}</dd></div>
      <div class="wide"><dt>{{ texts.directory }}</dt><dd class="font-monospace text-break">{{ task.storage_directory }}</dd></div>
      <div><dt>{{ texts.duration }}</dt><dd>{{ task.duration_text }}{% if task.status == "in_progress" %} <span class="text-body-secondary">({{ texts.so_far }})</span>{% endif %}</dd></div>
      {%- if task.status == "in_progress" %}
      <div><dt>{{ texts.progress }}</dt><dd>
        <progress class="task-progress" max="100" value="{{ task.progress }}">{{ task.progress }}%</progress>
        <span class="small text-body-secondary">{{ task.progress }}%</span></dd></div>
      {%- endif %}
      <div><dt></dt><dd><a href="{{ task.detail_url }}" class="small">{{ texts.task_details }} <i class="bi bi-arrow-right"></i></a></dd></div>
    </dl>
  </td>
</tr>"""


class DataTaskTable(TaskTable):
    """The columns data backups and their secondary copies share."""

    id = id_cell()
    cluster = cluster_cell()
    tenant = tenant_cell()
    mode = Cell(_("Data backup mode"), "{{ task.mode_label }}", td=' class="text-nowrap"', prepare=prepare_label("mode"),
                narrow=False)
    backup_set = Cell(_("Backup-set ID"), "{{ task.backup_set.number }}", accessor="backup_set__number", narrow=False)
    started_at = start_cell()
    ended_at = end_cell()
    status = status_cell()
    actions = actions_cell()


class DataBackupTaskTable(DataTaskTable):
    id = Cell(
        _("ID"),
        '<button type="button" class="btn btn-expander" data-bs-toggle="collapse" data-bs-target="#task-{{ task.pk }}-details" '
        'aria-expanded="false" aria-controls="task-{{ task.pk }}-details" title="{{ texts.show_details }}">'
        '<i class="bi bi-plus-square"></i><span class="visually-hidden">{{ texts.show_details }}</span></button> '
        '<span class="font-monospace">{{ task.pk }}</span>',
        td=' class="text-nowrap"', texts={"show_details": _("Show details")},
    )
    secondary_done = Cell(
        _("Secondary backup done"),
        '{% if task.secondary_done %}<a href="{{ task.copies_url }}" class="link-success fw-semibold">{{ texts.yes }}</a>'
        '{% else %}<span class="text-body-secondary">{{ texts.no }}</span>{% endif %}',
        prepare=prepare_copies_url, texts={"yes": _("Yes"), "no": _("No")}, narrow=False,
    )
    status = data_status_cell()

    # OV-3a: what the "+" shows, as columns of the export.
    backup_method = export_only(_("Backup method"))
    data_version = export_only(_("Data version"))
    storage_directory = export_only(_("Storage directory"))

    row_attrs_source = ' data-task="{{ task.pk }}"'
    after_row = DATA_DETAILS
    texts = {"method": _("Backup method"), "version": _("Data version"), "directory": _("Storage directory"),
             "duration": _("Duration"), "so_far": _("so far"), "progress": _("Progress"), "task_details": _("Task details")}
    prepare_extra = prepare_data_details

    class Meta(TaskTable.Meta):
        model = DataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status", "secondary_done", "actions")
        sequence = (*fields, "backup_method", "data_version", "storage_directory", "failure_reason")
        empty_text = _("No data backup tasks match these filters.")


class LogBackupTaskTable(TaskTable):
    id = export_only(_("ID"))  # the page links each row to its task; the file names it
    cluster = cluster_cell()
    backup_method = Cell(_("Backup method"), "{{ task.backup_method_label }}", td=' class="text-nowrap"',
                         prepare=prepare_label("backup_method"), narrow=False)
    host = Cell(_("Service host IP"), "{{ task.host.ip }}:{{ task.host.port }}", td=' class="font-monospace"', narrow=False)
    latest_point = latest_point_cell(narrow=False)  # its delay says it on a phone
    delay = Cell(
        _("Delay"),
        "{% if task.delay is none %}—{% elif task.delay_alert %}<span class=\"text-danger fw-semibold\" "
        "title=\"{{ _('Over the alert threshold of %(threshold)s', threshold=task.delay_threshold) }}\">"
        "<i class=\"bi bi-exclamation-triangle-fill\"></i> {{ task.delay }}</span>{% else %}{{ task.delay }}{% endif %}",
        td=' class="text-nowrap"', prepare=prepare_delay,
        accessor="latest_point", export=export_delay, export_header=_("Delay (seconds)"),
    )
    storage_directory = storage_cell()
    status = status_cell()
    actions = log_actions_cell()

    class Meta(TaskTable.Meta):
        model = LogBackupTask
        fields = ("cluster", "backup_method", "host", "latest_point", "delay", "storage_directory", "status", "actions")
        sequence = ("id", *fields)
        empty_text = _("No log backup tasks match these filters.")


class CleanupTaskTable(TaskTable):
    id = id_cell()
    cluster = cluster_cell()
    started_at = start_cell()
    ended_at = end_cell()
    status = status_cell()
    actions = actions_cell()

    class Meta(TaskTable.Meta):
        model = CleanupTask
        fields = ("id", "cluster", "started_at", "ended_at", "status", "actions")
        empty_text = _("No cleanup tasks match these filters.")


class SecondaryDataBackupTaskTable(DataTaskTable):
    backup_set = Cell(_("Backup-set ID"), '<a href="{{ task.set_url }}" class="font-monospace">{{ task.backup_set.number }}</a>',
                      prepare=prepare_set_url, accessor="backup_set__number", narrow=False)

    class Meta(TaskTable.Meta):
        model = SecondaryDataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status", "actions")
        empty_text = _("No secondary data backups match these filters.")


class SecondaryLogBackupTaskTable(TaskTable):
    id = export_only(_("ID"))
    cluster = cluster_cell()
    latest_point = latest_point_cell()
    storage_directory = storage_cell()
    status = status_cell()
    actions = log_actions_cell()

    class Meta(TaskTable.Meta):
        model = SecondaryLogBackupTask
        fields = ("cluster", "latest_point", "storage_directory", "status", "actions")
        sequence = ("id", *fields)
        empty_text = _("No secondary log backups match these filters.")


def prepare_restore(rows, page):
    prepare_times("restore_point")(rows, page)
    target_url = one_link("clusters:detail")
    for row in rows:
        row.target_url = target_url(row.target_cluster_id)


class RestoreTaskTable(TaskTable):
    id = id_cell()
    cluster = Cell(_("Source cluster"), '<a href="{{ task.cluster_url }}">{{ task.cluster.name }}</a>', td=' class="text-nowrap"',
                   prepare=prepare_cluster, accessor="cluster__name")
    source_tenant = Cell(_("Source tenant"), "{{ task.source_tenant.name }}", accessor="source_tenant__name")
    restore_point = Cell(_("Restore point"), "{{ task.restore_point_text }}", td=' class="text-nowrap"', prepare=prepare_restore)
    target_cluster = Cell(_("Target cluster"), '<a href="{{ task.target_url }}">{{ task.target_cluster.name }}</a>',
                          td=' class="text-nowrap"', accessor="target_cluster__name")
    new_tenant_name = Cell(_("New tenant"), "{{ task.new_tenant_name }}")
    started_at = start_cell()
    ended_at = end_cell()
    status = status_cell()
    actions = actions_cell()

    class Meta(TaskTable.Meta):
        model = RestoreTask
        fields = ("id", "cluster", "source_tenant", "restore_point", "target_cluster", "new_tenant_name",
                  "started_at", "ended_at", "status", "actions")
        empty_text = _("No restore tasks match these filters.")


# --- The alert list (告警) -------------------------------------------------------------

# The unit of an alert's value and threshold, by rule (the rest count nothing).
SECONDS_RULES = {AlertRule.LOG_DELAY, AlertRule.SECONDARY_LOG_DELAY, AlertRule.RPO_BREACHED}
MINUTES_RULES = {AlertRule.DATA_TIMEOUT}
DAYS_RULES = {AlertRule.NO_DATA_BACKUP}
PERCENT_RULES = {AlertRule.STORAGE_FULL}


def measure(rule, value):
    """An alert's value or threshold in its rule's unit, readable; "" for none."""
    if value is None:
        return ""
    if rule in SECONDS_RULES:
        return readable_delay(value)
    if rule in MINUTES_RULES:
        return readable_delay(value * 60)
    if rule in DAYS_RULES:
        return str(_("%(days)s d") % {"days": f"{value:g}"})
    if rule in PERCENT_RULES:
        return f"{value:.0f} %"
    return f"{value:g}"


DESTINATION_LABEL = _("Storage destination")


def subject_link(alert):
    """(text, url or None) of what an alert is about, when that is more than
    its cluster or tenant: a task (its page), a storage destination."""
    kind, _sep, key = alert.subject.partition(":")
    if kind in KINDS and key.isdecimal():
        return f"{capfirst(KINDS[kind].label)} #{key}", reverse(KINDS[kind].detail_view, args=[int(key)])
    if kind == "destination":
        return f"{DESTINATION_LABEL} #{key}", None
    return "", None


def prepare_alert_rows(rows, page):
    """Once per page: labels, times, duration, measures, links."""
    detail_url = one_link("alerts:detail")
    cluster_url = one_link("clusters:detail")
    query = page.request.GET
    severity_urls = {value: query_with(query, severity=[value]) for value, _label in page.filterset.filters["severity"].extra["choices"]}
    for name in ("severity", "rule"):
        prepare_label(name)(rows, page)
    prepare_status(rows, page)
    for row in rows:
        row.detail_url = detail_url(row.pk)
        row.cluster_url = cluster_url(row.cluster_id) if row.cluster_id else ""
        row.severity_url = severity_urls.get(row.severity, "?")
        row.started_at_text, row.ended_at_text = stamp(row.started_at), stamp(row.ended_at) if row.ended_at else ""
        row.acknowledged_at_text = stamp(row.acknowledged_at) if row.acknowledged_at else ""
        row.duration_text = readable_delay(((row.ended_at or page.now) - row.started_at).total_seconds())
        row.value_text, row.threshold_text = measure(row.rule, row.value), measure(row.rule, row.threshold)
        row.subject_text, row.subject_url = subject_link(row)


ALERT_SUBJECT = """
{%- if task.cluster_id %}<a href="{{ task.cluster_url }}">{{ task.cluster.name }}</a>{% endif %}
{%- if task.tenant_id %}<span class="text-body-secondary"> / </span>{{ task.tenant.name }}{% endif %}
{%- if task.subject_text %}<div class="small">{% if task.subject_url %}<a href="{{ task.subject_url }}">{{ task.subject_text }}</a>{% else %}{{ task.subject_text }}{% endif %}</div>{% endif %}
{%- if not task.cluster_id and not task.subject_text %}{{ task.subject }}{% endif %}"""

ALERT_ACKNOWLEDGED = """
{%- if task.acknowledged_at %}<div class="text-nowrap"><i class="bi bi-check2-circle text-success"></i> {{ task.acknowledged_by.username if task.acknowledged_by else "—" }}</div>
<div class="small text-body-secondary text-nowrap">{{ task.acknowledged_at_text }}</div>
{%- if task.acknowledge_note %}<div class="small alert-note text-break">{{ task.acknowledge_note }}</div>{% endif %}
{%- else %}<span class="text-body-secondary">—</span>{% endif %}"""


def export_measure(name):
    def value(alert, table):
        return measure(alert.rule, getattr(alert, name))

    return value


class AlertTable(TaskTable):
    """The alert list's columns.  ``describe`` (set by the view) says an
    alert's text in the reader's language, under its rule."""

    describe = None

    id = Cell(_("ID"), '<a href="{{ task.detail_url }}" class="font-monospace">{{ task.pk }}</a>', narrow=False)
    severity = Cell(
        _("Severity"),
        '<a class="badge rounded-pill status-badge text-bg-{{ task.severity_color }}" href="{{ task.severity_url }}" '
        'title="{{ texts.only_severity }}">{{ task.severity_label }}</a>',
        texts={"only_severity": _("Show only this severity")}, export=lambda alert, table: alert.get_severity_display(),
    )
    # The rule names the alert; its text (``describe``) is the export's "Text" and
    # the alert's page: in a row, subject and value columns say the same.
    rule = Cell(_("Rule"), '<a href="{{ task.detail_url }}" class="fw-semibold" title="{{ task.text }}">{{ task.rule_label }}</a>',
                td=' class="alert-rule"', export=lambda alert, table: alert.get_rule_display())
    subject = Cell(_("Subject"), ALERT_SUBJECT, td=' class="text-nowrap"', export=lambda alert, table: alert.subject)
    value = Cell(_("Value / threshold"),
                 '{% if task.value_text %}<span class="fw-semibold">{{ task.value_text }}</span>{% else %}—{% endif %}'
                 '{% if task.threshold_text %} <span class="text-body-secondary">/ {{ task.threshold_text }}</span>{% endif %}',
                 td=' class="text-nowrap"', narrow=False, export=export_measure("value"), export_header=_("Value"))
    threshold = Cell(_("Threshold"), "", visible=False, export=export_measure("threshold"))
    started_at = Cell(_("Opened"), "{{ task.started_at_text }}", td=' class="text-nowrap"', order_by=("started_at", "id"))
    ended_at = Cell(_("Resolved"), '{% if task.ended_at %}{{ task.ended_at_text }}{% else %}<a class="badge rounded-pill '
                    'status-badge text-bg-{{ task.status_color }}" href="{{ task.status_url }}">{{ task.status_label }}</a>'
                    '{% endif %}', td=' class="text-nowrap"', order_by=("effective_end", "id"), narrow=False)
    duration = Cell(_("Duration"), "{{ task.duration_text }}", td=' class="text-nowrap"', narrow=False,
                    export=lambda alert, table: int(((alert.ended_at or table.now) - alert.started_at).total_seconds()),
                    export_header=_("Duration (seconds)"))
    acknowledged = Cell(_("Acknowledged"), ALERT_ACKNOWLEDGED, accessor="acknowledged_at", narrow=False,
                        export=lambda alert, table: alert.acknowledged_by.get_username() if alert.acknowledged_by else "")
    acknowledged_at = export_only(_("Acknowledged at"))
    acknowledge_note = export_only(_("Note"))
    text = Cell(_("Text"), "", visible=False, export=lambda alert, table: table.describe(alert) if table.describe else "")

    row_attrs_source = ' data-alert="{{ task.pk }}"'
    prepare_extra = prepare_alert_rows
    failure_reason = None

    class Meta(TaskTable.Meta):
        model = Alert
        fields = ("id", "severity", "rule", "subject", "value", "started_at", "ended_at", "duration", "acknowledged")
        sequence = (*fields, "threshold", "acknowledged_at", "acknowledge_note", "text")
        empty_text = _("No alerts match these filters.")

    def prepare(self, rows, page):
        super().prepare(rows, page)
        for row in rows:
            row.text = self.describe(row) if self.describe else ""


# --- The policy list's export ----------------------------------------------------


class BackupPolicyTable(tables.Table):
    """The policy list's columns, for its export (the page itself is a
    template of its own).  The view sets ``schedule_rows`` and
    ``storage_root`` on each policy, for the page and the file alike."""

    id = tables.Column(verbose_name=_("ID"))
    cluster = tables.Column(verbose_name=_("Cluster"), accessor="cluster__name")
    tenant = tables.Column(verbose_name=_("Tenant"), empty_values=())
    backup_method = tables.Column(verbose_name=_("Backup method"))
    schedule = tables.Column(verbose_name=_("Schedule"), accessor="schedule_kind")
    storage = tables.Column(verbose_name=_("Storage"), accessor="storage_root")
    log_backup_enabled = tables.Column(verbose_name=_("Log backup"))
    retention_days = tables.Column(verbose_name=_("Retention (days)"))
    secondary = tables.Column(verbose_name=_("Secondary backup"), accessor="secondary_enabled")
    state = tables.Column(verbose_name=_("State"))

    class Meta:
        model = BackupPolicy
        fields = ("id", "cluster", "tenant", "backup_method", "schedule", "storage", "log_backup_enabled",
                  "retention_days", "secondary", "state")
        orderable = False

    def value_tenant(self, record):
        return record.tenant.name if record.tenant_id else str(_("All tenants"))

    def value_schedule(self, value, record):
        days = "; ".join(f"{day}: {mode}" for day, mode in record.schedule_rows)
        return f"{value} · {record.run_at:%H:%M} · {days}"

    def value_log_backup_enabled(self, value):
        return str(_("On") if value else _("Off"))

    def value_secondary(self, record):
        return str(record.secondary_destination) if record.secondary_enabled else ""


# --- The audit trail ---------------------------------------------------------

# What an audit row links to, by model name: each task kind's page, a policy's edit page.
DETAIL_URLS = {kind.model._meta.model_name: kind.detail_view for kind in KINDS.values()}
DETAIL_URLS["backuppolicy"] = "backups:policy_edit"
DETAIL_URLS["cluster"] = "clusters:detail"
DETAIL_URLS["alert"] = "alerts:detail"
# What an audit row names by its type and ID, in the reader's language.
OBJECT_LABELS = {kind.model._meta.model_name: kind.label for kind in KINDS.values()}
OBJECT_LABELS["backuppolicy"] = BackupPolicy._meta.verbose_name
OBJECT_LABELS["alert"] = Alert._meta.verbose_name
OBJECT_LABELS["restoredrillpolicy"] = RestoreDrillPolicy._meta.verbose_name  # no page of its own: the drills page lists it


def object_url(entry):
    if entry.content_type_id is None or entry.object_id is None or entry.action == AuditEntry.Action.ADMIN_DELETE:
        return None
    name = DETAIL_URLS.get(entry.content_type.model)
    if name is None:
        return None
    try:
        return reverse(name, args=[entry.object_id])
    except NoReverseMatch:
        return None


def object_text(entry, empty="—"):
    """What an audit row acted on: a task or policy as its kind and ID (in the
    reader's language), anything else as it was named when recorded."""
    label = OBJECT_LABELS.get(entry.content_type.model) if entry.content_type_id else None
    if label is not None and entry.object_id is not None:
        return f"{capfirst(label)} #{entry.object_id}"
    return entry.object_repr or empty


OUTCOME_COLORS = {AuditEntry.Outcome.DONE: "success", AuditEntry.Outcome.REFUSED: "warning",
                  AuditEntry.Outcome.FORBIDDEN: "danger"}


class AuditEntryTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    outcome = tables.Column(verbose_name=_("Outcome"))
    cluster = tables.Column(verbose_name=_("Cluster"), default="—")
    object_repr = tables.Column(verbose_name=_("Object"), empty_values=())
    details = tables.Column(verbose_name=_("Details"), accessor="message", empty_values=(), orderable=False)

    class Meta:
        model = AuditEntry
        fields = ("created_at", "actor_name", "action", "outcome", "cluster", "object_repr", "details")
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table audit-table"}
        order_by = None
        orderable = False
        empty_text = _("No audit entries match these filters.")
        row_attrs = {"data-audit": lambda record: record.pk}

    def render_cluster(self, value, record):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)

    def render_outcome(self, value, record):
        return format_html('<span class="badge rounded-pill status-badge text-bg-{}">{}</span>',
                           OUTCOME_COLORS.get(record.outcome, "secondary"), value)

    def render_object_repr(self, value, record):
        url, text = object_url(record), object_text(record)
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    def render_details(self, value, record):
        return details_of(record)

    # An export's cells: the time itself (written in the console's zone), names without links,
    # details and outcome in the reader's language.
    def value_created_at(self, value):
        return value

    def value_cluster(self, value):
        return value.name

    def value_object_repr(self, record):
        return object_text(record, empty="")

    def value_outcome(self, record):
        return record.get_outcome_display()

    def value_details(self, record):
        return details_of(record)


def _cells(css):
    """A column's header and cells with these classes."""
    return {"th": {"class": css}, "td": {"class": css}}


class RestoreDrillRunTable(tables.Table):
    """The drills page's runs: what each picked, the restore it started, how it ended."""

    # A phone's width leaves out the policy, the restore point, the scratch tenant and the restore link.
    pk = tables.Column(verbose_name=_("Run ID"), accessor="pk")
    policy_name = tables.Column(verbose_name=_("Policy"), attrs=_cells(WIDE_ONLY + " text-nowrap"))
    source = tables.Column(verbose_name=_("Source cluster / tenant"), accessor="source_tenant", empty_values=(),
                           attrs=_cells("text-nowrap"))
    restore_point = tables.Column(verbose_name=_("Restore point"), empty_values=(), attrs=_cells(WIDE_ONLY + " text-nowrap"))
    scratch_tenant_name = tables.Column(verbose_name=_("Scratch tenant"), empty_values=(), attrs=_cells(WIDE_ONLY))
    started_at = tables.Column(verbose_name=_("Start time"), attrs=_cells("text-nowrap"))
    recovery_seconds = tables.Column(verbose_name=_("Recovery time"), empty_values=(), attrs=_cells("text-nowrap"))
    status = tables.Column(verbose_name=_("Status"), attrs=_cells("drill-status"))
    restore_task = tables.Column(verbose_name=_("Restore task"), accessor="restore_task_id", empty_values=(),
                                 attrs=_cells(WIDE_ONLY))

    class Meta:
        model = RestoreDrillRun
        fields = ("pk", "policy_name", "source", "restore_point", "scratch_tenant_name", "started_at", "recovery_seconds",
                  "status", "restore_task")
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table drill-table"}
        order_by = None
        orderable = False
        empty_text = _("No restore drill ran in this time range.")
        row_attrs = {"data-drill": lambda record: record.pk}

    def render_source(self, value, record):
        if record.source_cluster is None:
            return "—"
        return format_html('<a href="{}">{}</a> / {}', record.source_cluster.get_absolute_url(), record.source_cluster.name,
                           value.name if value else "—")

    def render_restore_point(self, value):
        return stamp(value)

    def render_started_at(self, value):
        return stamp(value)

    def render_scratch_tenant_name(self, value, record):
        if not value:
            return "—"
        if record.removed_at:
            return format_html('{} <span class="small text-body-secondary">({})</span>', value,
                               _("removed %(time)s") % {"time": stamp(record.removed_at)})
        return value

    def render_recovery_seconds(self, value):
        return readable_delay(value) if value is not None else "—"

    def render_status(self, value, record):
        badge = format_html('<span class="badge rounded-pill status-badge text-bg-{}">{}</span>', record.status_color, value)
        # Why it failed, or what the check of the scratch tenant found.
        said = failure_of(record) or describe(record.check_code, record.check_params)
        if said:
            return format_html('{}<div class="small text-body-secondary drill-reason">{}</div>', badge, said)
        return badge

    def render_restore_task(self, value, record):
        if record.restore_task_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("backups:restore_detail", args=[record.restore_task_id]),
                           f"#{record.restore_task_id}")
