"""Start a restore (发起恢复): the form, with the source tenant's recoverable
intervals of the last 7 days beside it."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clusters.models import Tenant

from ..engine import intervals, restores
from ..engine.services import ActionRefused
from ..forms import RestoreForm
from ..models import AuditEntry
from .actions import record_refusal

HINT_DAYS = 7


def interval_hint(tenant_id):
    """The tenant's recoverable intervals that reach into the last 7 days, newest first."""
    since = timezone.now() - timedelta(days=HINT_DAYS)
    return [iv for iv in reversed(intervals.current(tenant_id)) if iv.end >= since]


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_restoretask", raise_exception=True)
def restore_create(request):
    if request.method == "POST":
        form = RestoreForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            moment = None if data["latest"] else data["restore_point"]
            source = data["source_tenant"]  # before a refusal takes a field's value off the form
            try:
                task = restores.start_restore(data["source_tenant"], moment, data["target_cluster"], data["new_tenant_name"], request.user)
            except ActionRefused as refused:
                form.refuse(refused)
                record_refusal(request, refused, AuditEntry.Action.RESTORE_START, obj=source)
            else:
                messages.success(request, _("Restore #%(pk)s started: %(tenant)s into %(cluster)s / %(new)s.") % {
                    "pk": task.pk, "tenant": task.source_tenant.name, "cluster": task.target_cluster.name, "new": task.new_tenant_name})
                return redirect(task.get_absolute_url())
        status = 400 if form.errors else 200
    else:
        # Prefilled from a cluster or tenant page, or kept across "Show recoverable intervals".
        known = {key: request.GET[key] for key in RestoreForm.base_fields if key in request.GET}
        form = RestoreForm(initial=known)
        status = 200
    tenant_id = form.data.get("source_tenant") or form.initial.get("source_tenant")
    tenant = Tenant.objects.select_related("cluster").filter(pk=tenant_id).first() if str(tenant_id or "").isdigit() else None
    return render(request, "backups/restore_form.html", {
        "form": form,
        "hint_tenant": tenant,
        "hint": interval_hint(tenant.pk) if tenant else None,
        "hint_days": HINT_DAYS,
        "tz_name": timezone.get_current_timezone_name(),
        "cancel_url": reverse("backups:restore_list"),
    }, status=status)
