"""A restore started from the console goes through its phases on a real
Celery worker (Redis and PostgreSQL) to success and shows in the restore list;
a restore to a moment in a gap is refused with its reason and writes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backups.choices import DataBackupStatus, RestorePhase
from backups.engine.transitions import transition
from backups.models import DataBackupTask, RestoreTask
from clusters.models import Tenant
from tests import factories as f
from tests.worker import celery_cluster, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.worker


@pytest.fixture
def estate(celery_cluster):
    """prod/sales recoverable from a full backup ended 19 h ago up to its live log round (5 min ago)."""
    now = timezone.now()
    source = f.make_cluster(name="prod")
    sales = f.make_tenant(source, name="sales")
    target = f.make_cluster(name="staging")
    f.make_log_task(source, started_at=now - timedelta(hours=30), latest_point=now - timedelta(minutes=5))
    full = f.make_data_task(source, started_at=now - timedelta(hours=20), status=DataBackupStatus.IN_PROGRESS,
                            size_bytes=2**30)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=now - timedelta(hours=19),
               progress=100)
    return {"now": now, "source": source, "sales": sales, "target": target, "full": full}


def form(estate, moment, new_tenant):
    return {
        "source_cluster": estate["source"].pk,
        "source_tenant": estate["sales"].pk,
        "restore_point": timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S"),
        "target_cluster": estate["target"].pk,
        "new_tenant_name": new_tenant,
    }


def test_a_restore_runs_its_phases_on_the_worker_and_shows_in_the_list(celery_cluster, estate, admin_user, client):
    celery_cluster.worker()
    client.force_login(admin_user)
    moment = estate["now"] - timedelta(hours=2)
    response = client.post(reverse("backups:restore_create"), form(estate, moment, "sales_back"))
    assert response.status_code == 302, response.content.decode()[:2000]
    task = RestoreTask.objects.get()
    assert response["Location"] == task.get_absolute_url()
    assert task.status == DataBackupStatus.IN_PROGRESS and task.data_task_ids == [estate["full"].pk]

    task = wait_until(lambda: RestoreTask.objects.filter(pk=task.pk, status=DataBackupStatus.COMPLETED).first(),
                      timeout=30, message="the worker to finish the restore")
    assert task.phase == RestorePhase.RESTORE_SUCCESS and task.finished_bytes == task.total_bytes == 2**30
    assert task.restore_point == moment.replace(microsecond=0)
    assert Tenant.objects.get(cluster=estate["target"], name="sales_back") == task.new_tenant
    assert list(task.events.order_by("id").values_list("new_status", "actor_label")) == [
        ("in_progress", "operator"),
        ("completed", "worker"),
    ]
    listed = client.get(reverse("backups:restore_list"), {"range": "24h"})
    rows = [row for row in listed.content.decode().split("<tr") if f'href="{task.get_absolute_url()}"' in row]
    assert len(rows) == 1
    assert "sales_back" in rows[0] and "Completed" in rows[0]


def test_a_restore_to_a_moment_in_a_gap_is_refused_with_its_reason(celery_cluster, estate, admin_user, client):
    celery_cluster.worker()
    client.force_login(admin_user)
    before_any_backup = estate["now"] - timedelta(hours=25)
    response = client.post(reverse("backups:restore_create"), form(estate, before_any_backup, "sales_old"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "not in any recoverable interval" in " ".join(errors["restore_point"])
    assert RestoreTask.objects.count() == 0
    assert not Tenant.objects.filter(name="sales_old").exists()
