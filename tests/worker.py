"""A real Celery worker (and beat) process for the tests that need one.

The worker runs `.venv/bin/celery -A backup_console worker` against Redis
(REDIS_URL) and the pytest-django *test* database, so a test that uses it
needs ``transactional_db`` (the worker must see committed rows) and
PostgreSQL.  Without Redis or PostgreSQL the test skips locally and fails in
CI (tests/services.py).
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))
# The workers' (and beat's) database sessions are named this.
WORKER_DB_APP = "backup-console-test-worker"
# Simulated seconds per real second in the worker: a 60 s backup takes 0.1 s.
SPEED = 600


def use_broker(url, **transport_options):
    """Point this process's Celery app at ``url`` (tasks the tests queue go there)."""
    from backup_console.celery import app

    app.conf.broker_url = url
    # The URL's scheme picks the transport (settings name one only for the
    # embedded filesystem broker).
    app.conf.broker_transport = None
    app.conf.broker_transport_options = transport_options
    # Forget connections made for the previous broker.
    app._pool = None
    app.amqp._producer_pool = None


def _database_url():
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{auth}@" if auth else ""
    # Named, so teardown ends the workers' sessions and only theirs.
    return f"postgres://{host}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}?application_name={WORKER_DB_APP}"


class CeleryProcess:
    """One `celery worker` or `celery beat` process in its own process group."""

    def __init__(self, argv, env, name):
        self.log_path = Path(tempfile.mkstemp(prefix=f"celery-{name}-", suffix=".log")[1])
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"celery did not say {text!r} within {timeout}s:\n{self.log[-4000:]}")

    def kill(self, sig=signal.SIGKILL):
        """Kill the whole group (a prefork worker's children too)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def stop(self):
        self.kill(signal.SIGTERM)
        self.log_file.close()
        self.log_path.unlink(missing_ok=True)


class CeleryCluster:
    """The worker(s) and beat of one test, sharing Redis and the test database."""

    def __init__(self, redis_url):
        self.redis_url = redis_url
        self.processes = []

    def env(self, **extra):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=self.redis_url,
            CELERY_VISIBILITY_TIMEOUT="3600",
            SIM_SPEED=str(SPEED),
            SIM_SEED="1",
            SIM_FAILURE_RATE="0",
            SIM_LOG_FAULT_RATE="0",
            CONN_MAX_AGE="0",
            BACKUP_CONSOLE_VAR_DIR=tempfile.mkdtemp(prefix="celery-var-"),
        )
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def worker(self, pool="threads", concurrency=2, **env):
        name = f"w{len(self.processes) + 1}"
        argv = [CELERY, "-A", "backup_console", "worker", "--pool", pool, "-c", str(concurrency), "-Q", "celery",
                "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        process = CeleryProcess(argv, self.env(**env), name)
        self.processes.append(process)
        process.wait_for("ready.")
        return process

    def beat(self, **env):
        schedule = tempfile.mkstemp(prefix="celerybeat-")[1]
        argv = [CELERY, "-A", "backup_console", "beat", "--loglevel", "DEBUG", "--schedule", schedule,
                "--max-interval", "1"]
        process = CeleryProcess(argv, self.env(**env), "beat")
        self.processes.append(process)
        process.wait_for("beat: Starting")
        return process

    def stop(self):
        for process in self.processes:
            process.stop()


@pytest.fixture
def celery_cluster(transactional_db, settings):
    """Start workers with ``celery_cluster.worker()``; everything stops at teardown."""
    redis_url = require_redis()
    require_postgres()
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no messages left over from another run
    settings.SIM_SPEED = SPEED
    settings.SIM_FAILURE_RATE = 0
    settings.SIM_LOG_FAULT_RATE = 0
    use_broker(redis_url, visibility_timeout=3600)
    cluster = CeleryCluster(redis_url)
    try:
        yield cluster
    finally:
        cluster.stop()
        use_broker("memory://")
        # Workers may still hold connections to the test database: drop them
        # so pytest-django can flush (and later drop) it.  Only theirs: a
        # browser test's live server, and Playwright's greenlet, hold sessions
        # of this process that later tests go on using.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                [connection.settings_dict["NAME"], WORKER_DB_APP],
            )


def wait_until(predicate, timeout=30, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
