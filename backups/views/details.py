"""Each task's own page: its fields and its full event history (SIM-6)."""

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backup_console.live import render_live

from ..choices import TaskKind
from ..formats import estimated_finish, stamp
from ..kinds import KINDS
from ..models import DataBackupTask

EVENTS_PER_PAGE = 100
# Fields holding the IDs of other tasks (a restore's backups and rounds, and
# from a secondary destination its copies there): shown as links to those
# tasks' pages, joined the way the tasks are used.
TASK_ID_LISTS = {
    "data_task_ids": ("backups:data_detail", " → "),
    "round_ids": ("backups:log_detail", ", "),
    "secondary_data_task_ids": ("backups:secondary_data_detail", " → "),
    "secondary_round_ids": ("backups:secondary_log_detail", ", "),
}


def _value(task, name):
    field = task._meta.get_field(name)
    if field.choices:
        return getattr(task, f"get_{name}_display")()
    value = getattr(task, name)
    if name == "source_destination" and value is None:
        return _("Primary destination")
    if value is None or value == "":
        return "—"
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if name == "backup_set":
        return value.number
    if name in TASK_ID_LISTS:
        view, joiner = TASK_ID_LISTS[name]
        return format_html_join(joiner, '<a href="{}">#{}</a>', ((reverse(view, args=[pk]), pk) for pk in value)) or "—"
    if name.endswith("_bytes"):
        return format_html('{} <span class="text-body-secondary">({} B)</span>', filesizeformat(value),
                           number_format(value, force_grouping=True))
    return value


def task_detail(request, kind, pk):
    model, names, list_name = KINDS[kind].model, KINDS[kind].detail_fields, KINDS[kind].list_view
    related = [name for name in names if model._meta.get_field(name).is_relation]
    task = get_object_or_404(model.objects.select_related("cluster", *related), pk=pk)
    events = Paginator(task.events.select_related("actor").order_by("-created_at", "-id"), EVENTS_PER_PAGE)
    page = events.get_page(request.GET.get("page"))
    return render_live(request, "backups/task_detail.html", "live-task", {
        "task": task,
        "kind_label": TaskKind(kind).label,
        "heading": f"{TaskKind(kind).label} #{task.pk}",
        "fields": [(model._meta.get_field(name).verbose_name, _value(task, name)) for name in names],
        "events": page,
        "list_url": reverse(list_name),
        "tz_name": timezone.get_current_timezone_name(),
    })


def _view(kind):
    model = KINDS[kind].model

    @require_http_methods(["GET", "HEAD"])
    @permission_required(f"backups.view_{model._meta.model_name}", raise_exception=True)
    def view(request, pk):
        return task_detail(request, kind, pk)

    view.__name__ = f"{kind}_detail"
    return view


log_detail = _view(TaskKind.LOG)
cleanup_detail = _view(TaskKind.CLEANUP)
secondary_data_detail = _view(TaskKind.SECONDARY_DATA)
restore_detail = _view(TaskKind.RESTORE)
secondary_log_detail = _view(TaskKind.SECONDARY_LOG)


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_databackuptask", raise_exception=True)
def data_detail(request, pk):
    """One data backup task: what the expanded row shows, plus its history and copies."""
    task = get_object_or_404(
        DataBackupTask.objects.select_related("cluster", "tenant", "backup_set", "policy", "requested_by"), pk=pk
    )
    finish = estimated_finish(task, timezone.now())
    return render_live(request, "backups/data_detail.html", "live-task", {
        "task": task,
        "finish": stamp(finish) if finish else None,
        "events": task.events.select_related("actor")[:50],
        "copies": task.secondary_copies.select_related("destination").order_by("-started_at", "-id")[:50],
        "tz_name": timezone.get_current_timezone_name(),
        "tabs_url": reverse("backups:data_list"),
    })
