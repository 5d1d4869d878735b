"""Start a restore (the form and its interval hint), the restore list and a restore's page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backups.choices import DataBackupStatus
from backups.engine.restores import start_restore
from backups.engine.transitions import transition
from backups.models import AuditEntry, DataBackupTask, RestoreTask
from tests import factories as f
from tests.engine.test_restores import covered_by_a_copy  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
NEW = reverse("backups:restore_create")


def at(hours):
    return NOW + timedelta(hours=hours)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def estate():
    source = f.make_cluster(name="prod")
    tenant = f.make_tenant(source, name="sales")
    target = f.make_cluster(name="standby")
    f.make_log_task(source, started_at=at(-30), latest_point=at(-1))
    full = f.make_data_task(source, started_at=at(-20), status=DataBackupStatus.IN_PROGRESS)
    transition(DataBackupTask, full.pk, DataBackupStatus.COMPLETED, cause="done", now=at(-19), progress=100)
    return {"source": source, "tenant": tenant, "target": target}


def form(estate, **changes):
    data = {"source_cluster": estate["source"].pk, "source_tenant": estate["tenant"].pk, "restore_point": local(at(-5)),
            "target_cluster": estate["target"].pk, "new_tenant_name": "sales_copy"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_shows_the_chosen_tenants_intervals(client_as, estate):
    body = client_as("operator").get(NEW, {"source_cluster": estate["source"].pk, "source_tenant": estate["tenant"].pk}).content.decode()
    assert f"{timezone.localtime(at(-19)):%Y-%m-%d %H:%M:%S} – {timezone.localtime(at(-1)):%Y-%m-%d %H:%M:%S}" in body


def test_an_operator_starts_a_restore_and_lands_on_its_page(client_as, estate):
    response = client_as("operator").post(NEW, form(estate))
    task = RestoreTask.objects.get()
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    page = client_as("viewer", "v2").get(task.get_absolute_url()).content.decode()
    assert "sales_copy" in page and "Creating the tenant" in page
    listed = client_as("viewer", "v3").get(reverse("backups:restore_list")).content.decode()
    assert "sales_copy" in listed and "standby" in listed


@pytest.mark.parametrize("changes, message", [
    ({"restore_point": local(at(-25))}, "not in any recoverable interval"),
    ({"restore_point": None}, "Give a restore point, or choose the latest recoverable moment."),
    ({"restore_point": "2026-02-30T10:00:00"}, "Enter a valid date/time."),
    ({"new_tenant_name": "../etc"}, "A tenant name starts with a letter"),
    ({"new_tenant_name": "sales"}, None),  # exists on the source only: fine on the target
    ({"target_cluster": "999999"}, "Select a valid choice."),
    ({"surprise": "1"}, "Unknown parameter(s): surprise."),
])
def test_the_form_refuses_bad_input_on_its_field_and_writes_nothing(client_as, estate, changes, message):
    response = client_as("operator").post(NEW, form(estate, **changes))
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert message in response.content.decode()
    # Nothing done; a refusal of the engine's (not the form's) is recorded as refused.
    assert not RestoreTask.objects.exists() and not AuditEntry.objects.exclude(outcome=AuditEntry.Outcome.REFUSED).exists()


def test_an_existing_tenant_on_the_target_is_never_overwritten(client_as, estate):
    f.make_tenant(estate["target"], name="taken")
    response = client_as("operator").post(NEW, form(estate, new_tenant_name="taken"))
    assert response.status_code == 400 and "a restore never overwrites a tenant" in response.content.decode()
    assert not RestoreTask.objects.exists()


def test_viewers_see_restores_but_may_not_start_one(client, client_as, estate):
    viewer = client_as("viewer")
    assert viewer.get(NEW).status_code == 403
    assert viewer.post(NEW, form(estate)).status_code == 403
    assert not RestoreTask.objects.exists()
    assert viewer.get(reverse("backups:restore_list")).status_code == 200
    client.logout()
    assert client.get(NEW).status_code == 302


# --- Start a restore as a top action (overview, cluster, tenant) ---------------------------

START = 'href="/backups/restores/new/'


@pytest.mark.parametrize("page", ["backups:data_list", "backups:restore_list", "clusters:detail"])
def test_start_a_restore_is_offered_to_operators_and_not_to_viewers(client_as, estate, page):
    url = reverse(page, args=[estate["source"].pk]) if page == "clusters:detail" else reverse(page)
    assert START not in client_as("viewer").get(url).content.decode()
    assert START in client_as("operator", "op2").get(url).content.decode()


def test_each_tenant_on_the_cluster_page_starts_a_restore_of_itself(client_as, estate):
    operator = client_as("operator")
    body = operator.get(reverse("clusters:detail", args=[estate["source"].pk])).content.decode()
    link = f'{NEW}?source_cluster={estate["source"].pk}&amp;source_tenant={estate["tenant"].pk}'
    assert f'href="{link}"' in body and 'aria-label="Start a restore of sales"' in body
    # The link opens the form with that cluster and tenant chosen, and the tenant's intervals beside it.
    form_page = operator.get(link.replace("&amp;", "&")).content.decode()
    assert re.search(rf'<select name="source_cluster"[^>]*>(?:(?!</select>).)*<option value="{estate["source"].pk}" selected>prod</option>',
                     form_page, re.S)
    assert re.search(rf'<select name="source_tenant"[^>]*>(?:(?!</select>).)*<option value="{estate["tenant"].pk}"[^>]* selected[ >]',
                     form_page, re.S)
    assert "Recoverable intervals · prod / sales" in form_page


def test_a_restores_page_links_what_it_reads_and_says_its_sizes(client_as, estate):
    task = f.make_restore_task(estate["source"], data_task_ids=[11, 12], round_ids=[7], total_bytes=192 * 2**30,
                               finished_bytes=3 * 2**30)
    body = client_as("viewer").get(task.get_absolute_url()).content.decode()
    assert '<a href="/backups/data/11/">#11</a> → <a href="/backups/data/12/">#12</a>' in body
    assert '<a href="/backups/logs/7/">#7</a>' in body
    assert '192.0\xa0GB <span class="text-body-secondary">(206,158,430,208 B)</span>' in body
    assert "3.0\xa0GB" in body and "[11, 12]" not in body
    assert "Primary destination" in body and "/backups/secondary/" not in body


def test_a_restore_from_a_secondary_destination_says_so_and_links_the_copies(client_as, covered_by_a_copy):
    c = covered_by_a_copy
    task = start_restore(c["tenant"], at(-15), c["target"], "sales_gap", c["user"], outcome="completed")
    viewer = client_as("viewer")
    body = viewer.get(task.get_absolute_url()).content.decode()
    assert "oss-copies" in body and "Primary destination" not in body
    assert f'<a href="/backups/secondary/data/{c["data_copy"].pk}/">#{c["data_copy"].pk}</a>' in body
    assert f'<a href="/backups/secondary/logs/{c["log_copy"].pk}/">#{c["log_copy"].pk}</a>' in body
    assert f'<a href="/backups/data/{c["full"].pk}/">#{c["full"].pk}</a>' in body
    assert not re.search(r"/backups/logs/\d+/", body)
    zh = viewer.get(task.get_absolute_url(), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "读取的备份目的地" in zh
