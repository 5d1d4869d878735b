"""An unavailable cluster on the pages: no Start or Instant backup button
where the engine would refuse it, and the refusal said on the form and in the
message when the request is made anyway (tests/engine/test_unavailable.py has
the engine's side)."""

import pytest
from django.urls import reverse
from django.utils import translation

from backups.models import DataBackupTask, LogBackupTask, TaskEvent
from clusters.choices import ClusterStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def down():
    return f.make_cluster(name="ob-down", status=ClusterStatus.UNAVAILABLE)


def _has_start(body, path, pk):
    return f'<form method="post" action="{path}{pk}/start/"' in body


@pytest.mark.parametrize("path,make", [
    ("/backups/logs/", lambda c: f.make_log_task(c, status="stopped")),
    ("/backups/secondary/logs/", lambda c: f.make_secondary_log_task(f.make_log_task(c, status="stopped"), status="stopped")),
])
def test_start_is_not_offered_on_an_unavailable_cluster(admin_client, down, path, make):
    up = f.make_cluster(name="ob-up")
    stopped_down, stopped_up = make(down), make(up)
    body = admin_client.get(f"{path}?range=all").content.decode()
    assert not _has_start(body, path, stopped_down.pk)
    assert _has_start(body, path, stopped_up.pk)


def test_stop_is_still_offered_on_an_unavailable_cluster(admin_client, down):
    log = f.make_log_task(down)
    body = admin_client.get("/backups/logs/?range=all").content.decode()
    assert f'<form method="post" action="/backups/logs/{log.pk}/stop/"' in body


def test_the_cluster_page_offers_no_instant_backup_on_an_unavailable_cluster(admin_client, down):
    up = f.make_cluster(name="ob-up")
    button = 'href="/backups/instant/?cluster='
    assert button not in admin_client.get(reverse("clusters:detail", args=[down.pk])).content.decode()
    assert button + str(up.pk) in admin_client.get(reverse("clusters:detail", args=[up.pk])).content.decode()


def test_start_pressed_anyway_is_refused_with_the_reason(admin_client, down):
    log = f.make_log_task(down, status="stopped")
    with translation.override("en"):
        response = admin_client.post(reverse("backups:log_start", args=[log.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Cluster ob-down is unavailable: no backup can run there until it is back."
    ]
    assert LogBackupTask.objects.get(pk=log.pk).status == "stopped" and not TaskEvent.objects.exists()


@pytest.mark.parametrize("language,text", [
    ("en", "Cluster ob-down is unavailable: no backup can run there until it is back."),
    ("zh-hans", "集群 ob-down 不可用：恢复可用之前，无法在其上执行任何备份。"),
])
def test_an_instant_backup_of_an_unavailable_cluster_is_refused_on_the_cluster_field(admin_client, down, language, text):
    f.make_policy(down)
    response = admin_client.post(reverse("backups:instant_backup"), {"cluster": down.pk, "mode": "full"},
                                 HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response.context["form"].errors["cluster"] == [text]
    assert not DataBackupTask.objects.exists()
