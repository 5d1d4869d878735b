"""One django-tables2 Table per task list (OV-3..OV-7), columns in SPEC order.

The Tables define only the columns' headers and sorting; the rows are
rendered by a plain Jinja2 loop per list (templates/jinja2/backups/rows/),
from values the views' prepare_rows computes once per page with the helpers
below.  Measured on a 50-row data page: django-tables2's cells ~5x the plain
Django template loop, which is itself ~4x this.

Only start and end time sort: each has an index in the window's order
(backups.models.list_indexes), so a sorted page stops after one page or reads
one bounded index range.  Sorting a window of months by cluster name, status
or delay would sort every row in it on each request.
"""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS
from .models import (
    AuditEntry,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
)

DEFAULT_LOG_DELAY_THRESHOLD = 300  # seconds, when a log backup has no policy


def choice_labels(model, field):
    """{value: translated label} of a choice field, for a page of rows."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def stamp(moment):
    """A time as the lists show it (local, to the second), or a dash."""
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


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


def log_delay(task, now):
    """A log backup's delay (now minus its latest archived point), readable,
    and whether it is over its policy's alert threshold; None before the
    first point.  A stopped backup lags by design and is never flagged."""
    if task.latest_point is None:
        return None
    seconds = (now - task.latest_point).total_seconds()
    threshold = task.policy.log_delay_threshold_seconds if task.policy else DEFAULT_LOG_DELAY_THRESHOLD
    return {
        "text": readable_delay(seconds),
        "over": seconds > threshold and task.status != "stopped",
        "threshold": readable_delay(threshold),
    }


def status_column():
    return tables.Column(verbose_name=_("Status"))


def cluster_column():
    return tables.Column(verbose_name=_("Cluster"), accessor="cluster__name")


def time_column(field, verbose_name, order_by=None):
    """A date-time column; sortable when ``order_by`` names an indexed order."""
    return tables.Column(accessor=field, verbose_name=verbose_name, order_by=order_by, orderable=order_by is not None)


def start_column():
    return time_column("started_at", _("Start time"), order_by=("started_at", "id"))


def end_column():
    # effective_end: the view's alias for coalesce(ended_at, far future), the
    # indexed expression; it orders running tasks first, as ended_at DESC does.
    return time_column("ended_at", _("End time"), order_by=("effective_end", "id"))


class TaskTable(tables.Table):
    class Meta:
        # The views' querysets are already newest first (the index order).
        order_by = None
        # Columns sort only where they say so (start and end time).
        orderable = False
        empty_text = _("No tasks match these filters.")


class DataTaskTable(TaskTable):
    """The columns data backups and their secondary copies share."""

    id = tables.Column(verbose_name=_("ID"))
    cluster = cluster_column()
    tenant = tables.Column(verbose_name=_("Tenant"), accessor="tenant__name")
    mode = tables.Column(verbose_name=_("Data backup mode"))
    backup_set = tables.Column(verbose_name=_("Backup-set ID"), accessor="backup_set__number")
    started_at = start_column()
    ended_at = end_column()
    status = status_column()


class DataBackupTaskTable(DataTaskTable):
    secondary_done = tables.Column(verbose_name=_("Secondary backup done"))
    actions = tables.Column(verbose_name=_("Actions"))

    class Meta(TaskTable.Meta):
        model = DataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status", "secondary_done", "actions")
        empty_text = _("No data backup tasks match these filters.")


class LogBackupTaskTable(TaskTable):
    cluster = cluster_column()
    backup_method = tables.Column(verbose_name=_("Backup method"))
    host = tables.Column(verbose_name=_("Service host IP"))
    latest_point = time_column("latest_point", _("Latest backup time point"))
    delay = tables.Column(verbose_name=_("Delay"), accessor="latest_point")
    storage_directory = tables.Column(verbose_name=_("Storage directory"))
    status = status_column()
    actions = tables.Column(verbose_name=_("Actions"))

    class Meta(TaskTable.Meta):
        model = LogBackupTask
        fields = ("cluster", "backup_method", "host", "latest_point", "delay", "storage_directory", "status", "actions")
        empty_text = _("No log backup tasks match these filters.")


class CleanupTaskTable(TaskTable):
    id = tables.Column(verbose_name=_("ID"))
    cluster = cluster_column()
    started_at = start_column()
    ended_at = end_column()
    status = status_column()

    class Meta(TaskTable.Meta):
        model = CleanupTask
        fields = ("id", "cluster", "started_at", "ended_at", "status")
        empty_text = _("No cleanup tasks match these filters.")


class SecondaryDataBackupTaskTable(DataTaskTable):
    class Meta(TaskTable.Meta):
        model = SecondaryDataBackupTask
        fields = ("id", "cluster", "tenant", "mode", "backup_set", "started_at", "ended_at", "status")
        empty_text = _("No secondary data backups match these filters.")


class SecondaryLogBackupTaskTable(TaskTable):
    cluster = cluster_column()
    latest_point = time_column("latest_point", _("Latest backup time point"))
    storage_directory = tables.Column(verbose_name=_("Storage directory"))
    status = status_column()
    actions = tables.Column(verbose_name=_("Actions"))

    class Meta(TaskTable.Meta):
        model = SecondaryLogBackupTask
        fields = ("cluster", "latest_point", "storage_directory", "status", "actions")
        empty_text = _("No secondary log backups match these filters.")


# --- The audit trail ---------------------------------------------------------

# What an audit row links to, by model name: each task kind's page, a policy's edit page.
DETAIL_URLS = {kind.model._meta.model_name: kind.detail_view for kind in KINDS.values()}
DETAIL_URLS["backuppolicy"] = "backups:policy_edit"


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


class AuditEntryTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    cluster = tables.Column(verbose_name=_("Cluster"), default="—")
    object_repr = tables.Column(verbose_name=_("Object"), default="—")
    message = tables.Column(verbose_name=_("Details"), default="")

    class Meta:
        model = AuditEntry
        fields = ("created_at", "actor_name", "action", "cluster", "object_repr", "message")
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table audit-table"}
        order_by = None
        orderable = False
        empty_text = _("No audit entries match these filters.")
        row_attrs = {"data-audit": lambda record: record.pk}

    def render_cluster(self, value, record):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)

    def render_object_repr(self, value, record):
        url = object_url(record)
        return format_html('<a href="{}">{}</a>', url, value) if url else value
