"""Backup policies (OV-1): the list, each policy's page (with its cleanup
preview), the create and edit form, pause and resume.

Saving goes through ``engine.services.save_policy`` (one transaction: the
policy, its beat entry, its log backup and the audit row); pause and resume
are buttons like the log backups' (``actions.act``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backup_console.export import CHUNK_SIZE, FORMATS, ListExport, export_format, refused
from backup_console.lists import COUNT_CAP

from ..choices import BackupMode, PolicyState, ScheduleKind
from ..engine import audit, cleanup_preview, services, simulation
from ..forms import BackupPolicyForm
from ..models import BackupPolicy
from ..tables import BackupPolicyTable
from .actions import act, is_safe, record_refusal


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_backuppolicy", raise_exception=True)
def policy_list(request):
    """Every policy (a few per cluster), or with ``?_export=`` the same rows as a file."""
    policies = BackupPolicy.objects.select_related(
        "cluster", "tenant", "destination", "secondary_destination", "periodic_task__crontab"
    ).order_by("cluster__name", "tenant__name", "state", "pk")
    fmt = export_format(request)
    if fmt is not None:
        if fmt not in FORMATS:
            return refused(request, fmt)
        records = map(_shown, policies[: COUNT_CAP + 1].iterator(chunk_size=CHUNK_SIZE))
        return ListExport(BackupPolicyTable([]), records).response(fmt)
    policies = [_shown(policy) for policy in policies]
    return render(request, "backups/policy_list.html", {"policies": policies, "count_cap": COUNT_CAP})


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_backuppolicy", raise_exception=True)
def policy_detail(request, pk):
    """A policy and what its next cleanup will delete (engine/cleanup_preview.py)."""
    policy = get_object_or_404(
        BackupPolicy.objects.select_related("cluster", "tenant", "destination", "secondary_destination"), pk=pk
    )
    return render(request, "backups/policy_detail.html", {
        "policy": _shown(policy),
        "preview": cleanup_preview.for_policy(policy),
        "tz_name": timezone.get_current_timezone_name(),
    })


def _shown(policy):
    """What the list shows of a policy besides its fields."""
    policy.schedule_rows = schedule_rows(policy)
    policy.state_color = PolicyState(policy.state).color
    policy.storage_root = simulation.storage_root(policy.destination.uri, policy.directory)
    return policy


def schedule_rows(policy):
    """[(day label, mode label)] in day order, for reading a schedule at a glance."""
    modes = dict(BackupMode.choices)
    rows = []
    for day in sorted(policy.schedule_days, key=int):
        label = WEEKDAYS_ABBR[int(day) - 1] if policy.schedule_kind == ScheduleKind.WEEKLY else day
        rows.append((label, modes.get(policy.schedule_days[day], policy.schedule_days[day])))
    return rows


def _policy_form_page(request, form, policy=None):
    context = {"form": form, "policy": policy, "cancel_url": _back_to_list(request)}
    return render(request, "backups/policy_form.html", context)


def _back_to_list(request):
    url = request.GET.get("next") or request.POST.get("next")
    return url if is_safe(request, url) else reverse("backups:policy_list")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_backuppolicy", raise_exception=True)
def policy_create(request):
    if request.method == "POST":
        form = BackupPolicyForm(request.POST)
        if form.is_valid():
            target = form.cleaned_data.get("tenant") or form.cleaned_data["cluster"]  # before a refusal takes it off the form
            if policy := services.save_policy(form, request.user):
                messages.success(request, _("Backup policy #%(pk)s created: %(policy)s.") % {"pk": policy.pk, "policy": policy})
                return redirect("backups:policy_list")
            _record_refused_save(request, form, audit.Action.POLICY_CREATE, target)
    else:
        form = BackupPolicyForm(initial={key: request.GET[key] for key in ("cluster", "tenant") if key in request.GET})
    return _policy_form_page(request, form)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_edit(request, pk):
    policy = get_object_or_404(BackupPolicy.objects.select_related("cluster", "tenant"), pk=pk)
    if request.method == "POST":
        form = BackupPolicyForm(request.POST, instance=policy)
        if form.is_valid():
            if services.save_policy(form, request.user):
                messages.success(request, _("Backup policy #%(pk)s saved.") % {"pk": policy.pk})
                return redirect("backups:policy_list")
            _record_refused_save(request, form, audit.Action.POLICY_EDIT, policy)
    else:
        form = BackupPolicyForm(instance=policy)
    return _policy_form_page(request, form, policy)


def _record_refused_save(request, form, action, obj):
    """A valid form the engine refused to save (save_policy put its reason on
    the form): recorded in the audit trail with that reason."""
    errors = [error for field_errors in form.errors.as_data().values() for error in field_errors]
    if errors:
        record_refusal(request, errors[0], action, obj=obj)


@require_POST
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_pause(request, pk):
    return act(request, services.pause_policy, "backups:policy_list", pk,
               attempt=(audit.Action.POLICY_PAUSE, BackupPolicy, pk))


@require_POST
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_resume(request, pk):
    return act(request, services.resume_policy, "backups:policy_list", pk,
               attempt=(audit.Action.POLICY_RESUME, BackupPolicy, pk))
