"""The alert panels other pages include: a cluster's (or every cluster's)
open alerts, and a cluster's silences with the form for a new one.  Each is
one query, made only where the panel is shown, so the pages that include it
need no change to their views."""

from django import template
from django.urls import reverse
from django.utils import timezone

from backup_console.lists import list_url

from ..choices import AlertStatus
from ..engine.alert_actions import active_silences
from ..views.alerts import alert_text, open_alerts

register = template.Library()
PANEL_LIMIT = 5


@register.inclusion_tag("backups/includes/open_alerts.html", takes_context=True)
def open_alerts_panel(context, cluster=None):
    rows = open_alerts(cluster.pk if cluster is not None else None, PANEL_LIMIT)
    for alert in rows:
        alert.text = alert_text(alert)
        alert.detail_url = reverse("alerts:detail", args=[alert.pk])
    params = {"status": AlertStatus.OPEN, "range": "all"}
    if cluster is not None:
        params["cluster"] = cluster.pk
    return {"alerts": rows[:PANEL_LIMIT], "more": len(rows) > PANEL_LIMIT, "cluster": cluster,
            "list_url": list_url("alerts:list", **params), "perms": context.get("perms")}


@register.inclusion_tag("backups/includes/cluster_silences.html", takes_context=True)
def cluster_silences(context, cluster):
    request = context["request"]
    now = timezone.now()
    return {"silences": list(active_silences(cluster.pk, now)), "cluster": cluster, "now": now,
            "perms": context.get("perms"), "csrf_token": context.get("csrf_token"),
            "next_path": request.get_full_path()}
