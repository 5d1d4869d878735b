"""One django-tables2 Table per task list (OV-3..OV-7), columns in SPEC order.

Every column reads only the row and the relations the views select, so a page
costs the same number of queries whatever its length.

The Tables define the columns, headers and sorting; the rows themselves are
rendered by a plain template loop per list (templates/backups/tables/), which
costs a fifth of django-tables2's per-cell rendering.

Only start and end time sort: each has an index in the window's order
(backups.models.list_indexes), so a sorted page stops after one page or reads
one bounded index range.  Sorting a window of months by cluster name, status
or delay would sort every row in it on each request.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import django_tables2 as tables

from .choices import LogBackupStatus
from .models import CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask

DATETIME_FORMAT = "Y-m-d H:i:s"
DEFAULT_LOG_DELAY_THRESHOLD = 300  # seconds, when a log backup has no policy


def list_url(viewname, **params):
    """A task-list address with these query parameters."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = value
    return f"{reverse(viewname)}?{query.urlencode()}"


def readable_delay(seconds):
    """12 s, 3 min 5 s, 2 h 4 min, 3 d 2 h."""
    seconds = max(0, int(seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return gettext("%(d)d d %(h)d h") % {"d": days, "h": h} if h else gettext("%(d)d d") % {"d": days}
    if hours:
        return gettext("%(h)d h %(m)d min") % {"h": hours, "m": m} if m else gettext("%(h)d h") % {"h": hours}
    if minutes:
        return gettext("%(m)d min %(s)d s") % {"m": minutes, "s": s} if s else gettext("%(m)d min") % {"m": minutes}
    return gettext("%(s)d s") % {"s": s}


class StatusColumn(tables.Column):
    """A coloured badge; clicking it filters the list by that status."""

    def __init__(self, **kwargs):
        kwargs.setdefault("verbose_name", _("Status"))
        kwargs.setdefault("order_by", ("status", "started_at", "id"))
        super().__init__(**kwargs)

    def render(self, value, record, table):
        query = table.request.GET.copy() if table.request else None
        href = "?status=" + record.status
        if query is not None:
            query.setlist("status", [record.status])
            query.pop("page", None)
            href = "?" + query.urlencode()
        return format_html(
            '<a class="badge rounded-pill status-badge text-bg-{}" href="{}" title="{}">{}</a>',
            record.status_color,
            href,
            gettext("Show only this status"),
            record.get_status_display(),
        )


class ClusterColumn(tables.Column):
    """OV-3b: the cluster name links to the cluster overview."""

    def __init__(self, **kwargs):
        kwargs.setdefault("verbose_name", _("Cluster"))
        kwargs.setdefault("order_by", ("cluster__name", "started_at", "id"))
        kwargs.setdefault("linkify", lambda record: record.cluster.get_absolute_url())
        kwargs.setdefault("attrs", {"td": {"class": "text-nowrap"}})
        super().__init__(accessor="cluster__name", **kwargs)


def time_column(field, verbose_name, order_by=None):
    """A date-time column; sortable when ``order_by`` names an indexed order."""
    return tables.DateTimeColumn(
        accessor=field, verbose_name=verbose_name, format=DATETIME_FORMAT, order_by=order_by,
        orderable=order_by is not None, attrs={"td": {"class": "text-nowrap"}},
    )


def start_column():
    return time_column("started_at", _("Start time"), order_by=("started_at", "id"))


def end_column():
    # effective_end: the view's alias for coalesce(ended_at, far future), the
    # indexed expression; it orders running tasks first, as ended_at DESC does.
    return time_column("ended_at", _("End time"), order_by=("effective_end", "id"))


class TaskTable(tables.Table):
    class Meta:
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table"}
        # The views' querysets are already newest first (the index order).
        order_by = None
        # Columns sort only where they say so (start and end time).
        orderable = False
        empty_text = _("No tasks match these filters.")


class DataBackupTaskTable(TaskTable):
    id = tables.Column(verbose_name=_("ID"), order_by=("id",), attrs={"td": {"class": "text-nowrap"}})
    cluster = ClusterColumn()
    tenant = tables.Column(verbose_name=_("Tenant"), accessor="tenant__name", order_by=("tenant__name", "id"))
    mode = tables.Column(verbose_name=_("Data backup mode"), order_by=("mode", "started_at", "id"))
    backup_set = tables.Column(verbose_name=_("Backup-set ID"), accessor="backup_set__number", order_by=("backup_set__number", "id"))
    started_at = start_column()
    ended_at = end_column()
    status = StatusColumn()
    secondary_done = tables.Column(verbose_name=_("Secondary backup done"), orderable=False, empty_values=())
    actions = tables.TemplateColumn(
        verbose_name=_("Actions"), template_name="backups/columns/data_actions.html", orderable=False,
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta(TaskTable.Meta):
        model = DataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status", "secondary_done", "actions")
        template_name = "backups/tables/data_table.html"
        empty_text = _("No data backup tasks match these filters.")
        row_attrs = {"data-task": lambda record: record.pk}

    def render_id(self, record):
        # OV-3a: the + beside the ID opens the row's details (see data_table.html).
        return format_html(
            '<button type="button" class="btn btn-expander" data-bs-toggle="collapse" data-bs-target="#task-{0}-details" '
            'aria-expanded="false" aria-controls="task-{0}-details" title="{1}"><i class="bi bi-plus-square"></i>'
            '<span class="visually-hidden">{1}</span></button> <span class="font-monospace">{0}</span>',
            record.pk,
            gettext("Show details"),
        )

    def render_secondary_done(self, record):
        # OV-3c: "yes" lists every secondary copy of this task, whatever its age.
        if record.secondary_done:
            url = list_url("backups:secondary_data_list", source=record.pk, range="all")
            return format_html('<a href="{}" class="link-success fw-semibold">{}</a>', url, gettext("Yes"))
        return format_html('<span class="text-body-secondary">{}</span>', gettext("No"))


class LogBackupTaskTable(TaskTable):
    cluster = ClusterColumn()
    backup_method = tables.Column(verbose_name=_("Backup method"), order_by=("backup_method", "started_at", "id"))
    host = tables.Column(verbose_name=_("Service host IP"), order_by=("host__ip", "host__port", "id"), attrs={"td": {"class": "font-monospace"}})
    latest_point = time_column("latest_point", _("Latest backup time point"))
    delay = tables.Column(
        verbose_name=_("Delay"), accessor="latest_point", order_by=("-latest_point", "-id"), empty_values=(None, ""),
        attrs={"td": {"class": "text-nowrap"}},
    )
    storage_directory = tables.Column(verbose_name=_("Storage directory"), attrs={"td": {"class": "font-monospace small text-break"}})
    status = StatusColumn()
    actions = tables.TemplateColumn(
        verbose_name=_("Actions"), template_name="backups/columns/log_actions.html", orderable=False,
        extra_context={"stop_url": "backups:log_stop", "start_url": "backups:log_start"},
    )

    class Meta(TaskTable.Meta):
        model = LogBackupTask
        fields = ("cluster", "backup_method", "host", "latest_point", "delay", "storage_directory", "status", "actions")
        empty_text = _("No log backup tasks match these filters.")

    def render_delay(self, record):
        seconds = (timezone.now() - record.latest_point).total_seconds()
        threshold = record.policy.log_delay_threshold_seconds if record.policy else DEFAULT_LOG_DELAY_THRESHOLD
        text = readable_delay(seconds)
        if seconds > threshold and record.status != LogBackupStatus.STOPPED:
            return format_html(
                '<span class="text-danger fw-semibold" title="{}"><i class="bi bi-exclamation-triangle-fill"></i> {}</span>',
                gettext("Over the alert threshold of %(threshold)s") % {"threshold": readable_delay(threshold)},
                text,
            )
        return text


class CleanupTaskTable(TaskTable):
    id = tables.Column(verbose_name=_("ID"), order_by=("id",), attrs={"td": {"class": "font-monospace"}})
    cluster = ClusterColumn()
    started_at = start_column()
    ended_at = end_column()
    status = StatusColumn()

    class Meta(TaskTable.Meta):
        model = CleanupTask
        fields = ("id", "cluster", "started_at", "ended_at", "status")
        empty_text = _("No cleanup tasks match these filters.")


class SecondaryDataBackupTaskTable(TaskTable):
    id = tables.Column(verbose_name=_("ID"), order_by=("id",), attrs={"td": {"class": "font-monospace"}})
    cluster = ClusterColumn()
    tenant = tables.Column(verbose_name=_("Tenant"), accessor="tenant__name", order_by=("tenant__name", "id"))
    mode = tables.Column(verbose_name=_("Data backup mode"), order_by=("mode", "started_at", "id"))
    backup_set = tables.Column(verbose_name=_("Backup-set ID"), accessor="backup_set__number", order_by=("backup_set__number", "id"))
    started_at = start_column()
    ended_at = end_column()
    status = StatusColumn()

    class Meta(TaskTable.Meta):
        model = SecondaryDataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status")
        empty_text = _("No secondary data backups match these filters.")

    def render_backup_set(self, record):
        # Every data backup task of this set, whatever its age.
        url = list_url("backups:data_list", backup_set=record.backup_set_id, range="all")
        return format_html('<a href="{}" class="font-monospace">{}</a>', url, record.backup_set.number)


class SecondaryLogBackupTaskTable(TaskTable):
    cluster = ClusterColumn()
    latest_point = time_column("latest_point", _("Latest backup time point"))
    storage_directory = tables.Column(verbose_name=_("Storage directory"), attrs={"td": {"class": "font-monospace small text-break"}})
    status = StatusColumn()
    actions = tables.TemplateColumn(
        verbose_name=_("Actions"), template_name="backups/columns/log_actions.html", orderable=False,
        extra_context={"stop_url": "backups:secondary_log_stop", "start_url": "backups:secondary_log_start"},
    )

    class Meta(TaskTable.Meta):
        model = SecondaryLogBackupTask
        fields = ("cluster", "latest_point", "storage_directory", "status", "actions")
        empty_text = _("No secondary log backups match these filters.")
