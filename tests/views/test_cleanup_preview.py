"""The cleanup preview on a policy's page and on a cluster's page: what the
next cleanup deletes (sets, sizes, total) and how each tenant's earliest
recoverable moment moves (backups/engine/cleanup_preview.py)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backups.choices import CleanupStatus
from backups.engine import cleanup_preview, retention, simulation
from backups.models import BackupSet
from tests import factories as f

pytestmark = pytest.mark.django_db

GIB = 2**30


def _set(cluster, days_ago, size=GIB, incrementals=(), tenant=None):
    """A backup set: a full backup ``days_ago`` (ended 30 minutes later) and its incrementals."""
    now = timezone.now()
    backup_set = f.make_backup_set(cluster, created_at=now - timedelta(days=days_ago), tenant=tenant)
    full = f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, size_bytes=size,
                            started_at=now - timedelta(days=days_ago))
    for inc in incrementals:
        f.make_data_task(cluster, backup_set=backup_set, tenant=tenant, mode="incremental", size_bytes=size // 4,
                         started_at=now - timedelta(days=inc))
    return backup_set, full


@pytest.fixture
def estate():
    """prod: a 7-day cluster policy, one log round running for 40 days; sets
    30 and 20 days old (past the window), the anchor 10 days old, one 2 days old."""
    now = timezone.now()
    cluster = f.make_cluster(name="prod")
    sales, hr = f.make_tenant(cluster, name="sales"), f.make_tenant(cluster, name="hr")
    policy = f.make_policy(cluster, retention_days=7)
    f.make_log_task(cluster, policy=policy, started_at=now - timedelta(days=40), latest_point=now - timedelta(minutes=1))
    oldest, oldest_full = _set(cluster, 30, size=3 * GIB, incrementals=[27])
    old, old_full = _set(cluster, 20, size=2 * GIB)
    anchor, anchor_full = _set(cluster, 10, incrementals=[8, 6])
    recent, _ = _set(cluster, 2)
    return {"now": now, "cluster": cluster, "policy": policy, "sales": sales, "hr": hr, "oldest": oldest,
            "oldest_full": oldest_full, "old": old, "old_full": old_full, "anchor": anchor,
            "anchor_full": anchor_full, "recent": recent}


def preview_ids(body):
    section = body.split('id="cleanup-preview"', 1)[1].split("</section>", 1)[0]
    return {int(pk) for pk in re.findall(r'data-set-id="(\d+)"', section)}


def tenant_row(body, tenant):
    """The tenant's row of the preview, its markup and then its text (spaces collapsed)."""
    row = re.search(rf'<tr data-tenant-id="{tenant.pk}".*?</tr>', body, re.S).group(0)
    return row + " | " + " ".join(re.sub(r"<[^>]+>", " ", row).split())


@pytest.mark.parametrize("page", ["policy", "cluster"])
def test_it_shows_the_sets_past_the_window_with_sizes_and_total(admin_client, estate, page):
    url = f"/backups/policies/{estate['policy'].pk}/" if page == "policy" else f"/clusters/{estate['cluster'].pk}/"
    body = admin_client.get(url).content.decode()
    assert preview_ids(body) == {estate["oldest"].pk, estate["old"].pk}
    assert "data-cleanup-spared" not in body
    # 3 GiB full + a 768 MiB incremental, and 2 GiB: 5.75 GiB in all.
    assert "It will delete 2 backup sets, 5.8\xa0GB in all." in body
    assert re.search(r'data-cleanup-total>5.8\xa0GB<', body)
    oldest_row = re.search(rf'<tr data-set-id="{estate["oldest"].pk}".*?</tr>', body, re.S).group(0)
    assert ">2<" in oldest_row and "3.8\xa0GB" in oldest_row  # two backups in the set


def test_each_tenant_s_earliest_moment_moves_to_the_anchor(admin_client, estate):
    body = admin_client.get(f"/backups/policies/{estate['policy'].pk}/").content.decode()
    local = timezone.localtime
    for tenant in (estate["sales"], estate["hr"]):
        row = tenant_row(body, tenant)
        assert local(estate["oldest_full"].ended_at).strftime("%Y-%m-%d %H:%M:%S") in row
        assert local(estate["anchor_full"].ended_at).strftime("%Y-%m-%d %H:%M:%S") in row
        assert "table-warning" in row


def test_nothing_to_delete(admin_client):
    cluster = f.make_cluster(name="fresh")
    tenant = f.make_tenant(cluster, name="sales")
    policy = f.make_policy(cluster, retention_days=7)
    f.make_log_task(cluster, policy=policy, started_at=timezone.now() - timedelta(days=5))
    _set(cluster, 3)
    _set(cluster, 1)
    for url in (f"/backups/policies/{policy.pk}/", f"/clusters/{cluster.pk}/"):
        body = admin_client.get(url).content.decode()
        assert "Nothing to delete" in body and preview_ids(body) == set()
        assert "unchanged" in tenant_row(body, tenant)


def test_an_empty_estate_has_nothing_to_delete_and_no_tenant_rows(admin_client):
    cluster = f.make_cluster(name="bare")
    policy = f.make_policy(cluster)
    body = admin_client.get(f"/backups/policies/{policy.pk}/").content.decode()
    assert "Nothing to delete" in body and "data-tenant-id" not in body


def test_a_set_a_running_restore_reads_is_not_in_the_preview(admin_client, estate):
    f.make_restore_task(estate["cluster"], source_tenant=estate["sales"], data_task_ids=[estate["old_full"].pk])
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/").content.decode()
    assert preview_ids(body) == {estate["oldest"].pk}
    assert "It will delete 1 backup set, 3.8\xa0GB in all." in body
    assert "1 backup set past the window is kept: a running restore reads it." in body
    # The kept 20-day set is now the tenants' earliest.
    row = tenant_row(body, estate["sales"])
    assert timezone.localtime(estate["old_full"].ended_at).strftime("%Y-%m-%d %H:%M:%S") in row


def test_a_finished_restore_protects_nothing(admin_client, estate):
    f.make_restore_task(estate["cluster"], source_tenant=estate["sales"], data_task_ids=[estate["old_full"].pk],
                        status="completed", ended_at=timezone.now())
    body = admin_client.get(f"/clusters/{estate['cluster'].pk}/").content.decode()
    assert preview_ids(body) == {estate["oldest"].pk, estate["old"].pk}


def test_a_paused_policy_has_no_cleanup_coming(admin_client, estate):
    estate["policy"].state = "paused"
    estate["policy"].save()
    for url in (f"/backups/policies/{estate['policy'].pk}/", f"/clusters/{estate['cluster'].pk}/"):
        body = admin_client.get(url).content.decode()
        assert "No cleanup is scheduled" in body and preview_ids(body) == set()


def test_a_waiting_cleanup_is_previewed_with_its_own_window_at_its_end(estate):
    """A cleanup scheduled with a 15-day window before the policy went to 7:
    it deletes only the 30-day set (the 20-day one anchors its window), when its run ends."""
    now = estate["now"]
    cleanup = f.make_cleanup_task(estate["cluster"], policy=estate["policy"], status=CleanupStatus.NOT_STARTED,
                                  started_at=now, ended_at=None, retention_days=15)
    found = cleanup_preview.for_policy(estate["policy"], now)
    assert found.at == simulation.cleanup_times(cleanup)[1]
    assert found.set_ids == [estate["oldest"].pk]


def test_the_next_cleanup_comes_a_cleanup_every_after_the_last(estate):
    now = estate["now"]
    last = f.make_cleanup_task(estate["cluster"], policy=estate["policy"], started_at=now - timedelta(seconds=30))
    run = simulation.wall(simulation.CLEANUP_WAIT_SECONDS + simulation.CLEANUP_RUN_SECONDS)
    assert cleanup_preview.for_policy(estate["policy"], now).at == last.started_at + simulation.cleanup_every() + run
    assert cleanup_preview.for_policy(estate["policy"], now + timedelta(days=1)).at == now + timedelta(days=1) + run


def test_the_preview_is_what_the_cleanup_then_deletes(estate):
    """The same function decides both: run the cleanup at the preview's moment."""
    f.make_restore_task(estate["cluster"], source_tenant=estate["sales"], data_task_ids=[estate["old_full"].pk])
    now = estate["now"]
    found = cleanup_preview.for_policy(estate["policy"], now)
    cleanup = f.make_cleanup_task(estate["cluster"], policy=estate["policy"], status=CleanupStatus.NOT_STARTED,
                                  started_at=now - timedelta(days=1), ended_at=None, retention_days=7)
    simulation.run_cleanup(cleanup.pk, now=found.at)
    deleted = set(BackupSet.objects.filter(expired_at=found.at).values_list("pk", flat=True))
    assert deleted == set(found.set_ids) == {estate["oldest"].pk}


def test_a_tenant_policy_deletes_only_its_tenant_s_sets(estate):
    sales = estate["sales"]
    policy = f.make_policy(estate["cluster"], tenant=sales, retention_days=7)
    mine, _ = _set(estate["cluster"], 25, tenant=sales)
    _set(estate["cluster"], 9, tenant=sales)
    found = cleanup_preview.for_policy(policy)
    assert found.set_ids == [mine.pk]
    assert [t.tenant_id for t in found.tenants] == [sales.pk]
    assert retention.doomed_sets([retention.Due.of(policy, found.at)]) == {policy.pk: [mine.pk]}


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["policy", "cluster"])
def test_the_query_count_does_not_grow_with_the_sets(admin_client, estate, page, django_assert_num_queries):
    url = f"/backups/policies/{estate['policy'].pk}/" if page == "policy" else f"/clusters/{estate['cluster'].pk}/"
    few = _queries(admin_client, url)
    for days in range(31, 39):
        _set(estate["cluster"], days, incrementals=[days - 1])
    f.make_tenant(estate["cluster"], name="ops")
    with django_assert_num_queries(few):
        body = admin_client.get(url).content.decode()
    assert len(preview_ids(body)) == 10
    # The preview itself: cleanups 1, sets 1, running restores 1 (their sets
    # only when one runs), sizes 1, tenants 1, the sets and rounds 4 (read
    # once: the intervals before and after come from the same rows).
    with django_assert_num_queries(9):
        cleanup_preview.for_policy(estate["policy"])


def test_the_policy_page_needs_the_view_permission(client_as, estate):
    url = f"/backups/policies/{estate['policy'].pk}/"
    assert client_as(None, "nobody").get(url).status_code == 403
    body = client_as("viewer", "v2").get(url).content.decode()
    assert "Next cleanup" in body and f"/backups/policies/{estate['policy'].pk}/edit/" not in body
    assert client_as("viewer", "v3").post(url).status_code == 405


def test_the_policy_list_links_each_policy_s_page(admin_client, estate):
    body = admin_client.get("/backups/policies/").content.decode()
    assert f'href="/backups/policies/{estate["policy"].pk}/"' in body


def test_an_unknown_policy_is_404(admin_client):
    assert admin_client.get("/backups/policies/424242/").status_code == 404


def test_the_preview_in_chinese(admin_client, estate):
    body = admin_client.get(f"/backups/policies/{estate['policy'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "下次清理" in body and "备份集" in body and "清理后" in body
