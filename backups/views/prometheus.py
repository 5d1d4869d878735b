"""``/metrics``: the console's state in Prometheus' text exposition format.

Many web and worker processes serve one console, so nothing here counts in
process memory: a custom collector (``ConsoleCollector``) reads the state at
scrape time, through the functions the pages use, so a figure here equals
the one on the page —

- RPO per tenant (and a cluster's worst): ``engine.metrics.rpos``, the
  overview's, which judges each tenant as the recovery page does
  (``intervals.judge``); nothing to restore to is ``+Inf``;
- log delay of each live log backup and its threshold: ``formats.delay_seconds``
  and ``formats.delay_threshold``, the log list's and the overview's rule;
- a cluster's last successful data backup, whether it is backed up and
  whether it has an active policy: ``engine.metrics.protection``, the
  overview's "backed-up clusters"; a tenant's last success is its own
  newest or its cluster's (a cluster-level backup covers every tenant);
- open alerts by severity, per cluster and per tenant;
- tasks finished by kind and outcome (counters): the daily rollups summed
  over their days, never a scan of the task tables.

A scrape is a constant number of queries (8) whatever the history and the
number of clusters (``tests/views/test_prometheus.py``).

The endpoint needs no session: it answers a request that carries
``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time), 401
otherwise, and 404 while ``METRICS_TOKEN`` is unset.  The token is never
logged (Django logs a 401 as its path only).
"""

import hmac
import math

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from clusters.models import Tenant

from ..choices import AlertSeverity, AlertStatus, DataBackupStatus, PolicyState
from ..engine import metrics
from ..engine.rollups import BYTES
from ..formats import delay_seconds, delay_threshold
from ..models import Alert, BackupPolicy, DailyRollup, DataBackupTask, LogBackupTask, RestoreDrillRun
from ..timerange import effective_end

PREFIX = "backup_console"
SEVERITIES = [value for value, _label in AlertSeverity.choices]


def _seconds(value):
    """A count of seconds for a gauge: None (nothing to restore to) is +Inf."""
    return math.inf if value is None else value


class ConsoleCollector(Collector):
    """Reads the console's state when scraped (see the module doc)."""

    def __init__(self, now=None):
        self.now = now

    def collect(self):
        now = self.now or timezone.now()
        policies = list(BackupPolicy.objects.order_by("pk").values(
            "cluster_id", "tenant_id", "state", "schedule_kind", "schedule_days", "log_delay_threshold_seconds"))
        protection = metrics.protection(policies, now)
        names = {item.cluster.pk: item.cluster.name for item in protection.clusters}
        yield from self.clusters(protection, policies)
        yield from self.rpo(metrics.rpos(policies, now))
        yield from self.log_delay(now)
        yield from self.alerts(names)
        yield from self.finished(names)

    def clusters(self, protection, policies):
        active = {row["cluster_id"] for row in policies if row["state"] == PolicyState.ACTIVE}
        last = GaugeMetricFamily(
            f"{PREFIX}_cluster_last_data_backup_success_timestamp_seconds",
            "When the cluster's newest successful data backup ended (unix seconds); absent when it has none.",
            labels=["cluster"])
        backed_up = GaugeMetricFamily(
            f"{PREFIX}_cluster_backed_up",
            "1 when the cluster is backed up (an active policy and a success within its cycle), as the overview counts it.",
            labels=["cluster"])
        policy = GaugeMetricFamily(
            f"{PREFIX}_cluster_backup_policy_active", "1 when the cluster has an active backup policy.", labels=["cluster"])
        for item in protection.clusters:
            name = item.cluster.name
            if item.last_success is not None:
                last.add_metric([name], item.last_success.timestamp())
            backed_up.add_metric([name], int(item.backed_up))
            policy.add_metric([name], int(item.cluster.pk in active))
        yield from (last, backed_up, policy)
        yield self.tenants_last_success()

    def tenants_last_success(self):
        """Each tenant's newest successful data backup: its own or its
        cluster's (a cluster-level backup covers every tenant), one probe of
        the cluster's end-time index per tenant, as the overview's clusters."""
        newest = (DataBackupTask.objects.filter(cluster=OuterRef("cluster_id"), status=DataBackupStatus.COMPLETED)
                  .filter(Q(tenant__isnull=True) | Q(tenant=OuterRef("pk")))
                  .alias(effective_end=effective_end()).order_by("-effective_end", "-id").values("ended_at")[:1])
        scratch = RestoreDrillRun.objects.filter(scratch_tenant__isnull=False).values("scratch_tenant")
        tenants = (Tenant.objects.exclude(pk__in=scratch).order_by("cluster__name", "name")
                   .annotate(last=Subquery(newest)).values_list("cluster__name", "name", "last"))
        last = GaugeMetricFamily(
            f"{PREFIX}_tenant_last_data_backup_success_timestamp_seconds",
            "When the newest successful data backup of the tenant or of its whole cluster ended (unix seconds).",
            labels=["cluster", "tenant"])
        for cluster, tenant, moment in tenants:
            if moment is not None:
                last.add_metric([cluster, tenant], moment.timestamp())
        return last

    def rpo(self, rpos):
        tenant = GaugeMetricFamily(
            f"{PREFIX}_tenant_rpo_seconds",
            "Now minus the tenant's newest recoverable moment (+Inf: nothing to restore to).",
            labels=["cluster", "tenant"])
        breached = GaugeMetricFamily(
            f"{PREFIX}_tenant_rpo_breached", "1 when the tenant's RPO is breached, as the console judges it.",
            labels=["cluster", "tenant"])
        worst = {}
        for t in rpos.tenants:
            seconds = _seconds(t.rpo.seconds)
            tenant.add_metric([t.cluster, t.tenant], seconds)
            breached.add_metric([t.cluster, t.tenant], int(t.rpo.state == "breached"))
            worst[t.cluster] = max(worst.get(t.cluster, 0.0), seconds)
        cluster = GaugeMetricFamily(
            f"{PREFIX}_cluster_rpo_seconds", "The worst RPO of the cluster's tenants (+Inf: one has nothing to restore to).",
            labels=["cluster"])
        for name, seconds in worst.items():
            cluster.add_metric([name], seconds)
        yield from (tenant, breached, cluster)

    def log_delay(self, now):
        delay = GaugeMetricFamily(
            f"{PREFIX}_log_backup_delay_seconds",
            "Now minus the latest backup time point of each live log backup (tenant empty: the whole cluster).",
            labels=["cluster", "tenant"])
        threshold = GaugeMetricFamily(
            f"{PREFIX}_log_backup_delay_threshold_seconds",
            "The log-delay alert threshold of each live log backup (its policy's, or the default).",
            labels=["cluster", "tenant"])
        live = (LogBackupTask.objects.filter(status__in=LogBackupTask.ALIVE, latest_point__isnull=False)
                .select_related("cluster", "tenant", "policy").order_by("cluster__name", "pk")
                .only("latest_point", "cluster__name", "tenant__name", "policy__log_delay_threshold_seconds"))
        for task in live:
            labels = [task.cluster.name, task.tenant.name if task.tenant else ""]
            delay.add_metric(labels, delay_seconds(task, now))
            threshold.add_metric(labels, delay_threshold(task))
        yield from (delay, threshold)

    def alerts(self, names):
        rows = (Alert.objects.filter(status=AlertStatus.OPEN).order_by()
                .values("cluster_id", "tenant__name", "severity").annotate(n=Count("pk")))
        total = dict.fromkeys(SEVERITIES, 0)
        per_cluster = {(name, severity): 0 for name in names.values() for severity in SEVERITIES}
        per_tenant = {}
        for row in rows:
            severity, n = row["severity"], row["n"]
            total[severity] = total.get(severity, 0) + n
            cluster = names.get(row["cluster_id"])
            if cluster is None:
                continue  # about no one cluster (a storage destination): in the total only
            per_cluster[cluster, severity] = per_cluster.get((cluster, severity), 0) + n
            if row["tenant__name"] is not None:
                key = (cluster, row["tenant__name"], severity)
                per_tenant[key] = per_tenant.get(key, 0) + n
        fleet = GaugeMetricFamily(f"{PREFIX}_open_alerts", "Open alerts by severity.", labels=["severity"])
        for severity, n in total.items():
            fleet.add_metric([severity], n)
        cluster = GaugeMetricFamily(
            f"{PREFIX}_cluster_open_alerts", "Open alerts of the cluster (its tenants' included) by severity.",
            labels=["cluster", "severity"])
        for (name, severity), n in per_cluster.items():
            cluster.add_metric([name, severity], n)
        tenant = GaugeMetricFamily(
            f"{PREFIX}_tenant_open_alerts", "Open alerts about the tenant by severity (only tenants with one).",
            labels=["cluster", "tenant", "severity"])
        for (name, tenant_name, severity), n in sorted(per_tenant.items()):
            tenant.add_metric([name, tenant_name, severity], n)
        yield from (fleet, cluster, tenant)

    def finished(self, names):
        rows = (DailyRollup.objects.order_by().values("cluster_id", "kind", "outcome")
                .annotate(n=Sum("count"), written=Sum("bytes_written")))
        tasks = CounterMetricFamily(
            f"{PREFIX}_tasks_finished", "Tasks that ended, by cluster, kind and outcome (the daily rollups, every day summed).",
            labels=["cluster", "kind", "outcome"])
        written = CounterMetricFamily(
            f"{PREFIX}_tasks_written_bytes", "Bytes the finished tasks wrote (data backups) or restored (restores).",
            labels=["cluster", "kind", "outcome"])
        for row in sorted(rows, key=lambda r: (names.get(r["cluster_id"], ""), r["kind"], r["outcome"])):
            labels = [names.get(row["cluster_id"], ""), row["kind"], row["outcome"]]
            tasks.add_metric(labels, row["n"])
            if row["kind"] in BYTES:
                written.add_metric(labels, row["written"])
        yield from (tasks, written)


def authorized(request):
    """Whether the request carries the bearer token (compared in constant time)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


def exposition(accept="", now=None):
    """(body, content type) of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConsoleCollector(now))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


@login_not_required
@require_GET
def metrics_view(request):
    if not settings.METRICS_TOKEN:
        raise Http404("metrics are off")
    if not authorized(request):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
