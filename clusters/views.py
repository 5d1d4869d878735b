"""Clusters: the list, and each cluster's overview page (总览)."""

from types import SimpleNamespace

from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import connection
from django.db.models import Count, Q, Value
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.views import FilterView

from backup_console.export import TableExportMixin
from backup_console.lists import BoundedTableMixin, list_url
from backup_console.live import render_live
from backups.choices import DataBackupStatus, PolicyState
from backups.engine import cleanup_preview
from backups.engine.cluster_charts import cluster_charts
from backups.engine.outcomes import failure_of
from backups.formats import log_delay as log_delay_of
from backups.kinds import KINDS
from backups.models import BackupPolicy, DataBackupTask, LogBackupTask
from backups.timerange import Window

from .charts import ClusterChartsPage, window_days
from .filtersets import ClusterFilterSet
from .models import Cluster
from .tables import ClusterTable

RECENT_FAILURES = 8

class ClusterListView(PermissionRequiredMixin, TableExportMixin, BoundedTableMixin, FilterView):
    permission_required = "clusters.view_cluster"
    raise_exception = True
    template_name = "clusters/cluster_list.html"
    queryset = Cluster.objects.annotate(
        tenant_count=Count("tenants", distinct=True), host_count=Count("hosts", distinct=True)
    ).order_by("name")
    filterset_class = ClusterFilterSet
    table_class = ClusterTable


def recent_failures(cluster):
    """The cluster's newest failed tasks of every kind: one UNION ALL query,
    newest first.  Each kind's branch is cut at the rows the page can show
    (it walks the kind's (cluster, start) index newest first): uncut, every
    failure of the cluster's history was read and sorted, 3.9 s at 10M rows
    per kind."""
    fields = ("id", "started_at", "failure_code", "failure_params", "failure_reason")
    branches = [
        kind.model.objects.filter(cluster=cluster, status="failed").order_by("-started_at", "-id")
        .values(*fields, kind_key=Value(key))[:RECENT_FAILURES]
        for key, kind in KINDS.items()
    ]
    if connection.features.supports_slicing_ordering_in_compound:
        rows = branches[0].union(*branches[1:], all=True).order_by("-started_at", "-id")[:RECENT_FAILURES]
    else:  # SQLite allows no LIMIT inside a UNION's parts: a query per kind, merged here
        rows = sorted((row for branch in branches for row in branch), key=lambda row: (row["started_at"], row["id"]),
                      reverse=True)[:RECENT_FAILURES]
    failures = []
    for row in rows:
        kind = KINDS[row.pop("kind_key")]
        task = SimpleNamespace(pk=row["id"], **row)
        failures.append({"kind": kind.list_label, "task": task, "reason": failure_of(task),
                         "url": list_url(kind.list_view, cluster=cluster.pk, status="failed", range="all")})
    return failures


@permission_required("clusters.view_cluster", raise_exception=True)
def cluster_detail(request, pk):
    cluster = get_object_or_404(Cluster, pk=pk)
    week_ago = timezone.now() - timezone.timedelta(days=7)
    # OV-8's overlap, from the one place it is written (and index-friendly).
    week = DataBackupTask.objects.filter(cluster=cluster).filter(Window(week_ago, None).q())
    week_counts = week.aggregate(
        completed=Count("pk", filter=Q(status=DataBackupStatus.COMPLETED)),
        failed=Count("pk", filter=Q(status=DataBackupStatus.FAILED)),
        in_progress=Count("pk", filter=Q(status=DataBackupStatus.IN_PROGRESS)),
    )
    log_task = (
        LogBackupTask.objects.filter(cluster=cluster).select_related("host", "policy").order_by("-started_at", "-id").first()
    )
    log_delay = log_delay_of(log_task, timezone.now()) if log_task else None
    policies = (BackupPolicy.objects.filter(cluster=cluster, state=PolicyState.ACTIVE)
                .select_related("tenant", "destination", "secondary_destination"))
    # The charts, on their destinations (not on a live refresh, which swaps
    # the state panel only and reads no policy).
    charts = None
    if not request.htmx:
        policies = list(policies)
        destinations = {p.destination_id: p.destination for p in policies}
        destinations.update({p.secondary_destination_id: p.secondary_destination for p in policies if p.secondary_destination_id})
        destinations = sorted(destinations.values(), key=lambda d: d.name)
        charts = ClusterChartsPage(cluster_charts(cluster.pk, destinations, window_days(request)))
    # Live: a refresh gets the state panel (live-state), with the status
    # badge and recent failures swapped out of band.
    return render_live(request, "clusters/cluster_detail.html", "live-state", {
        "cluster": cluster,
        "tenants": cluster.tenants.all(),
        "hosts": cluster.hosts.all(),
        "policies": policies,
        "charts": charts,
        "latest_data": DataBackupTask.objects.filter(cluster=cluster).select_related("tenant", "backup_set").order_by("-started_at", "-id").first(),
        "week_counts": week_counts,
        "log_task": log_task,
        "log_delay": log_delay,
        "failures": recent_failures(cluster),
        "list_links": [(kind.list_label, list_url(kind.list_view, cluster=cluster.pk)) for kind in KINDS.values()],
        "tz_name": timezone.get_current_timezone_name(),
        "preview": None if request.htmx else cleanup_preview.for_cluster(cluster),
    })
