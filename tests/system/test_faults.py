"""Faults on loopback, against real services: the broker down while an
operator acts, Redis killed and restarted with tasks queued, and the web
process's PostgreSQL connection dropped.  Afterwards every task is in a
legal state, no event row is missing, and the pages answer.

(A worker SIGKILLed mid-task is tests/system/test_worker.py
``test_a_killed_worker_leaves_nothing_stuck``.)

Redis here is a private ``redis-server`` this file starts on a free
127.0.0.1 port and stops again; the shared one on 6379 is never touched.
"""

import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backups.choices import BackupMode
from backups.engine import services, simulation
from backups.engine.transitions import FINAL
from backups.models import AuditEntry, BackupPolicy, DataBackupTask, LogBackupTask, TaskEvent
from tests import factories as f
from tests.roles import build_estate, policy_data, user_in
from tests.services import missing, require_postgres
from tests.worker import SPEED, WORKER_DB_APP, CeleryCluster, use_broker, wait_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """redis-server on 127.0.0.1:<free port>; with ``durable`` it keeps an
    append-only file (fsync on every write) so queued messages survive a kill."""

    def __init__(self, directory, durable=False):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            missing("redis-server", "apt-get install redis-server")
        self.port = free_port()
        self.dir = directory
        self.durable = durable
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--dir", str(self.dir),
             "--daemonize", "no", *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, message="the private redis-server to answer")

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def queued(self):
        import redis

        return redis.Redis(port=self.port).llen("celery")


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    use_broker(server.url)
    try:
        yield server
    finally:
        use_broker("memory://")
        server.kill()


def assert_consistent(tasks):
    """Legal status, ended_at iff final, and the latest event says the status."""
    for task in tasks:
        task.refresh_from_db()
        assert task.status in task.Status.values, task
        assert (task.ended_at is not None) == (task.status in FINAL), (task, task.status, task.ended_at)
        latest = task.events.order_by("-created_at", "-id").first()
        assert latest is not None and latest.new_status == task.status, (task, latest)


def pages_answer(client, estate):
    for url in ["/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/",
                "/backups/secondary/logs/", "/clusters/", "/backups/policies/", "/backups/audit/",
                reverse("backups:data_detail", args=[estate["data"].pk]), reverse("backups:log_detail", args=[estate["log"].pk])]:
        assert client.get(url).status_code == 200, url


# --- Broker down: refused, nothing half-made; reads go on -----------------------------------


@pytest.mark.django_db
def test_actions_are_refused_while_the_broker_is_down_and_reads_go_on(private_redis, settings, django_capture_on_commit_callbacks):
    settings.SIM_FAILURE_RATE = 0
    estate = build_estate()
    operator = Client()
    operator.force_login(user_in("operator"))
    private_redis.kill()

    def counts():
        return (BackupPolicy.objects.count(), DataBackupTask.objects.count(), LogBackupTask.objects.count(),
                TaskEvent.objects.count(), AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DONE).count())

    before = counts()
    started = time.monotonic()
    response = operator.post(reverse("backups:instant_backup"), {"cluster": estate["cluster"].pk, "mode": "incremental"})
    assert response.status_code == 200
    assert "The task queue (broker) is unreachable, so nothing was changed" in response.content.decode()
    for name, key in [("backups:log_stop", "log"), ("backups:log_start", "stopped"), ("backups:policy_resume", "paused")]:
        response = operator.post(reverse(name, args=[estate[key].pk]), follow=True)
        assert response.status_code == 200
        assert [str(m) for m in response.context["messages"]] == [
            "The task queue (broker) is unreachable, so nothing was changed: try again in a minute."
        ], name
    # A new policy would start a log backup: refused on the form, no policy written.
    f.make_host(estate["bare"], role="leader")
    response = operator.post(reverse("backups:policy_create"), policy_data(estate["bare"], estate["destination"]))
    assert response.status_code == 200 and "broker" in response.content.decode()
    assert counts() == before
    assert time.monotonic() - started < 20  # refused quickly, not after minutes of retries
    # Pausing queues nothing: it still works.
    assert operator.post(reverse("backups:policy_pause", args=[estate["policy"].pk])).status_code == 302
    assert BackupPolicy.objects.get(pk=estate["policy"].pk).state == "paused"
    pages_answer(operator, estate)

    private_redis.start()  # back: the same actions go through
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("backups:log_stop", args=[estate["log"].pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [f"Log backup #{estate['log'].pk} is stopping."]
    assert private_redis.queued() == 1


@pytest.mark.django_db
def test_a_broker_that_dies_after_the_check_leaves_nothing_stuck(private_redis, monkeypatch, django_capture_on_commit_callbacks):
    """The instant between the check and the publish: the change stands, the
    page does not 500, and the sweeper finishes the move no worker was sent."""
    from backups.engine import services as svc

    estate = build_estate()
    operator = Client()
    operator.force_login(user_in("operator"))
    monkeypatch.setattr(svc, "_require_broker", lambda: None)
    private_redis.kill()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("backups:log_stop", args=[estate["log"].pk]))
    assert response.status_code == 302
    log = LogBackupTask.objects.get(pk=estate["log"].pk)
    assert log.status == "stopping"
    simulation.sweep_lost_tasks(now=timezone.now() + simulation.stale_after() * 2)
    log.refresh_from_db()
    assert log.status == "stopped"
    assert_consistent([log])


# --- Redis killed and restarted with tasks queued ------------------------------------------------


@pytest.fixture
def durable_cluster(transactional_db, tmp_path, settings):
    require_postgres()
    server = PrivateRedis(tmp_path, durable=True)
    server.start()
    settings.SIM_SPEED = SPEED
    settings.SIM_FAILURE_RATE = 0
    settings.SIM_LOG_FAULT_RATE = 0
    use_broker(server.url, visibility_timeout=3600)
    workers = CeleryCluster(server.url)
    try:
        yield server, workers
    finally:
        workers.stop()
        use_broker("memory://")
        server.kill()
        with connection.cursor() as cursor:
            cursor.execute(
                # Only the sessions of the processes this test started: the
                # live server of the browser tests keeps its own.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                [connection.settings_dict["NAME"], WORKER_DB_APP],
            )


@pytest.mark.worker
def test_queued_tasks_survive_a_redis_kill_and_restart(durable_cluster):
    server, workers = durable_cluster
    operator = user_in("operator")
    backups, logs = [], []
    for n in range(4):
        cluster = f.make_cluster(name=f"restart-{n}")
        f.make_host(cluster, role="leader")
        f.make_policy(cluster)
        backups.append(services.instant_backup(cluster, None, BackupMode.FULL, operator, size_bytes=2**30))
        log = f.make_log_task(cluster)
        services.stop_log_backup("log", log.pk, operator)
        logs.append(LogBackupTask.objects.get(pk=log.pk))
    assert server.queued() == 8  # no worker yet: every message waits in Redis

    server.kill()  # kill -9 with 8 messages queued ...
    assert not server.answers()
    server.start()  # ... and back, from its append-only file
    assert server.queued() == 8

    workers.worker()
    for task in backups:
        wait_until(lambda: DataBackupTask.objects.get(pk=task.pk).status == "completed", timeout=60,
                   message=f"data backup #{task.pk} to complete after the restart")
    for log in logs:
        wait_until(lambda: LogBackupTask.objects.get(pk=log.pk).status == "stopped", timeout=60,
                   message=f"log backup #{log.pk} to stop after the restart")
    assert_consistent(backups + logs)
    client = Client()
    client.force_login(operator)
    for url in ["/backups/data/", "/backups/logs/", "/backups/audit/"]:
        assert client.get(url).status_code == 200


# --- PostgreSQL: the web process's connection dropped -----------------------------------------------


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """A real web process (gunicorn, one sync worker) on the test database,
    keeping its connection between requests as production does (CONN_MAX_AGE)."""
    import os
    import sys
    from pathlib import Path

    from tests.worker import _database_url

    require_postgres()
    port = free_port()
    env = dict(os.environ, DATABASE_URL=_database_url(), CONN_MAX_AGE="600", DEBUG="0", CELERY_BROKER_URL="memory://",
               BACKUP_CONSOLE_VAR_DIR=str(tmp_path))
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "backup_console.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--timeout", "60"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(up, timeout=30, message="gunicorn to listen")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
        with connection.cursor() as cursor:
            cursor.execute(
                # Only the sessions of the processes this test started: the
                # live server of the browser tests keeps its own.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                [connection.settings_dict["NAME"], WORKER_DB_APP],
            )


def test_a_dropped_database_connection_is_replaced_on_the_next_request(gunicorn, settings):
    base, proc = gunicorn
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    estate = build_estate()
    operator = user_in("operator")
    services.stop_log_backup("log", estate["log"].pk, operator)
    client = Client()
    client.force_login(operator)  # a session row the web process reads
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    def get(path):
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def web_backends():
        with connection.cursor() as cursor:
            # The web process's sessions only (named by tests/worker.py's URL):
            # this process's other threads keep theirs.
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                           [connection.settings_dict["NAME"], WORKER_DB_APP])
            return [row[0] for row in cursor.fetchall()]

    pages = ["/backups/data/", "/backups/logs/", f"/backups/logs/{estate['log'].pk}/", "/backups/audit/", "/clusters/"]
    for round_ in range(3):
        assert get(pages[round_]) == 200
        victims = web_backends()
        assert victims, "the web process keeps its connection between requests (CONN_MAX_AGE)"
        with connection.cursor() as cursor:
            for pid in victims:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_until(lambda: not set(victims) & set(web_backends()), timeout=10, message="the backend to go")
        # The very next request answers: the health check finds the dead
        # connection and opens a new one.
        for path in pages:
            assert get(path) == 200, (round_, path)
        assert proc.poll() is None
    log = LogBackupTask.objects.get(pk=estate["log"].pk)
    assert_consistent([log])
