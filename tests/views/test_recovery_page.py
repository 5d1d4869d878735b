"""/clusters/<id>/recovery/: the intervals, their gaps explained, RPO, and "can I restore to T?"."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.choices import BackupMode, DataBackupStatus, LogBackupStatus
from backups.engine.transitions import transition
from backups.models import DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask
from backups.views import recovery as recovery_view
from tests.factories import (
    make_cluster,
    make_data_task,
    make_destination,
    make_log_task,
    make_policy,
    make_secondary_data_task,
    make_secondary_log_task,
    make_tenant,
)
from tests.roles import user_in

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def at(hours):
    return NOW + timedelta(hours=hours)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def estate():
    """A full in a round an operator stopped, then a new round with an incremental on that full."""
    cluster = make_cluster(name="prod-east")
    tenant = make_tenant(cluster, name="sales")
    make_policy(cluster, log_delay_threshold_seconds=600)
    operator = user_in("operator", "ops-anna")
    first = make_log_task(cluster, started_at=at(-30), latest_point=at(-20))
    full = make_data_task(cluster, started_at=at(-28), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-27), progress=100)
    LogBackupTask.objects.filter(pk=first.pk).update(latest_point=at(-20))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPING, cause="stop", actor=operator, now=at(-20))
    transition(LogBackupTask, first.pk, LogBackupStatus.STOPPED, cause="stopped", now=at(-20))
    second = make_log_task(cluster, started_at=at(-10), latest_point=at(-1))
    incremental = make_data_task(cluster, started_at=at(-8), mode=BackupMode.INCREMENTAL, backup_set=full.backup_set,
                                 status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, incremental.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-7), progress=100)
    return {"cluster": cluster, "tenant": tenant, "full": full, "incremental": incremental, "first": first, "second": second}


def page(client, cluster, **params):
    return client.get(reverse("clusters:recovery", args=[cluster.pk]), params)


def test_the_page_shows_each_interval_and_explains_the_gap(client_as, estate):
    response = page(client_as("viewer"), estate["cluster"])
    assert response.status_code == 200
    body = response.content.decode()
    assert "Tenant sales" in body
    # The gap after the stop names who stopped it, and what made restore possible again.
    assert f"Log backup #{estate['first'].pk} was stopped by ops-anna" in body
    assert f"Recoverable again from Incremental backup #{estate['incremental'].pk}" in body
    # Two bars on the timeline, and the chain full → incremental with its status.
    assert body.count('class="timeline-interval"') == 2
    assert f"Full #{estate['full'].pk}</a> → " in body and "Available" in body


def test_yes_names_the_backups_and_round_a_restore_would_use(client_as, estate):
    response = page(client_as("viewer"), estate["cluster"], tenant=estate["tenant"].pk, at=local(at(-3)))
    body = response.content.decode()
    assert response.status_code == 200 and "can be restored to" in body
    assert f"#{estate['full'].pk}</a> → " in body and f"#{estate['incremental'].pk}</a>" in body
    assert f"log archive round #{estate['second'].pk}" in body


def test_no_says_why_and_gives_the_nearest_moments(client_as, estate):
    response = page(client_as("viewer"), estate["cluster"], tenant=estate["tenant"].pk, at=local(at(-15)))
    body = response.content.decode()
    assert "cannot be restored to" in body and "falls in a gap" in body
    assert timezone.localtime(at(-20)).strftime("%Y-%m-%d %H:%M:%S") in body  # before
    assert timezone.localtime(at(-7)).strftime("%Y-%m-%d %H:%M:%S") in body  # after


def test_the_rpo_is_judged_against_the_policy(client_as, estate):
    # Newest point 1 h ago, the policy warns over 600 s and RPO_BREACHED_MINUTES is 60: breached.
    client = client_as("viewer")
    body = page(client, estate["cluster"]).content.decode()
    assert "rpo-breached" in body
    LogBackupTask.objects.filter(pk=estate["second"].pk).update(latest_point=timezone.now() - timedelta(minutes=20))
    body = page(client, estate["cluster"]).content.decode()
    assert "rpo-warning" in body
    LogBackupTask.objects.filter(pk=estate["second"].pk).update(latest_point=timezone.now() - timedelta(minutes=2))
    assert "rpo-ok" in page(client, estate["cluster"]).content.decode()


@pytest.mark.parametrize("params, field_message", [
    ({"at": "2026-02-30T10:00:00", "tenant": "TENANT"}, "Enter a valid date/time."),
    ({"at": "2026-11-01T10:00:00"}, "Choose the tenant to restore."),
    ({"at": "2026-11-01T10:00:00", "tenant": "999999"}, "Select a valid choice."),
    ({"days": "365"}, "Select a valid choice."),
])
def test_bad_input_is_a_400_with_the_message_on_its_field(client_as, estate, params, field_message):
    params = {k: (str(estate["tenant"].pk) if v == "TENANT" else v) for k, v in params.items()}
    response = page(client_as("viewer"), estate["cluster"], **params)
    assert response.status_code == 400
    assert field_message in response.content.decode()


def test_a_tenant_of_another_cluster_is_not_a_choice(client_as, estate):
    other = make_tenant(make_cluster(), name="elsewhere")
    response = page(client_as("viewer"), estate["cluster"], tenant=other.pk, at=local(at(-3)))
    assert response.status_code == 400


def test_signed_out_and_roleless_users_are_kept_out(client, client_as, estate):
    assert page(client, estate["cluster"]).status_code == 302
    assert page(client_as(None, "nobody"), estate["cluster"]).status_code == 403


@pytest.mark.parametrize("view", ["page", "answer", "tenant-page-2"])
def test_the_page_reads_a_constant_number_of_queries(client_as, estate, django_assert_num_queries, view):
    client = client_as("viewer")
    params = {"page": {}, "answer": {"tenant": estate["tenant"].pk, "at": local(at(-3))},
              "tenant-page-2": {"tenant": estate["tenant"].pk, "page": 2}}[view]
    page(client, estate["cluster"])  # warm the session and content types
    with CaptureQueriesContext(connection) as first:
        page(client, estate["cluster"], **params)
    cluster = estate["cluster"]
    for n in range(6):
        make_tenant(cluster, name=f"t{n}")
        task = make_data_task(cluster, started_at=at(-6 + n * 0.5), status=DataBackupStatus.IN_PROGRESS)
        transition(DataBackupTask, task.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-5.9 + n * 0.5), progress=100)
    make_log_task(cluster, started_at=at(-19), ended_at=at(-18), latest_point=at(-18.5), status=LogBackupStatus.FAILED)
    with django_assert_num_queries(len(first.captured_queries)):
        page(client, cluster, **params)


def test_each_tenant_shows_its_newest_rows_and_links_to_all(client_as, estate, monkeypatch):
    monkeypatch.setattr(recovery_view, "ROWS_PER_TENANT", 2)
    other = make_tenant(estate["cluster"], name="billing")
    body = page(client_as("viewer"), estate["cluster"]).content.decode()
    # Five rows (gap, interval, gap, interval, not yet archived): the newest two, and the way to the rest.
    assert "The newest 2 of 5 rows." in body and "Not yet archived" in body
    assert "stopped by ops-anna" not in body  # the older gap is only counted
    assert "2 gaps in the window." in body and "Newest recoverable interval: " in body
    assert f'href="?days=7&amp;tenant={estate["tenant"].pk}">Show all of sales</a>' in body
    assert "Tenant billing" in body and f"tenant={other.pk}\">Show all" not in body  # billing has one row


def test_a_tenants_own_view_pages_all_its_rows(client_as, estate, monkeypatch):
    monkeypatch.setattr(recovery_view, "ROWS_PER_PAGE", 2)
    make_tenant(estate["cluster"], name="billing")
    client = client_as("viewer")
    first = page(client, estate["cluster"], tenant=estate["tenant"].pk).content.decode()
    assert "Tenant sales" in first and "Tenant billing" not in first and "All tenants of this cluster" in first
    assert "Page 1 of 3" in first and "page=2" in first and "stopped by ops-anna" not in first
    second = page(client, estate["cluster"], tenant=estate["tenant"].pk, page=2).content.decode()
    assert "Page 2 of 3" in second and "stopped by ops-anna" in second and "Newer" in second and "Older" in second


def test_the_chain_shows_the_newest_sets_of_the_window_and_counts_the_rest(client_as, estate, monkeypatch):
    old = make_data_task(estate["cluster"], started_at=at(-24 * 9), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, old.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-24 * 9 + 1), progress=100)
    client = client_as("viewer")
    body = page(client, estate["cluster"]).content.decode()
    assert f"Full #{estate['full'].pk}</a>" in body and f"Full #{old.pk}</a>" not in body
    assert "1 older backup set still kept is not shown." in body
    assert f"Full #{old.pk}</a>" in page(client, estate["cluster"], days=30).content.decode()
    monkeypatch.setattr(recovery_view, "CHAINS_SHOWN", 0)
    assert "2 older backup sets still kept are not shown." in page(client, estate["cluster"]).content.decode()


def test_a_round_that_failed_inside_a_gap_is_named_in_it(client_as, estate):
    failed = make_log_task(estate["cluster"], started_at=at(-18), ended_at=at(-16), latest_point=at(-17),
                           status=LogBackupStatus.FAILED, failure_reason="archive log lost")
    body = page(client_as("viewer"), estate["cluster"]).content.decode()
    url = reverse("backups:log_detail", args=[failed.pk])
    assert (f'<a href="{url}">Log backup #{failed.pk} also failed in this gap at '
            f'{timezone.localtime(at(-16)).strftime("%Y-%m-%d %H:%M:%S")}: archive log lost</a>') in body


def test_the_page_speaks_chinese(client_as, estate):
    client = client_as("viewer")
    body = client.get(reverse("clusters:recovery", args=[estate["cluster"].pk]), {"tenant": estate["tenant"].pk, "at": local(at(-15))},
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "可恢复时间区间" in body and "不可以：sales 无法恢复到" in body and "断档" in body
    assert f"日志备份 #{estate['first'].pk} 于" in body and "被 ops-anna 停止" in body
    # Full-width punctuation, no stray space between the sentences.
    assert "。最近 7 天。" in body and "。此时间范围内有 2 处断档。" in body and "被 ops-anna 停止。</a><a href=" in body and "最近的可恢复时间点：之前 <strong>" in body and "</strong>，之后 <strong>" in body
    body = client.get(reverse("clusters:recovery", args=[estate["cluster"].pk]), {"tenant": estate["tenant"].pk, "at": local(at(-3))},
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "恢复将使用：" in body and "恢复将使用:" not in body


@pytest.fixture
def copied(estate):
    """The estate's full copied to a secondary destination, whose log copy ran
    through the primary's gap and then failed: a secondary interval from the
    full to the copy's checkpoint (-12), and a gap after it explained by that failure."""
    destination = make_destination(name="oss-copies", kind="object", uri="oss://bucket/copies")
    copy = make_secondary_data_task(estate["full"], destination=destination, started_at=at(-27),
                                    status=DataBackupStatus.IN_PROGRESS)
    transition(SecondaryDataBackupTask, copy.pk, DataBackupStatus.COMPLETED, cause="copied", now=at(-26))
    log_copy = make_secondary_log_task(estate["first"], destination=destination, started_at=at(-29), latest_point=at(-12))
    transition(SecondaryLogBackupTask, log_copy.pk, LogBackupStatus.FAILED, cause="lost",
               failure_reason="storage oss://bucket/copies unreachable", now=at(-11))
    return {**estate, "destination": destination, "copy": copy, "log_copy": log_copy}


def test_a_secondary_gap_is_explained_with_a_link_to_its_cause(client_as, copied):
    body = page(client_as("viewer"), copied["cluster"]).content.decode()
    log_copy = copied["log_copy"]
    cause = reverse("backups:secondary_log_detail", args=[log_copy.pk])
    assert (f'<a href="{cause}">Secondary log backup #{log_copy.pk} to oss-copies failed at '
            f'{timezone.localtime(at(-11)).strftime("%Y-%m-%d %H:%M:%S")}: storage oss://bucket/copies unreachable</a>') in body
    # The interval names both destinations' parts.
    assert f"Copies of backups #{copied['full'].pk} on oss-copies with secondary log backup #{log_copy.pk}." in body
    assert body.count('class="timeline-interval"') == 2


def test_yes_inside_the_primary_gap_names_the_secondary_destination(client_as, copied):
    client = client_as("viewer")
    body = page(client, copied["cluster"], tenant=copied["tenant"].pk, at=local(at(-15))).content.decode()
    assert "can be restored to" in body and "A restore would use the secondary destination oss-copies" in body
    copy_url = reverse("backups:secondary_data_detail", args=[copied["copy"].pk])
    assert f'<a href="{copy_url}">Full #{copied["full"].pk} (copy #{copied["copy"].pk})</a>' in body
    assert f"secondary log round #{copied['log_copy'].pk}" in body
    # Where the primary reaches, the primary is used.
    body = page(client, copied["cluster"], tenant=copied["tenant"].pk, at=local(at(-22))).content.decode()
    assert "secondary destination" not in body and f"log archive round #{copied['first'].pk}" in body
