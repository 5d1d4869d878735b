"""Operator actions (OV-1, OV-2, OV-4a): short views over backups/services.py.

State-changing requests are POST only and CSRF-protected; a refused or
malformed request gets a message and a redirect, never a 500.  Buttons on
the list pages come back to the page they were pressed on (``next``, or the
Referer), query string and all.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .choices import BackupMode, PolicyState, ScheduleKind
from .forms import BackupPolicyForm, InstantBackupForm
from .models import BackupPolicy
from .transitions import IllegalTransition

# Besides the CSRF token, the one name an action button may send.
ACTION_PARAMS = {"csrfmiddlewaretoken", "next"}


def _safe(request, url):
    """A page of this site to go back to: a path, or a URL on this host.

    Anything else (another host, a bare word that ``redirect`` would try to
    reverse as a view name, control characters) is not followed.
    """
    if not url or len(url) > 2000 or any(ord(char) < 32 or ord(char) == 127 for char in url):
        return False
    if not (url.startswith("/") or url.lower().startswith(("http://", "https://"))):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def _back(request, default):
    """Where an action returns to: ``next``, else the page it came from, else ``default``."""
    for url in (request.POST.get("next"), request.GET.get("next"), request.META.get("HTTP_REFERER")):
        if _safe(request, url):
            return url
    try:
        return reverse(default)
    except NoReverseMatch:
        return reverse("backups:overview")


def _unknown_params(request):
    return sorted((set(request.POST) | set(request.GET)) - ACTION_PARAMS)


def _act(request, action, default, *args):
    """Run a button's action; say what happened or why not, and go back."""
    unknown = _unknown_params(request)
    if unknown:
        messages.error(
            request, _("Unknown parameter(s): %(names)s. Nothing was changed.") % {"names": ", ".join(unknown)}
        )
    else:
        try:
            messages.success(request, action(*args, request.user))
        except (IllegalTransition, services.ActionRefused) as refused:
            messages.error(request, str(refused))
    return HttpResponseRedirect(_back(request, default))


# --- Log backups and secondary log backups (OV-4a, OV-7) ----------------------------


@require_POST
@permission_required("backups.change_logbackuptask", raise_exception=True)
def log_stop(request, pk):
    return _act(request, services.stop_log_backup, "backups:log_list", "log", pk)


@require_POST
@permission_required("backups.change_logbackuptask", raise_exception=True)
def log_start(request, pk):
    return _act(request, services.start_log_backup, "backups:log_list", "log", pk)


@require_POST
@permission_required("backups.change_secondarylogbackuptask", raise_exception=True)
def secondary_log_stop(request, pk):
    return _act(request, services.stop_log_backup, "backups:secondary_log_list", "secondary_log", pk)


@require_POST
@permission_required("backups.change_secondarylogbackuptask", raise_exception=True)
def secondary_log_start(request, pk):
    return _act(request, services.start_log_backup, "backups:secondary_log_list", "secondary_log", pk)


# --- Policies (OV-1) ------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_backuppolicy", raise_exception=True)
def policy_list(request):
    policies = BackupPolicy.objects.select_related(
        "cluster", "tenant", "destination", "secondary_destination", "periodic_task__crontab"
    ).order_by("cluster__name", "tenant__name", "state", "pk")
    for policy in policies:
        policy.schedule_rows = schedule_rows(policy)
        policy.state_color = PolicyState(policy.state).color
    return render(request, "backups/policy_list.html", {"policies": policies})


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
    return url if _safe(request, url) else reverse("backups:policy_list")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_backuppolicy", raise_exception=True)
def policy_create(request):
    if request.method == "POST":
        form = BackupPolicyForm(request.POST)
        if form.is_valid() and (policy := services.save_policy(form, request.user)):
            messages.success(request, _("Backup policy #%(pk)s created: %(policy)s.") % {"pk": policy.pk, "policy": policy})
            return redirect("backups:policy_list")
    else:
        form = BackupPolicyForm(initial={key: request.GET[key] for key in ("cluster", "tenant") if key in request.GET})
    return _policy_form_page(request, form)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_edit(request, pk):
    policy = get_object_or_404(BackupPolicy.objects.select_related("cluster", "tenant"), pk=pk)
    if request.method == "POST":
        form = BackupPolicyForm(request.POST, instance=policy)
        if form.is_valid() and services.save_policy(form, request.user):
            messages.success(request, _("Backup policy #%(pk)s saved.") % {"pk": policy.pk})
            return redirect("backups:policy_list")
    else:
        form = BackupPolicyForm(instance=policy)
    return _policy_form_page(request, form, policy)


@require_POST
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_pause(request, pk):
    return _act(request, services.pause_policy, "backups:policy_list", pk)


@require_POST
@permission_required("backups.change_backuppolicy", raise_exception=True)
def policy_resume(request, pk):
    return _act(request, services.resume_policy, "backups:policy_list", pk)


# --- Instant backup (OV-2) ---------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_databackuptask", raise_exception=True)
def instant_backup(request):
    if request.method == "POST":
        form = InstantBackupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = services.instant_backup(data["cluster"], data["tenant"], data["mode"], request.user)
            except services.ActionRefused as refused:
                form.refuse(refused)
            else:
                messages.success(
                    request,
                    _("Data backup #%(pk)s of %(cluster)s started (%(mode)s).")
                    % {"pk": task.pk, "cluster": task.cluster, "mode": task.get_mode_display().lower()},
                )
                return redirect(f"{reverse('backups:data_list')}?cluster={task.cluster_id}")
    else:
        known = {key: request.GET[key] for key in ("cluster", "tenant", "mode") if key in request.GET}
        form = InstantBackupForm(initial=known)
    return render(request, "backups/instant_backup.html", {"form": form, "cancel_url": _back_to_list_data(request)})


def _back_to_list_data(request):
    url = request.GET.get("next")
    return url if _safe(request, url) else reverse("backups:overview")
