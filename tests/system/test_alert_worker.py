"""Alerts on real workers (issue 14): a data backup that fails on the worker
opens its alert there (the transition's hook), the next success resolves it;
two worker processes evaluating at once open one alert and announce it once."""

import re

import pytest

from backups.choices import AlertRule, BackupMode
from backups.engine import dispatch, services
from backups.models import Alert, DataBackupTask
from tests import factories as f
from tests.worker import celery_cluster, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.worker


def test_a_failure_on_the_worker_opens_an_alert_and_the_next_success_resolves_it(celery_cluster, admin_user):
    cluster = f.make_cluster()
    f.make_host(cluster, role="leader")
    f.make_policy(cluster)
    celery_cluster.worker()
    failing = services.instant_backup(cluster, None, BackupMode.FULL, admin_user, force_outcome="fail")
    wait_until(lambda: Alert.objects.filter(rule=AlertRule.DATA_FAILED, subject=f"data:{failing.pk}").exists(),
               message="the data_failed alert to open")
    assert DataBackupTask.objects.get(pk=failing.pk).status == "failed"
    services.instant_backup(cluster, None, BackupMode.FULL, admin_user)
    wait_until(lambda: Alert.objects.filter(subject=f"data:{failing.pk}", status="resolved").exists(),
               message="the alert to resolve")
    assert Alert.objects.filter(rule=AlertRule.DATA_FAILED).count() == 1


def test_two_worker_processes_evaluating_at_once_open_one_alert(celery_cluster):
    cluster = f.make_cluster()
    failed = f.make_data_task(cluster, status="failed")
    first, second = celery_cluster.worker(concurrency=4), celery_cluster.worker(concurrency=4)
    messages = 16
    for _ in range(messages):
        dispatch.publish(dispatch.EVALUATE_ALERTS, [])

    def done():
        return sum(len(re.findall(r"evaluate_alerts\[[^\]]+\] succeeded", w.log)) for w in (first, second))

    wait_until(lambda: done() == messages, timeout=60, message="every evaluation to finish")
    assert Alert.objects.filter(rule=AlertRule.DATA_FAILED, subject=f"data:{failed.pk}").count() == 1
    # The lifecycle logs each change once, in the process that won it.
    opened = f"alert opened: data_failed data:{failed.pk}"
    assert sum(w.log.count(opened) for w in (first, second)) == 1, (first.log[-3000:], second.log[-3000:])
