"""The Django admin (SPEC section 5) stays fast with millions of task rows: every
page issues the same number of queries with 10 rows of each kind as with 10,000,
and no change page renders a <select> that grows with the tables."""

import itertools
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backups.admin import EstimatedCountPaginator
from backups.choices import BackupMethod, BackupMode, CleanupStatus, DataBackupStatus, LogBackupStatus
from backups.models import (
    BackupPolicy,
    BackupSet,
    CleanupTask,
    DataBackupTask,
    LogBackupTask,
    RecoverableInterval,
    RestoreTask,
    SecondaryDataBackupTask,
    SecondaryLogBackupTask,
    StorageDestination,
    TaskEvent,
)
from clusters.models import Cluster, Host, Tenant
from tests.factories import (
    make_cleanup_task,
    make_cluster,
    make_data_task,
    make_destination,
    make_host,
    make_log_task,
    make_policy,
    make_secondary_data_task,
    make_secondary_log_task,
    make_tenant,
)
from tests.services import require_postgres

SMALL = 10
LARGE = 10_000
# Above this a <select> is "a dropdown of a table"; the choice fields (status,
# mode, role, ...) and the few clusters of a filter stay far below.
MAX_OPTIONS = 50

_numbers = itertools.count(1_000_000)


# --- Data -----------------------------------------------------------------------


class World:
    """A few clusters, tenants, hosts and destinations, plus `grow(n)` that
    bulk-creates n rows of every task kind (and of the tables a form could list:
    hosts, tenants, backup sets, events)."""

    def __init__(self):
        self.clusters = [make_cluster(name=f"scale-{i}") for i in range(3)]
        self.tenants = [make_tenant(c) for c in self.clusters]
        self.hosts = [make_host(c) for c in self.clusters]
        self.destinations = [make_destination(), make_destination(kind="object", uri="oss://bucket/x")]
        self.policy = make_policy(self.clusters[0], destination=self.destinations[0])
        self.sample = {}  # model -> the object whose change page is measured

    def grow(self, n):
        now = timezone.now()
        clusters = itertools.cycle(self.clusters)
        Tenant.objects.bulk_create(Tenant(cluster=self.clusters[0], name=f"t-{next(_numbers)}") for _ in range(n // 50))
        hosts = Host.objects.bulk_create(
            Host(cluster=self.clusters[0], ip="10.9.0.1", port=10_000 + next(_numbers) % 50_000) for _ in range(n // 50)
        )
        hosts = hosts or self.hosts

        cluster_of = [next(clusters) for _ in range(n)]
        started = [now - timedelta(minutes=i + 1) for i in range(n)]
        sets = BackupSet.objects.bulk_create(
            BackupSet(cluster=cluster_of[i], number=next(_numbers), backup_method=BackupMethod.PHYSICAL) for i in range(n)
        )
        data = DataBackupTask.objects.bulk_create(
            DataBackupTask(
                cluster=cluster_of[i],
                tenant=self.tenants[0] if i % 2 else None,
                backup_set=sets[i],
                mode=BackupMode.FULL,
                backup_method=BackupMethod.PHYSICAL,
                data_version=i,
                storage_directory=f"/bulk/{i}",
                status=DataBackupStatus.FAILED if i % 3 == 0 else DataBackupStatus.COMPLETED,
                failure_reason="storage unreachable" if i % 3 == 0 else "",
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
                requested_by=None,
            )
            for i in range(n)
        )
        logs = LogBackupTask.objects.bulk_create(
            LogBackupTask(
                cluster=cluster_of[i],
                backup_method=BackupMethod.PHYSICAL,
                host=hosts[i % len(hosts)],
                storage_directory=f"/bulk/clog/{i}",
                status=LogBackupStatus.STOPPED,
                latest_point=started[i],
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
            )
            for i in range(n)
        )
        CleanupTask.objects.bulk_create(
            CleanupTask(
                cluster=cluster_of[i],
                policy=self.policy,
                status=CleanupStatus.COMPLETED,
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
            )
            for i in range(n)
        )
        SecondaryDataBackupTask.objects.bulk_create(
            SecondaryDataBackupTask(
                source=data[i],
                cluster=cluster_of[i],
                backup_set=sets[i],
                mode=BackupMode.FULL,
                destination=self.destinations[1],
                storage_directory=f"/bulk/copy/{i}",
                status=DataBackupStatus.COMPLETED,
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
            )
            for i in range(n)
        )
        SecondaryLogBackupTask.objects.bulk_create(
            SecondaryLogBackupTask(
                source=logs[i],
                cluster=cluster_of[i],
                destination=self.destinations[1],
                storage_directory=f"/bulk/clog-copy/{i}",
                status=LogBackupStatus.STOPPED,
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
            )
            for i in range(n)
        )
        RestoreTask.objects.bulk_create(
            RestoreTask(
                cluster=cluster_of[i],
                source_tenant=self.tenants[0],
                target_cluster=self.clusters[1],
                new_tenant_name=f"restored_{next(_numbers)}",
                restore_point=started[i] - timedelta(hours=1),
                status=DataBackupStatus.FAILED if i % 3 == 0 else DataBackupStatus.COMPLETED,
                failure_code="storage_unreachable" if i % 3 == 0 else "",
                total_bytes=2**30,
                finished_bytes=2**30 if i % 3 else 0,
                data_task_ids=[data[i].pk],
                round_ids=[logs[i].pk],
                started_at=started[i],
                ended_at=started[i] + timedelta(seconds=30),
            )
            for i in range(n)
        )
        RecoverableInterval.objects.bulk_create(
            RecoverableInterval(
                cluster=cluster_of[i], tenant=self.tenants[0], start=started[i], round=logs[i],
                end=None if i % 2 else started[i] + timedelta(seconds=20), data_task_ids=[data[i].pk],
            )
            for i in range(n)
        )
        data_ct = ContentType.objects.get_for_model(DataBackupTask)
        TaskEvent.objects.bulk_create(
            TaskEvent(
                content_type=data_ct,
                object_id=data[i].pk,
                cluster=cluster_of[i],
                old_status="in_progress",
                new_status=data[i].status,
                cause="finished",
                actor_label="worker",
            )
            for i in range(n)
        )
        if not self.sample:
            self._pick_samples()

    def _pick_samples(self):
        """The first rows built; the same objects are measured at every size."""
        for model in (
            Cluster, Tenant, Host, StorageDestination, BackupPolicy, BackupSet, DataBackupTask,
            LogBackupTask, CleanupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, TaskEvent,
            RestoreTask, RecoverableInterval,
        ):
            self.sample[model] = model.objects.order_by("pk").first()
        # The measured tasks also carry events, so the inline renders rows.
        for model in (DataBackupTask, LogBackupTask, CleanupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, RestoreTask):
            add_events(self.sample[model], 3)


def add_events(task, count, actor=None):
    content_type = ContentType.objects.get_for_model(task)
    base = timezone.now() - timedelta(days=1)
    TaskEvent.objects.bulk_create(
        TaskEvent(
            content_type=content_type,
            object_id=task.pk,
            cluster_id=task.cluster_id,
            old_status="in_progress",
            new_status="in_progress",
            cause=f"event-{i:04d}",
            actor=actor,
            actor_label="" if actor else "worker",
            created_at=base + timedelta(seconds=i),
        )
        for i in range(count)
    )


# --- Helpers --------------------------------------------------------------------


class SelectCounter(HTMLParser):
    """Option count per <select>, by name."""

    def __init__(self):
        super().__init__()
        self.selects = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._current = attrs.get("name") or attrs.get("id") or f"select-{len(self.selects)}"
            self.selects[self._current] = 0
        elif tag == "option" and self._current is not None:
            self.selects[self._current] += 1

    def handle_endtag(self, tag):
        if tag == "select":
            self._current = None


def option_counts(html):
    """The most options any <select> of each field has; inline rows of the
    same field (hosts-0-role, hosts-1-role, ...) count as one field."""
    parser = SelectCounter()
    parser.feed(html)
    most = {}
    for name, options in parser.selects.items():
        field = re.sub(r"-\d+-", "-N-", name)
        most[field] = max(most.get(field, 0), options)
    return most


class InputCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = []  # (tag, name, type)

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "select", "textarea"):
            attrs = dict(attrs)
            self.fields.append((tag, attrs.get("name") or "", attrs.get("type") or ""))


def form_fields(html):
    parser = InputCollector()
    parser.feed(html)
    return parser.fields


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def pages(model, world):
    sample = world.sample[model]
    urls = {
        "changelist": admin_url(model, "changelist"),
        "change": admin_url(model, "change", sample.pk),
    }
    if model not in READ_ONLY:  # no add page
        urls["add"] = admin_url(model, "add")
    return urls


def count_queries(client, url):
    client.get(url)  # warm the per-process caches (content types, sessions)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response.content.decode()


ADMIN_MODELS = [
    Cluster, Tenant, Host, StorageDestination, BackupPolicy, BackupSet, DataBackupTask,
    LogBackupTask, CleanupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, TaskEvent,
    RestoreTask, RecoverableInterval,
]
# Written by the state machine only: shown, never added, changed or deleted.
READ_ONLY = {TaskEvent, RestoreTask, RecoverableInterval}

# (changelist, change, add) queries measured on PostgreSQL, session and user
# lookups included.  They are the same at 10 and at 10,000 rows of each kind;
# a new per-row or per-table query anywhere breaks them.
MAX_QUERIES = {
    Cluster: (6, 5, 2),
    Tenant: (6, 4, 2),
    Host: (6, 4, 2),
    StorageDestination: (5, 3, 2),
    BackupPolicy: (6, 6, 2),
    BackupSet: (6, 4, 2),
    DataBackupTask: (6, 6, 2),
    LogBackupTask: (6, 6, 2),
    CleanupTask: (6, 7, 2),
    SecondaryDataBackupTask: (7, 8, 2),
    SecondaryLogBackupTask: (7, 7, 2),
    TaskEvent: (6, 3, None),
    RestoreTask: (7, 7, None),
    RecoverableInterval: (6, 6, None),
}


# --- Scale ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_pages_issue_the_same_queries_with_10_and_10000_rows(admin_client, django_assert_max_num_queries, model):
    world = World()
    world.grow(SMALL)
    small = {name: count_queries(admin_client, url) for name, url in pages(model, world).items()}

    world.grow(LARGE - SMALL)
    assert DataBackupTask.objects.count() >= LARGE
    assert Host.objects.count() > MAX_OPTIONS
    for name, url in pages(model, world).items():
        admin_client.get(url)
        bound = dict(zip(("changelist", "change", "add"), MAX_QUERIES[model]))[name]
        with django_assert_max_num_queries(bound) as captured:
            response = admin_client.get(url)
        assert response.status_code == 200
        queries = len(captured.captured_queries)
        print(f"{model.__name__:28} {name:10} {small[name][0]:3} queries at {SMALL} rows, {queries:3} at {LARGE}")
        assert queries == small[name][0], (name, small[name][0], queries)

        html = response.content.decode()
        options = option_counts(html)
        assert {k: v for k, v in options.items() if v >= MAX_OPTIONS} == {}, name
        # Nothing on the page lists more of the rows now than it did before.
        assert options == option_counts(small[name][1]), name


def test_task_event_admin_is_view_only(admin_client):
    world = World()
    world.grow(SMALL)
    event = world.sample[TaskEvent]

    assert admin_client.get(admin_url(TaskEvent, "add")).status_code == 403
    response = admin_client.get(admin_url(TaskEvent, "change", event.pk))
    assert response.status_code == 200
    assert [f for f in form_fields(response.content.decode()) if f[2] != "hidden" and f[1] not in ("", "_save")] == []
    response = admin_client.post(admin_url(TaskEvent, "change", event.pk), {"cause": "rewritten"})
    assert response.status_code == 403
    assert admin_client.post(admin_url(TaskEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.cause != "rewritten"


def test_unfiltered_task_list_uses_the_row_estimate_not_count(admin_client, monkeypatch):
    require_postgres()  # the estimate is PostgreSQL's (pg_class.reltuples, ANALYZE)
    World().grow(SMALL)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DataBackupTask._meta.db_table}")
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_above", 5)
    url = admin_url(DataBackupTask, "changelist")

    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get(url).status_code == 200
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]

    # A filtered list counts exactly.
    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get(url, {"status__exact": "failed"}).status_code == 200
    assert [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]


# --- Search and filters -----------------------------------------------------------


def change_links(html, model):
    pattern = re.escape(admin_url(model, "changelist")) + r"(\d+)/change/"
    return {int(pk) for pk in re.findall(pattern, html)}


@pytest.fixture
def two_clusters(db):
    alpha, beta = make_cluster(name="alpha-prod"), make_cluster(name="beta-test")
    now = timezone.now()
    tasks = {
        "alpha_ok": make_data_task(alpha, started_at=now - timedelta(hours=5), storage_directory="/alpha/data"),
        "alpha_failed": make_data_task(
            alpha, status=DataBackupStatus.FAILED, failure_reason="compaction needed", started_at=now - timedelta(hours=4)
        ),
        "beta_ok": make_data_task(beta, started_at=now - timedelta(hours=3)),
        "beta_failed": make_data_task(
            beta, status=DataBackupStatus.FAILED, failure_reason="timeout", started_at=now - timedelta(hours=2)
        ),
    }
    return tasks


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"q": "alpha"}, {"alpha_ok", "alpha_failed"}),
        ({"q": "compaction"}, {"alpha_failed"}),
        ({"q": "/alpha/data"}, {"alpha_ok"}),
        ({"status__exact": "failed"}, {"alpha_failed", "beta_failed"}),
        ({"status__exact": "failed", "q": "beta"}, {"beta_failed"}),
        ({"q": "no-such-thing"}, set()),
    ],
)
def test_data_task_list_searches_and_filters(admin_client, two_clusters, params, expected):
    response = admin_client.get(admin_url(DataBackupTask, "changelist"), params)
    assert response.status_code == 200
    shown = change_links(response.content.decode(), DataBackupTask)
    assert shown == {two_clusters[name].pk for name in expected}


def test_data_task_list_finds_a_task_by_id_and_by_backup_set_id(admin_client, two_clusters):
    task = two_clusters["beta_ok"]
    url = admin_url(DataBackupTask, "changelist")
    for term in (str(task.pk), f"#{task.pk}", str(task.backup_set.number)):
        shown = change_links(admin_client.get(url, {"q": term}).content.decode(), DataBackupTask)
        assert shown == {task.pk}, term


def test_data_task_list_filters_by_cluster(admin_client, two_clusters):
    alpha = two_clusters["alpha_ok"].cluster
    response = admin_client.get(admin_url(DataBackupTask, "changelist"), {"cluster__id__exact": alpha.pk})
    shown = change_links(response.content.decode(), DataBackupTask)
    assert shown == {two_clusters["alpha_ok"].pk, two_clusters["alpha_failed"].pk}


def test_status_is_a_coloured_label(admin_client, two_clusters):
    html = admin_client.get(admin_url(DataBackupTask, "changelist")).content.decode()
    assert re.search(r'<span class="status-badge status-badge-danger">Failed</span>', html)
    assert re.search(r'<span class="status-badge status-badge-success">Completed</span>', html)


def test_log_task_list_filters_by_status(admin_client):
    cluster = make_cluster()
    live = make_log_task(cluster, status=LogBackupStatus.IN_PROGRESS)
    stopped = make_log_task(cluster, status=LogBackupStatus.STOPPED)
    url = admin_url(LogBackupTask, "changelist")
    assert change_links(admin_client.get(url, {"status__exact": "stopped"}).content.decode(), LogBackupTask) == {stopped.pk}
    assert change_links(admin_client.get(url, {"status__exact": "in_progress"}).content.decode(), LogBackupTask) == {live.pk}
    found = change_links(admin_client.get(url, {"q": live.host.ip}).content.decode(), LogBackupTask)
    assert found == {live.pk}


def test_task_event_list_filters_by_status_kind_and_cause(admin_client):
    cluster = make_cluster()
    data = make_data_task(cluster)
    log = make_log_task(cluster)
    add_events(data, 2)
    TaskEvent.objects.create(
        content_type=ContentType.objects.get_for_model(log), object_id=log.pk, cluster=cluster,
        old_status="in_progress", new_status="stopping", cause="operator asked to stop",
    )
    url = admin_url(TaskEvent, "changelist")

    def shown(params):
        return change_links(admin_client.get(url, params).content.decode(), TaskEvent)

    stop = TaskEvent.objects.get(new_status="stopping")
    data_events = set(TaskEvent.objects.filter(object_id=data.pk, content_type__model="databackuptask").values_list("pk", flat=True))
    assert shown({"new_status": "stopping"}) == {stop.pk}
    assert shown({"content_type": ContentType.objects.get_for_model(DataBackupTask).pk}) == data_events
    assert shown({"q": "operator asked"}) == {stop.pk}


# --- Event inline -------------------------------------------------------------------


def test_task_change_page_shows_the_newest_events_read_only(admin_client, admin_user):
    task = make_data_task(make_cluster())
    add_events(task, 150, actor=admin_user)
    response = admin_client.get(admin_url(DataBackupTask, "change", task.pk))
    assert response.status_code == 200
    html = response.content.decode()

    shown = set(re.findall(r"event-(\d{4})", html))
    assert shown == {f"{i:04d}" for i in range(50, 150)}  # the newest 100
    assert html.index("event-0149") < html.index("event-0148")  # newest first
    assert "root" in html  # the actor's user name

    prefix = "backups-taskevent-content_type-object_id"
    inline_fields = [f for f in form_fields(html) if f[1].startswith(prefix)]
    assert inline_fields, "the event inline is missing"
    editable = [f for f in inline_fields if f[2] != "hidden"]
    assert editable == []
    assert f"{prefix}-0-DELETE" not in html
    assert f'name="{prefix}-MAX_NUM_FORMS" value="0"' in html  # no rows can be added


def test_saving_a_task_leaves_its_events_alone(admin_client):
    cluster = make_cluster()
    task = make_data_task(cluster)
    add_events(task, 3)
    url = admin_url(DataBackupTask, "change", task.pk)
    html = admin_client.get(url).content.decode()
    data = hidden_and_current_values(html)
    data["storage_directory"] = "/moved"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    task.refresh_from_db()
    assert task.storage_directory == "/moved"
    assert sorted(TaskEvent.objects.filter(object_id=task.pk).values_list("cause", flat=True)) == [
        "event-0000", "event-0001", "event-0002",
    ]


# A task of each kind, and a status its admin form would accept if status were
# editable (the database's rules allow it), to move it to.
STATUS_CHANGES = {
    "data": (lambda c: make_data_task(c), "failed"),
    "log": (lambda c: make_log_task(c), "stopping"),
    "cleanup": (lambda c: make_cleanup_task(c), "failed"),
    "secondary_data": (lambda c: make_secondary_data_task(make_data_task(c)), "failed"),
    "secondary_log": (lambda c: make_secondary_log_task(make_log_task(c)), "stopping"),
}


@pytest.mark.parametrize("kind", STATUS_CHANGES)
def test_the_admin_cannot_change_a_tasks_status(admin_client, kind):
    """A status moves only through the state machine (transitions.transition),
    which checks the move and records it: the admin's change form shows the
    status read-only, and a status posted to it anyway is ignored."""
    make, other = STATUS_CHANGES[kind]
    task = make(make_cluster())
    model, before = type(task), task.status
    events = TaskEvent.objects.count()
    url = admin_url(model, "change", task.pk)
    html = admin_client.get(url).content.decode()
    assert "status" not in {name for _tag, name, _type in form_fields(html)}
    data = hidden_and_current_values(html)
    data.update(status=other, failure_reason="forced through the admin", storage_directory="/moved")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert model.objects.get(pk=task.pk).status == before != other
    assert TaskEvent.objects.count() == events


def hidden_and_current_values(html):
    """The form as the browser would post it back unchanged."""

    class Form(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data = {}
            self._select = None
            self._textarea = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            name = attrs.get("name")
            if tag == "input" and name and attrs.get("type") not in ("submit", "checkbox"):
                self.data[name] = attrs.get("value") or ""
            elif tag == "input" and name and "checked" in attrs:
                self.data[name] = "on"
            elif tag == "select":
                self._select = name
            elif tag == "option" and self._select and "selected" in attrs:
                self.data[self._select] = attrs.get("value") or ""
            elif tag == "textarea":
                self._textarea = name
                self.data[name] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self._select = None
            elif tag == "textarea":
                self._textarea = None

        def handle_data(self, data):
            if self._textarea:
                self.data[self._textarea] += data.strip("\n")

    form = Form()
    form.feed(html)
    return {k: v for k, v in form.data.items() if k != "_save"}


# --- Recovery: restore tasks and recoverable intervals (read-only) --------------------------


@pytest.fixture
def recovery(db):
    world = World()
    world.grow(SMALL)
    return world


@pytest.mark.parametrize("model", [RestoreTask, RecoverableInterval], ids=lambda m: m.__name__)
def test_the_recovery_admins_only_show(admin_client, recovery, model):
    """The state machine owns these rows: no add, no field to edit, no change or delete posted."""
    obj = recovery.sample[model]
    before = model.objects.filter(pk=obj.pk).values().get()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert [f for f in form_fields(response.content.decode()) if f[2] != "hidden" and f[1] not in ("", "_save")] == []
    assert admin_client.post(admin_url(model, "change", obj.pk), {"status": "failed", "start": "2000-01-01 00:00:00"}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_the_restore_admin_searches_and_filters(admin_client, recovery):
    url = admin_url(RestoreTask, "changelist")
    failed = set(RestoreTask.objects.filter(status="failed").values_list("pk", flat=True))
    task = recovery.sample[RestoreTask]
    assert change_links(admin_client.get(url, {"status__exact": "failed"}).content.decode(), RestoreTask) == failed
    assert change_links(admin_client.get(url, {"q": task.new_tenant_name}).content.decode(), RestoreTask) == {task.pk}
    assert change_links(admin_client.get(url, {"q": f"#{task.pk}"}).content.decode(), RestoreTask) == {task.pk}
    html = admin_client.get(url).content.decode()
    assert "status-badge-danger" in html and "100 %" in html


def test_the_interval_admin_says_which_intervals_follow_a_live_round(admin_client, recovery):
    url = admin_url(RecoverableInterval, "changelist")
    live = set(RecoverableInterval.objects.filter(end=None).values_list("pk", flat=True))
    assert change_links(admin_client.get(url, {"end__isnull": "True"}).content.decode(), RecoverableInterval) == live
    interval = RecoverableInterval.objects.filter(end=None).first()
    html = admin_client.get(url, {"q": str(interval.round_id)}).content.decode()
    assert change_links(html, RecoverableInterval) == {interval.pk} and "log archive advancing" in html


HOSTILE = [
    {"q": "a\x00b"}, {"q": "9" * 40}, {"q": "#-1"}, {"q": "備份😀تست"}, {"q": "%' OR 1=1 --"},
    {"o": "1.-2.999.x"}, {"o": "-"}, {"p": "-1"}, {"p": "abc"}, {"p": "9" * 30},
    {"status__exact": "exploded"}, {"phase__exact": "\x00"}, {"cluster__id__exact": "abc"},
    {"cluster__id__exact": "9" * 30}, {"target_cluster__id__exact": "-5"}, {"tenant__id__exact": "x"},
    {"started_at__gte": "not-a-date"}, {"start__gte": "2026-13-45"}, {"start__lt": "9" * 40},
    {"end__isnull": "maybe"}, {"no_such_field": "1"}, {"round__latest_point__gt": "x"},
    {"e": "1"}, {"_to_field": "password"}, {"all": "1"},
]


@pytest.mark.parametrize("model", [RestoreTask, RecoverableInterval], ids=lambda m: m.__name__)
@pytest.mark.parametrize("params", HOSTILE, ids=lambda p: next(iter(p)) + "=" + ascii(next(iter(p.values())))[:20])
def test_no_query_string_breaks_the_recovery_admins(admin_client, recovery, model, params):
    response = admin_client.get(admin_url(model, "changelist"), params, follow=True)
    assert response.status_code in (200, 400), response.status_code


@pytest.mark.parametrize("model", [RestoreTask, RecoverableInterval], ids=lambda m: m.__name__)
@pytest.mark.parametrize("pk", ["abc", "9" * 30, "-1", "%00"])
def test_no_address_breaks_the_recovery_admins(admin_client, recovery, model, pk):
    url = f"/admin/backups/{model._meta.model_name}/{pk}/change/"
    assert admin_client.get(url, follow=True).status_code in (200, 404)
