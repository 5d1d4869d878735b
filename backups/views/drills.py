"""Restore drills (恢复抽检): the policies and their runs on one page, the
policy form, and the buttons (enable, disable, delete, run now).

Saving and every button go through ``engine.drills`` (one transaction each,
with the beat entry and the audit row); a refusal is a message on the field
or above the list, and writes nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_filters.views import FilterView

from backup_console.lists import BoundedTableMixin

from ..choices import DrillStatus
from ..engine import audit, drills
from ..engine.services import ActionRefused
from ..filtersets import RestoreDrillRunFilterSet
from ..forms import RestoreDrillPolicyForm
from ..models import RestoreDrillPolicy, RestoreDrillRun
from ..tables import RestoreDrillRunTable
from ..timerange import RANGE_CHOICES
from .actions import ACTION_PARAMS, act, is_safe, record_refusal


class DrillListView(PermissionRequiredMixin, BoundedTableMixin, FilterView):
    """The drill policies (a few) above a page of their runs, filtered by time range, status and cluster."""

    permission_required = "backups.view_restoredrillrun"
    raise_exception = True
    http_method_names = ["get", "head"]
    template_name = "backups/drill_list.html"
    filterset_class = RestoreDrillRunFilterSet
    table_class = RestoreDrillRunTable
    queryset = RestoreDrillRun.objects.select_related("source_cluster", "source_tenant", "target_cluster").order_by(
        "-started_at", "-id")
    default_per_page = 20

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.filter_valid = self.filterset.is_valid()
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        valid = self.filterset.is_valid()
        policies = list(RestoreDrillPolicy.objects.select_related("target_cluster").prefetch_related("clusters"))
        last = drills.last_runs(policies)
        for policy in policies:
            policy.days_label = schedule_label(policy)
            policy.last_run = last.get(policy.pk)
        context.update(
            policies=policies,
            range_key=self.filterset.form.cleaned_data.get("range") if valid else self.request.GET.get("range", "7d"),
            range_choices=list(RANGE_CHOICES),
        )
        return context


def schedule_label(policy):
    """"Every day" or the weekdays, for reading a drill schedule at a glance."""
    days = sorted(int(day) for day in policy.schedule_days)
    if len(days) == 7:
        return _("Every day")
    return ", ".join(str(WEEKDAYS_ABBR[day - 1]) for day in days)


def _back(request):
    url = request.GET.get("next") or request.POST.get("next")
    return url if is_safe(request, url) else reverse("backups:drill_list")


def _form_page(request, form, policy=None):
    return render(request, "backups/drill_form.html", {"form": form, "policy": policy, "cancel_url": _back(request)},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_restoredrillpolicy", raise_exception=True)
def drill_create(request):
    if request.method == "POST":
        form = RestoreDrillPolicyForm(request.POST)
        if form.is_valid():
            policy = drills.save_policy(form, request.user)
            messages.success(request, _("Restore drill policy #%(pk)s created: %(name)s.") % {"pk": policy.pk, "name": policy.name})
            return redirect("backups:drill_list")
    else:
        form = RestoreDrillPolicyForm()
    return _form_page(request, form)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.change_restoredrillpolicy", raise_exception=True)
def drill_edit(request, pk):
    policy = get_object_or_404(RestoreDrillPolicy, pk=pk)
    if request.method == "POST":
        form = RestoreDrillPolicyForm(request.POST, instance=policy)
        if form.is_valid():
            drills.save_policy(form, request.user)
            messages.success(request, _("Restore drill policy #%(pk)s saved.") % {"pk": policy.pk})
            return redirect("backups:drill_list")
    else:
        form = RestoreDrillPolicyForm(instance=policy)
    return _form_page(request, form, policy)


@require_POST
@permission_required("backups.change_restoredrillpolicy", raise_exception=True)
def drill_enable(request, pk):
    return act(request, drills.enable_policy, "backups:drill_list", pk,
               attempt=(audit.Action.DRILL_POLICY_ENABLE, RestoreDrillPolicy, pk))


@require_POST
@permission_required("backups.change_restoredrillpolicy", raise_exception=True)
def drill_disable(request, pk):
    return act(request, drills.disable_policy, "backups:drill_list", pk,
               attempt=(audit.Action.DRILL_POLICY_DISABLE, RestoreDrillPolicy, pk))


@require_POST
@permission_required("backups.delete_restoredrillpolicy", raise_exception=True)
def drill_delete(request, pk):
    return act(request, drills.delete_policy, "backups:drill_list", pk,
               attempt=(audit.Action.DRILL_POLICY_DELETE, RestoreDrillPolicy, pk))


@require_POST
@permission_required("backups.run_restoredrillpolicy", raise_exception=True)
def drill_run(request, pk):
    """Run now: the drill starts here (its restore goes to a worker); a drill
    that found nothing to restore is recorded failed and said as a warning."""
    if request.POST.keys() - ACTION_PARAMS:
        return act(request, drills.run_now, "backups:drill_list", pk)  # says which parameters are unknown
    try:
        run, text = drills.run_now(pk, request.user)
    except ActionRefused as refused:
        messages.error(request, str(refused))
        record_refusal(request, refused, audit.Action.DRILL_RUN_NOW, RestoreDrillPolicy, pk)
    else:
        (messages.warning if run.status == DrillStatus.FAILED else messages.success)(request, text)
    return redirect(_back(request))
