"""Hostile input, property-based (hypothesis): every list's query string and
every form's fields get NUL bytes, huge and negative numbers, unknown
parameters, malformed dates, very long and non-Latin text.  Nothing answers
5xx, and a refused form or action writes no row."""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups.models import AuditEntry, BackupPolicy, BackupSet, DataBackupTask, LogBackupTask, TaskEvent
from tests.roles import build_estate, policy_data, user_in

pytestmark = pytest.mark.django_db
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

NASTY = [
    "", " ", "\x00", "a\x00b", "1\x00", "-1", "0", "-0", "1.5", "1e400", "NaN", "inf", "99999999999999999999999",
    "-99999999999999999999999", "9223372036854775808", "2025-02-30", "2025-13-01T25:61", "0001-01-01", "9999-12-31",
    "2025-03-01T08:30", "yesterday", "24h", "custom", "all", "集群", "生产集群" * 500, "é" * 10_000, "x" * 10_000,
    "<script>alert(1)</script>", "' OR 1=1 --", "%00", "../../etc/passwd", "\u202e\u0000\ud7ff", "🔥" * 100,
]
hostile = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
)
LIST_PARAMS = ["range", "start", "end", "status", "cluster", "tenant", "backup_set", "source", "sort", "page",
               "per_page", "q", "actor", "action", "name", "region", "unknown", "x\x00y", "状态"]
LISTS = ["/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/",
         "/clusters/", "/backups/audit/", "/backups/policies/"]


@pytest.fixture
def estate():
    return build_estate()


def counts():
    return (BackupPolicy.objects.count(), DataBackupTask.objects.count(), BackupSet.objects.count(),
            LogBackupTask.objects.count(), TaskEvent.objects.count(),
            AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DONE).count())  # a refused attempt is recorded


def client_as(role):
    client = Client(raise_request_exception=False)
    client.force_login(user_in(role, username=f"{role}-hostile"))
    return client


# --- Lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", LISTS)
def test_no_query_string_breaks_a_list(estate, url):
    client = client_as("viewer")

    @EXAMPLES
    @given(query=st.dictionaries(st.sampled_from(LIST_PARAMS), st.one_of(hostile, st.lists(hostile, max_size=3)), max_size=5))
    def check(query):
        before = counts()
        response = client.get(url, query)
        assert response.status_code < 500, (query, response.status_code)
        assert counts() == before

    check()


# --- Forms --------------------------------------------------------------------------------------

INSTANT_FIELDS = ["cluster", "tenant", "mode", "next", "csrfmiddlewaretoken", "force", "status"]


def test_no_input_breaks_instant_backup(estate):
    client = client_as("operator")

    @EXAMPLES
    @given(data=st.dictionaries(st.sampled_from(INSTANT_FIELDS), hostile, max_size=5), keep_cluster=st.booleans())
    def check(data, keep_cluster):
        if keep_cluster:
            data = {**data, "cluster": str(estate["cluster"].pk)}
        before = counts()
        response = client.post(reverse("backups:instant_backup"), data)
        assert response.status_code < 500, (data, response.status_code)
        if response.status_code != 302:
            assert counts() == before, data
        else:  # accepted: the whole thing (set, task, event, audit row) or nothing
            DataBackupTask.objects.filter(status="in_progress").update(status="failed", ended_at="2030-01-01T00:00Z", failure_reason="test")
            assert counts()[1] == before[1] + 1

    check()


POLICY_FIELDS = list(policy_data(*[type("X", (), {"pk": 1, "name": "x"})()] * 2).keys()) + [
    "tenant", "secondary_enabled", "monthly_full_days", "monthly_incremental_days", "week_9", "state", "periodic_task", "created_by",
]


@pytest.mark.parametrize("edit", [False, True])
def test_no_input_breaks_the_policy_form(estate, edit):
    client = client_as("operator")
    target = estate["bare"]
    url = reverse("backups:policy_edit", args=[estate["policy"].pk]) if edit else reverse("backups:policy_create")

    @EXAMPLES
    @given(overrides=st.dictionaries(st.sampled_from(POLICY_FIELDS), hostile, min_size=1, max_size=4))
    def check(overrides):
        cluster = estate["cluster"] if edit else target
        data = {**policy_data(cluster, estate["destination"]), **overrides}
        before = counts()
        policy_before = list(BackupPolicy.objects.order_by("pk").values())
        response = client.post(url, data)
        assert response.status_code < 500, (overrides, response.status_code)
        if response.status_code != 302:
            assert counts() == before, overrides
            assert list(BackupPolicy.objects.order_by("pk").values()) == policy_before
        else:
            assert not set(overrides) & {"week_9", "state", "periodic_task", "created_by"}  # unknown names are refused
            saved = BackupPolicy.objects.get(pk=estate["policy"].pk) if edit else BackupPolicy.objects.get(cluster=target)
            saved.full_clean(validate_unique=False)  # what was written passes the model's own rules
            BackupPolicy.objects.filter(cluster=target).delete()  # let the next example create again

    check()


ACTIONS = [
    ("backups:log_stop", "log"), ("backups:log_start", "stopped"), ("backups:secondary_log_stop", "secondary_log"),
    ("backups:secondary_log_start", "secondary_log"), ("backups:policy_pause", "policy"), ("backups:policy_resume", "paused"),
]


@pytest.mark.parametrize("name,key", ACTIONS)
def test_no_input_breaks_an_action_button(estate, name, key):
    client = client_as("operator")

    @EXAMPLES
    @given(data=st.dictionaries(st.sampled_from(["next", "status", "force", "pk", "\x00", "集群", "csrfmiddlewaretoken"]), hostile, max_size=3),
           pk=st.one_of(st.just(estate[key].pk), st.integers(min_value=0, max_value=10**25)))
    def check(data, pk):
        before = counts()
        response = client.post(reverse(name, args=[pk]), data)
        assert response.status_code in (302, 404), (data, pk, response.status_code)
        if set(data) - {"next", "csrfmiddlewaretoken"} or pk != estate[key].pk:
            assert counts() == before, data

    check()


def test_no_input_breaks_sign_in(estate):
    user_in("viewer", username="signer")

    @EXAMPLES
    @given(data=st.dictionaries(st.sampled_from(["username", "password", "next", "remember", "\x00"]), hostile, max_size=4))
    def check(data):
        client = Client(raise_request_exception=False)
        response = client.post(reverse("login"), data, REMOTE_ADDR="127.0.0.77")
        assert response.status_code in (200, 429), (data, response.status_code)
        assert "_auth_user_id" not in client.session
        from axes.models import AccessAttempt

        AccessAttempt.objects.all().delete()  # keep every example below the lockout

    check()
