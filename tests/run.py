"""`make test`: run pytest against the real PostgreSQL and Redis wherever they
are reachable, and against the embedded defaults otherwise.

An explicit DATABASE_URL / CELERY_BROKER_URL / REDIS_URL always wins.  In CI
(CI=true) .ci/run sets them, and tests/conftest.py fails the run if any real
service a test needs is missing.
"""

import os
import secrets
import socket
import sys
from pathlib import Path


def reachable(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def drop_stale_test_databases(database_url):
    """Test databases of runs that were killed (their pid is gone)."""
    import psycopg2

    try:
        conn = psycopg2.connect(database_url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres")
    except psycopg2.Error:
        return
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_backup\\_console\\_%'")
        for (name,) in cur.fetchall():
            pid = name.rsplit("_", 1)[-1]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


def main():
    env = os.environ
    if "DATABASE_URL" not in env and reachable("127.0.0.1", 5432):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/backup_console"
    if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        # One test database per run, so runs side by side never collide.
        env.setdefault("TEST_DATABASE_NAME", f"test_backup_console_{os.getpid()}")
        drop_stale_test_databases(env["DATABASE_URL"])
    if reachable("127.0.0.1", 6379):
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.setdefault("DJANGO_SETTINGS_MODULE", "backup_console.settings")
    # The settings refuse to start without a key unless DEBUG=1; the tests run
    # with production's DEBUG=0, so they get a throwaway key, one per run
    # (inherited by the gunicorn, worker and beat processes they start).
    env.setdefault("SECRET_KEY", f"tests-only-{secrets.token_urlsafe(32)}")
    os.chdir(Path(__file__).resolve().parent.parent)
    print(f"database: {env.get('DATABASE_URL', 'embedded SQLite')}; redis: {env.get('REDIS_URL', 'none')}", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    main()
