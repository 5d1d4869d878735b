"""Alerts (告警): the list (open and resolved, read like a task list), an
alert's page with its history, acknowledging one, and silencing a cluster
for a maintenance window.

Acknowledge and silence go through ``engine.alert_actions`` (one
transaction each, with the audit row); a refusal is a message and writes
nothing.  Operators act, viewers see (backup_console/roles.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backup_console.lists import options_html, query_with
from clusters.models import Cluster

from .. import filtersets, tables
from ..choices import STATUS_COLORS, AlertRule, AlertStatus
from ..engine import alert_actions, alerting, audit
from ..engine.services import ActionRefused
from ..formats import readable_delay
from ..forms import AcknowledgeForm, SilenceForm
from ..models import Alert, AuditEntry, ClusterSilence
from .actions import is_safe, record_refusal
from .lists import TaskListView


def alert_text(alert):
    """An alert said in one line, in the reader's language: the engine's
    sentence (engine/alerting.describe) where its values make one, else its
    rule, where, and the value against the threshold."""
    said = alerting.describe(alert)
    if said != alert.get_rule_display():
        return said
    where = " / ".join(name for name in (alert.cluster.name if alert.cluster_id else "",
                                         alert.tenant.name if alert.tenant_id else "") if name)
    subject, _url = tables.subject_link(alert)
    parts = [str(AlertRule(alert.rule).label) if alert.rule in AlertRule.values else alert.rule]
    if where or subject:
        parts.append(" · ".join(part for part in (where, subject) if part))
    value, threshold = tables.measure(alert.rule, alert.value), tables.measure(alert.rule, alert.threshold)
    if value and threshold:
        parts.append(_("%(value)s, threshold %(threshold)s") % {"value": value, "threshold": threshold})
    elif value:
        parts.append(value)
    return ": ".join(parts[:2]) + ("" if len(parts) < 3 else f" ({parts[2]})")


class AlertListView(TaskListView):
    """/alerts/: open and resolved alerts whose life overlaps the time range,
    with the task lists' filters, paging, sorting, live refresh and export."""

    template_name = "backups/alert_list.html"
    queryset = Alert.objects.select_related("cluster", "tenant", "acknowledged_by")
    filterset_class = filtersets.AlertFilterSet
    table_class = tables.AlertTable

    tab = "alerts"

    def get_table(self):
        table = super().get_table()
        table.describe = alert_text
        return table

    def tab_links(self):
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        valid = self.filterset.is_valid()
        context.update({
            "severity_choices": [(value, label, STATUS_COLORS.get(value, "secondary"))
                                 for value, label in self.filterset.filters["severity"].extra["choices"]],
            "selected_severities": query.getlist("severity"),
            "rule_options": options_html([("", _("All rules")), *AlertRule.choices], query.get("rule", "")),
            "all_severity_url": query_with(query, drop=("severity",)),
            "open_url": query_with(query, drop=("start", "end"), status=AlertStatus.OPEN, range="all"),
            "filter_valid": valid,
        })
        if not self.request.htmx:
            context["silences"] = list(alert_actions.active_silences())
            context["now"] = timezone.now()
        return context


def _history(alert):
    """(time, what, who, note) of an alert's life, oldest first: opened,
    updated, acknowledged, resolved, and what operators did to it (audit)."""
    rows = [(alert.started_at, _("Opened"), "", "")]
    if alert.acknowledged_at:
        rows.append((alert.acknowledged_at, _("Acknowledged"),
                     alert.acknowledged_by.get_username() if alert.acknowledged_by else "—", alert.acknowledge_note))
    if alert.updated_at and alert.updated_at > alert.started_at and alert.updated_at != alert.acknowledged_at \
            and alert.updated_at != alert.ended_at:
        rows.append((alert.updated_at, _("Updated"), "", ""))
    if alert.ended_at:
        rows.append((alert.ended_at, _("Resolved"), "", ""))
    # Refused attempts (a second acknowledgement) are in the trail too.
    attempts = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Alert), object_id=alert.pk).exclude(outcome=AuditEntry.Outcome.DONE)
    for entry in attempts.order_by("created_at")[:20]:
        rows.append((entry.created_at, f"{entry.get_action_display()} · {entry.get_outcome_display()}", entry.actor_name, ""))
    return sorted(rows, key=lambda row: row[0])


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_alert", raise_exception=True)
def alert_detail(request, pk):
    return _detail_page(request, get_object_or_404(Alert.objects.select_related("cluster", "tenant", "acknowledged_by"), pk=pk))


def _detail_page(request, alert, form=None, status=200):
    subject_text, subject_url = tables.subject_link(alert)
    can_ack = alert.status == AlertStatus.OPEN and alert.acknowledged_at is None and request.user.has_perm("backups.change_alert")
    return render(request, "backups/alert_detail.html", {
        "alert": alert,
        "text": alert_text(alert),
        "value_text": tables.measure(alert.rule, alert.value),
        "threshold_text": tables.measure(alert.rule, alert.threshold),
        "duration_text": readable_delay(((alert.ended_at or timezone.now()) - alert.started_at).total_seconds()),
        "subject_text": subject_text,
        "subject_url": subject_url,
        "history": _history(alert),
        "form": form if form is not None else (AcknowledgeForm() if can_ack else None),
        "rule_list_url": reverse("alerts:list") + query_with(QueryDict(), rule=alert.rule, range="all"),
        "tz_name": timezone.get_current_timezone_name(),
    }, status=status)


@require_POST
@permission_required("backups.change_alert", raise_exception=True)
def alert_acknowledge(request, pk):
    alert = get_object_or_404(Alert.objects.select_related("cluster", "tenant", "acknowledged_by"), pk=pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, form, status=400)
    try:
        messages.success(request, alert_actions.acknowledge(alert.pk, request.user, form.cleaned_data["note"]))
    except ActionRefused as refused:
        messages.error(request, str(refused))
        record_refusal(request, refused, audit.Action.ALERT_ACKNOWLEDGE, Alert, pk)
    return redirect(_back(request, reverse("alerts:detail", args=[pk])))


def _back(request, default):
    url = request.POST.get("next")
    return url if is_safe(request, url) else default


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_clustersilence", raise_exception=True)
def silence_create(request, cluster_pk):
    """Silence a cluster's alerts for a maintenance window (the cluster page's form, or this page)."""
    cluster = get_object_or_404(Cluster, pk=cluster_pk)
    if request.method == "POST":
        form = SilenceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                alert_actions.silence_cluster(cluster.pk, data["starts_at"], data["ends_at"], data["reason"], request.user)
            except ActionRefused as refused:
                form.add_error(refused.field, str(refused))
                record_refusal(request, refused, audit.Action.CLUSTER_SILENCE, obj=cluster)
            else:
                messages.success(request, _("Alerts of %(cluster)s are silenced until %(end)s.") % {
                    "cluster": cluster.name, "end": timezone.localtime(data["ends_at"]).strftime("%Y-%m-%d %H:%M")})
                return redirect(_back(request, cluster.get_absolute_url()))
    else:
        now = timezone.localtime().replace(second=0, microsecond=0)
        form = SilenceForm(initial={"starts_at": now, "ends_at": now + timezone.timedelta(hours=2)})
    return render(request, "backups/silence_form.html", {"form": form, "cluster": cluster, "cancel_url": cluster.get_absolute_url(),
                                                         "tz_name": timezone.get_current_timezone_name()},
                  status=400 if form.errors else 200)


@require_POST
@permission_required("backups.change_clustersilence", raise_exception=True)
def silence_end(request, pk):
    silence = ClusterSilence.objects.filter(pk=pk).select_related("cluster").first()
    unknown = sorted(set(request.POST) - {"csrfmiddlewaretoken", "next"})
    if unknown:
        messages.error(request, _("Unknown parameter(s): %(names)s. Nothing was changed.") % {"names": ", ".join(unknown)})
    else:
        try:
            messages.success(request, alert_actions.end_silence(pk, request.user))
        except ActionRefused as refused:
            messages.error(request, str(refused))
            record_refusal(request, refused, audit.Action.SILENCE_END, ClusterSilence, pk)
    default = silence.cluster.get_absolute_url() if silence else reverse("alerts:list")
    return HttpResponseRedirect(_back(request, default))


def open_alerts(cluster_id=None, limit=5):
    """The newest open alerts (at most ``limit`` + 1, to tell there are more), for a panel."""
    rows = Alert.objects.filter(status=AlertStatus.OPEN).select_related("cluster", "tenant")
    if cluster_id is not None:
        rows = rows.filter(cluster_id=cluster_id)
    return list(rows.order_by("-started_at", "-id")[: limit + 1])


NAV_COUNT_CAP = 99


def navigation(request):
    """``open_alert_count``: the navigation's badge, one bounded COUNT of the
    open alerts (the status index answers it; past NAV_COUNT_CAP it says
    "99+"), made only by pages that show the navigation."""
    user = getattr(request, "user", None)

    def count():
        if user is None or not user.has_perm("backups.view_alert"):
            return None
        n = Alert.objects.filter(status=AlertStatus.OPEN).values("pk")[:NAV_COUNT_CAP + 1].count()
        return f"{NAV_COUNT_CAP}+" if n > NAV_COUNT_CAP else n

    return {"open_alert_count": count}

