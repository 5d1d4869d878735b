"""The demo's alerts (issue 14): a week of resolved alerts read from the seeded
history (a failed data backup or secondary copy that a later one made good),
then the engine's own evaluation of the state now, which opens what holds.

The resolved ones are written in bulk, as the history is: each is what the
engine would have opened when the task failed and resolved when the next one
completed (engine/alerting.py says them the same way).
"""

from datetime import timedelta

from ..choices import AlertRule, AlertStatus, DataBackupStatus
from ..engine import alerting
from ..models import Alert, DataBackupTask, SecondaryDataBackupTask

DAYS = 7
PER_KIND = 40  # at most this many past alerts per rule


def _resolved(model, finding_of, now):
    failed = (model.objects.filter(status=DataBackupStatus.FAILED, ended_at__gte=now - timedelta(days=DAYS))
              .select_related("cluster").order_by("-ended_at")[:PER_KIND])
    past = []
    for task in failed:
        later = (model.objects.filter(cluster_id=task.cluster_id, status=DataBackupStatus.COMPLETED,
                                      started_at__gt=task.started_at, ended_at__lte=now)
                 .order_by("started_at").values_list("ended_at", flat=True).first())
        if later is None:
            continue  # still failed: the evaluation below opens it
        found = finding_of(task)
        past.append(Alert(rule=found.rule, subject=found.subject, severity=alerting.SEVERITY[found.rule],
                          status=AlertStatus.RESOLVED, cluster_id=found.cluster_id, tenant_id=found.tenant_id,
                          started_at=task.ended_at, ended_at=max(later, task.ended_at), params=found.params))
    return past


def seed(now):
    """Write the past alerts once (not when alerts of their rules exist), then
    evaluate every rule at ``now``.  Returns how many alerts are open and
    resolved after it."""
    if not Alert.objects.filter(rule__in=[AlertRule.DATA_FAILED, AlertRule.SECONDARY_FAILED]).exists():
        Alert.objects.bulk_create(_resolved(DataBackupTask, alerting.data_failed_finding, now)
                                  + _resolved(SecondaryDataBackupTask, alerting.secondary_failed_finding, now))
    alerting.evaluate_all(now)
    return {status: Alert.objects.filter(status=status).count() for status in AlertStatus.values}
