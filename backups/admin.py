"""Django admin for the backup domain (SPEC section 5).

Task tables grow by millions of rows, so every task admin keeps to what their
indexes serve (see backups.models.list_indexes):
- no COUNT(*) over the whole table (show_full_result_count = False, and the
  unfiltered count comes from the planner's estimate, EstimatedCountPaginator);
- sorting only by the indexed columns (id, start time, end time);
- no date_hierarchy: at its top level it runs SELECT DISTINCT date_trunc(...)
  over the whole table, a full scan on every visit.  A started_at list filter
  (today / past 7 days / this month / this year) is a range on the start-time
  index instead;
- list filters that issue no query over the task table: choices, and the
  cluster/destination tables, which are small.  RelatedOnlyFieldListFilter is
  avoided on purpose: it runs SELECT DISTINCT cluster_id over the task table;
- every foreign key is an autocomplete or a raw ID field, so no change page
  renders a <select> of every task, host, backup set or user;
- every FK column shown is in list_select_related, so no per-row queries.
"""

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.admin import BaseGenericInlineFormSet, GenericTabularInline
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Exists, OuterRef, Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clusters.admin import badge

from .choices import STATUS_COLORS, CleanupStatus, DataBackupStatus, LogBackupStatus, PolicyState
from .engine.audit import AuditedAdminMixin
from .engine.outcomes import cause_of, details_of, failure_of
from .models import (
    TASK_MODELS,
    AuditEntry,
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
    TaskEvent,
)


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists and small tables; for an unfiltered list
    of a big table, PostgreSQL's row estimate (pg_class.reltuples, kept fresh by
    autovacuum) instead of a COUNT(*) that reads millions of rows.  The page
    links may then be off by a little, which an admin list can live with."""

    estimate_above = 100_000

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            # reltuples is -1 for a table never analysed.
            if row and row[0] >= self.estimate_above:
                return row[0]
        return super().count


def status_badge(status_choices, value):
    if not value:
        return "-"
    try:
        label = status_choices(value).label
    except ValueError:
        label = value
    return badge(label, STATUS_COLORS.get(value, "secondary"))


def _trim(delta):
    return str(timedelta(seconds=int(delta.total_seconds())))


class ReadOnlyMixin:
    """History is written by the code that makes it (the state machine, the
    audited actions): the admin views it, never adds, edits or deletes it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BigTableMixin:
    """A changelist over a table of millions of rows: never COUNT(*) it whole."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50


MAX_BIGINT = 2**63 - 1


class NumericSearchMixin:
    """A search term of ASCII digits (``#`` allowed) matches these integer
    columns exactly, e.g. a task ID or backup-set ID; other terms go to
    ``search_fields``.  ``"²".isdigit()`` is true, so ASCII is checked too,
    and a number no bigint column can hold matches nothing."""

    id_search_fields = ["pk"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if term.isascii() and term.isdigit():
            number = int(term)
            if number > MAX_BIGINT:
                return queryset.none(), False
            match = Q()
            for field in self.id_search_fields:
                match |= Q(**{field: number})
            return queryset.filter(match), False
        return super().get_search_results(request, queryset, search_term)


@admin.display(description=_("backup-set ID"))
def backup_set_number(task):
    return task.backup_set.number


def source_link(source_model, description):
    """A changelist column linking a copy to the admin page of its source task."""

    @admin.display(description=description)
    def link(task):
        url = reverse(f"admin:backups_{source_model._meta.model_name}_change", args=[task.source_id])
        return format_html('<a href="{}">#{}</a>', url, task.source_id)

    return link


# --- Task events -------------------------------------------------------------------


class NewestEventsFormSet(BaseGenericInlineFormSet):
    """A task's newest events only: a long-lived log backup collects thousands.

    The limit is applied here, after the formset has narrowed the queryset to
    this task; a sliced queryset cannot be filtered any more."""

    limit = 100

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            self._queryset = self.queryset.order_by("-created_at", "-id")[: self.limit]
        return self._queryset


@admin.display(description=_("cause"))
def cause_display(event):
    """The cause in the reader's language (backups/engine/outcomes.py)."""
    return cause_of(event)


class TaskEventInline(ReadOnlyMixin, GenericTabularInline):
    model = TaskEvent
    formset = NewestEventsFormSet
    fields = ["created_at", "old_status_badge", "new_status_badge", "cause_display", "actor_display"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("task events (newest %(limit)s)") % {"limit": NewestEventsFormSet.limit}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("old status"))
    def old_status_badge(self, event):
        return status_badge(self.parent_model.Status, event.old_status)

    @admin.display(description=_("new status"))
    def new_status_badge(self, event):
        return status_badge(self.parent_model.Status, event.new_status)

    @admin.display(description=_("actor"))
    def actor_display(self, event):
        return event.actor_display

    cause_display = staticmethod(cause_display)


def _all_task_statuses():
    statuses = {}
    for choices in (DataBackupStatus, LogBackupStatus, CleanupStatus):
        for value, label in choices.choices:
            statuses.setdefault(value, label)
    return list(statuses.items())


class NewStatusFilter(admin.SimpleListFilter):
    """Fixed choices: the default filter for a plain CharField runs SELECT
    DISTINCT new_status over the whole event table."""

    title = _("new status")
    parameter_name = "new_status"

    def lookups(self, request, model_admin):
        return _all_task_statuses()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(new_status=self.value())
        return queryset


class TaskKindFilter(admin.SimpleListFilter):
    """The task kinds only, not every content type of the project."""

    title = _("task kind")
    parameter_name = "content_type"

    def lookups(self, request, model_admin):
        content_types = ContentType.objects.get_for_models(*TASK_MODELS.values())
        return [(str(ct.pk), model._meta.verbose_name_plural) for model, ct in content_types.items()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(content_type_id=self.value())
        return queryset


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyMixin, BigTableMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "task_link", "cluster", "old_status_badge", "new_status_badge", "cause_display", "actor_display"]
    list_select_related = ["cluster", "actor"]
    list_filter = [NewStatusFilter, TaskKindFilter, "cluster", "created_at"]
    # Old rows' text, and new rows' codes (e.g. "storage_unreachable").
    search_fields = ["cause", "cause_code"]
    sortable_by = ["created_at"]
    fields = [
        "created_at", "task_link", "cluster", "old_status", "new_status", "cause_display", "actor", "actor_label",
    ]
    cause_display = staticmethod(cause_display)

    def get_queryset(self, request):
        # The change page shows these too; one query instead of three.
        return super().get_queryset(request).select_related("cluster", "actor")

    def _task_model(self, event):
        return ContentType.objects.get_for_id(event.content_type_id).model_class()

    @admin.display(description=_("task"))
    def task_link(self, event):
        model = self._task_model(event)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[event.object_id])
        return format_html('<a href="{}">{} #{}</a>', url, model._meta.verbose_name, event.object_id)

    @admin.display(description=_("old status"))
    def old_status_badge(self, event):
        return status_badge(self._task_model(event).Status, event.old_status)

    @admin.display(description=_("new status"), ordering="new_status")
    def new_status_badge(self, event):
        return status_badge(self._task_model(event).Status, event.new_status)

    @admin.display(description=_("actor"))
    def actor_display(self, event):
        return event.actor_display


# --- Tasks -------------------------------------------------------------------------


class TaskAdmin(NumericSearchMixin, BigTableMixin, AuditedAdminMixin, admin.ModelAdmin):
    """What the five task admins share; see the module doc for why."""

    sortable_by = ["id", "started_at", "ended_at"]
    list_display_links = ["id"]
    inlines = [TaskEventInline]
    # The reason belongs to the failed status and is written with it (by the
    # state machine, as a code): shown in the reader's language, not edited.
    exclude = ["failure_reason"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["updated_at", "event_history", "failure_display"]
        if obj is not None:
            # A status moves only through the state machine, which checks the
            # transition and records a TaskEvent (SIM-6); the admin never sets it.
            readonly.append("status")
        return readonly

    @admin.display(description=_("failure reason"))
    def failure_display(self, task):
        return failure_of(task) or "-"

    @admin.display(description=_("status"))
    def status_badge(self, task):
        return status_badge(task.Status, task.status)

    @admin.display(description=_("event history"))
    def event_history(self, task):
        if task.pk is None:
            return "-"
        content_type = ContentType.objects.get_for_model(task)
        url = reverse("admin:backups_taskevent_changelist")
        return format_html(
            '<a href="{}?content_type={}&amp;object_id={}">{}</a>',
            url,
            content_type.pk,
            task.pk,
            _("All events of this task"),
        )

    @admin.display(description=_("duration"))
    def duration_display(self, task):
        return _trim(task.duration)


@admin.register(DataBackupTask)
class DataBackupTaskAdmin(TaskAdmin):
    list_display = [
        "id", "cluster", "tenant", "mode", "backup_method", "backup_set_number",
        "started_at", "ended_at", "duration_display", "status_badge", "secondary_done",
    ]
    list_select_related = ["cluster", "tenant", "backup_set"]
    list_filter = ["status", "mode", "backup_method", "trigger", "cluster", "started_at"]
    search_fields = ["cluster__name", "storage_directory", "failure_reason", "failure_code"]
    id_search_fields = ["pk", "backup_set__number", "data_version"]
    autocomplete_fields = ["cluster", "tenant", "policy"]
    raw_id_fields = ["backup_set", "requested_by"]

    def get_queryset(self, request):
        # OV-3 "secondary backup done", one index probe per shown row
        # (secdata_source_status) inside the list query itself.
        done = SecondaryDataBackupTask.objects.filter(source=OuterRef("pk"), status=DataBackupStatus.COMPLETED)
        # The list's joins and the destination's (shown read-only on a task's
        # page): Django applies list_select_related only to a queryset that
        # joins nothing yet.
        return (super().get_queryset(request).select_related(*self.list_select_related, "destination")
                .annotate(has_secondary=Exists(done)))

    def get_readonly_fields(self, request, obj=None):
        # Where the backup was written is history (the storage rollups count
        # its bytes there), not a setting: shown, never edited.
        return [*super().get_readonly_fields(request, obj), "destination"]

    backup_set_number = staticmethod(backup_set_number)

    @admin.display(description=_("secondary backup done"), boolean=True)
    def secondary_done(self, task):
        return task.has_secondary


@admin.register(LogBackupTask)
class LogBackupTaskAdmin(TaskAdmin):
    list_display = [
        "id", "cluster", "tenant", "backup_method", "host", "latest_point", "delay",
        "storage_directory", "status_badge", "started_at", "ended_at",
    ]
    list_select_related = ["cluster", "tenant", "host"]
    list_filter = ["status", "backup_method", "cluster", "started_at"]
    search_fields = ["cluster__name", "host__ip", "storage_directory", "failure_reason", "failure_code"]
    autocomplete_fields = ["cluster", "tenant", "policy", "host"]

    @admin.display(description=_("delay"))
    def delay(self, task):
        if task.status not in task.ALIVE or task.latest_point is None:
            return "-"
        return _trim(timezone.now() - task.latest_point)


@admin.register(CleanupTask)
class CleanupTaskAdmin(TaskAdmin):
    list_display = ["id", "cluster", "started_at", "ended_at", "status_badge", "retention_days", "deleted_sets"]
    list_select_related = ["cluster"]
    list_filter = ["status", "cluster", "started_at"]
    search_fields = ["cluster__name", "failure_reason", "failure_code"]
    autocomplete_fields = ["cluster", "policy"]


@admin.register(SecondaryDataBackupTask)
class SecondaryDataBackupTaskAdmin(TaskAdmin):
    list_display = [
        "id", "source_link", "cluster", "tenant", "mode", "backup_set_number", "destination",
        "started_at", "ended_at", "status_badge",
    ]
    list_select_related = ["cluster", "tenant", "backup_set", "destination"]
    list_filter = ["status", "mode", "cluster", "destination", "started_at"]
    search_fields = ["cluster__name", "storage_directory", "failure_reason", "failure_code"]
    id_search_fields = ["pk", "source_id", "backup_set__number"]
    autocomplete_fields = ["cluster", "tenant", "destination"]
    raw_id_fields = ["source", "backup_set"]

    source_link = staticmethod(source_link(DataBackupTask, _("data backup task")))
    backup_set_number = staticmethod(backup_set_number)


@admin.register(SecondaryLogBackupTask)
class SecondaryLogBackupTaskAdmin(TaskAdmin):
    list_display = [
        "id", "source_link", "cluster", "destination", "storage_directory", "latest_point",
        "status_badge", "started_at", "ended_at",
    ]
    list_select_related = ["cluster", "destination"]
    list_filter = ["status", "cluster", "destination", "started_at"]
    search_fields = ["cluster__name", "storage_directory", "failure_reason", "failure_code"]
    id_search_fields = ["pk", "source_id"]
    autocomplete_fields = ["cluster", "destination"]
    raw_id_fields = ["source"]

    source_link = staticmethod(source_link(LogBackupTask, _("log backup task")))


# --- Configuration -----------------------------------------------------------------


@admin.register(StorageDestination)
class StorageDestinationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "uri", "capacity"]
    list_filter = ["kind"]
    search_fields = ["name", "uri"]
    fields = ["name", "kind", "uri", "capacity_bytes"]

    @admin.display(description=_("capacity"), ordering="capacity_bytes")
    def capacity(self, obj):
        # The bytes as the cluster page's forecast reads them, and readable.
        return f"{filesizeformat(obj.capacity_bytes)} ({obj.capacity_bytes:,})" if obj.capacity_bytes else "—"


@admin.register(BackupPolicy)
class BackupPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "cluster", "tenant", "backup_method", "destination", "schedule_kind", "run_at",
        "log_backup_enabled", "retention_days", "secondary_enabled", "state_badge",
    ]
    list_select_related = ["cluster", "tenant", "destination"]
    list_filter = ["state", "backup_method", "schedule_kind", "secondary_enabled", "cluster"]
    search_fields = ["cluster__name", "tenant__name", "directory"]
    autocomplete_fields = ["cluster", "tenant", "destination", "secondary_destination"]
    readonly_fields = ["periodic_task", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (_("Scope"), {"fields": ["cluster", "tenant"]}),
        (_("Storage"), {"fields": ["backup_method", "destination", "directory"]}),
        (_("Schedule"), {"fields": ["schedule_kind", "schedule_days", "run_at"]}),
        (_("Log backup and retention"), {"fields": ["log_backup_enabled", "retention_days"]}),
        (_("Secondary backup"), {"fields": ["secondary_enabled", "secondary_destination"]}),
        (_("Alerts"), {"fields": ["data_backup_timeout_minutes", "log_delay_threshold_seconds", "no_backup_alert_days"]}),
        (_("State"), {"fields": ["state", "periodic_task", "created_by", "created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, policy):
        return status_badge(PolicyState, policy.state)


@admin.register(BackupSet)
class BackupSetAdmin(NumericSearchMixin, BigTableMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["number", "cluster", "tenant", "backup_method", "created_at", "expired_at"]
    list_select_related = ["cluster", "tenant"]
    list_filter = ["backup_method", ("expired_at", admin.EmptyFieldListFilter), "cluster"]
    search_fields = ["cluster__name"]
    autocomplete_fields = ["cluster", "tenant"]
    # Newest first by primary key: the model's (cluster name, number) ordering
    # needs a join and a sort over every set.
    ordering = ["-id"]
    id_search_fields = ["number"]


# --- The audit trail, and who may do what ------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, BigTableMixin, admin.ModelAdmin):
    """Read-only: the trail is written by the actions it records, never edited."""

    list_display = ["created_at", "actor_name", "action", "outcome", "cluster", "object_repr", "details"]
    list_select_related = ["cluster"]
    list_filter = ["outcome", "action", "cluster"]
    search_fields = ["actor_name", "object_repr"]
    exclude = ["message", "message_code", "message_params"]
    readonly_fields = ["details"]

    @admin.display(description=_("details"))
    def details(self, entry):
        """In the reader's language (backups/engine/outcomes.py)."""
        return details_of(entry)


# Granting or taking away a role is an admin change like any other: audited.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    pass


# --- Restore drills ------------------------------------------------------------------------
# (Imported here, not at the top: this section is appended whole, so merges stay simple.)
from .engine import schedules  # noqa: E402
from .engine.outcomes import describe  # noqa: E402
from .models import RestoreDrillPolicy, RestoreDrillRun  # noqa: E402


@admin.register(RestoreDrillPolicy)
class RestoreDrillPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "enabled", "all_clusters", "target_cluster", "run_at", "keep_hours"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    filter_horizontal = ["clusters"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        schedules.sync_drill_task(form.instance)  # beat follows at once (the sweep would, within a minute)


@admin.register(RestoreDrillRun)
class RestoreDrillRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Read-only: the drill engine writes runs (backups/engine/drills.py)."""

    list_display = ["id", "policy_name", "due_at", "started_at", "status", "source_cluster", "source_tenant",
                    "scratch_tenant_name", "recovery_seconds", "removed_at"]
    list_select_related = ["source_cluster", "source_tenant"]
    list_filter = ["status"]
    search_fields = ["policy_name", "scratch_tenant_name"]
    readonly_fields = ["failure", "check_result"]
    exclude = ["failure_reason", "failure_code", "failure_params"]

    @admin.display(description=_("failure reason"))
    def failure(self, run):
        return failure_of(run)

    @admin.display(description=_("check result"))
    def check_result(self, run):
        return describe(run.check_code, run.check_params)
# --- Recovery: restore tasks and recoverable intervals -------------------------------
# Both are the state machine's (engine/restores.py, engine/intervals.py): the
# admin shows them and changes nothing.  Imported here, not at the top, so
# sections appended by other branches merge without touching one import list.

from django.http import HttpResponseBadRequest  # noqa: E402

from .models import RecoverableInterval, RestoreTask  # noqa: E402


class RefuseNulMixin:
    """A NUL in the query string is refused with 400: PostgreSQL cannot take
    one in a text literal, and a list filter's value goes straight into one."""

    def changelist_view(self, request, extra_context=None):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            return HttpResponseBadRequest(_("The address holds a character that is not allowed."))
        return super().changelist_view(request, extra_context)


@admin.register(RestoreTask)
class RestoreTaskAdmin(RefuseNulMixin, ReadOnlyMixin, TaskAdmin):
    list_display = [
        "id", "cluster", "source_tenant", "restore_point", "target_cluster", "new_tenant_name",
        "phase", "status_badge", "progress_display", "started_at", "ended_at",
    ]
    list_select_related = ["cluster", "source_tenant", "target_cluster"]
    list_filter = ["status", "phase", "cluster", ("target_cluster", admin.RelatedFieldListFilter), "started_at"]
    search_fields = ["cluster__name", "source_tenant__name", "new_tenant_name", "failure_reason", "failure_code"]

    @admin.display(description=_("progress"))
    def progress_display(self, task):
        return f"{task.progress} %"


@admin.register(RecoverableInterval)
class RecoverableIntervalAdmin(RefuseNulMixin, ReadOnlyMixin, NumericSearchMixin, BigTableMixin, admin.ModelAdmin):
    list_display = ["id", "cluster", "tenant", "start", "end_display", "round_link", "data_task_ids"]
    list_select_related = ["cluster", "tenant", "round"]
    list_filter = ["cluster", ("end", admin.EmptyFieldListFilter), "start"]
    search_fields = ["tenant__name", "cluster__name"]
    id_search_fields = ["pk", "round_id"]
    sortable_by = ["id", "start"]

    @admin.display(description=_("recoverable to"))
    def end_display(self, interval):
        """An interval on a live round ends at that round's checkpoint, read now."""
        end = interval.effective_end
        if end is None:
            return "-"
        return end if interval.end is not None else format_html("{} ({})", end, _("log archive advancing"))

    @admin.display(description=_("log archive round"))
    def round_link(self, interval):
        if interval.round_id is None:
            return "-"
        url = reverse("admin:backups_logbackuptask_change", args=[interval.round_id])
        return format_html('<a href="{}">#{}</a>', url, interval.round_id)
