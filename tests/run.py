"""`make test`: run pytest against the real PostgreSQL and Redis wherever they
are reachable, and against the embedded defaults otherwise.

An explicit DATABASE_URL / CELERY_BROKER_URL / REDIS_URL always wins.  In CI
(CI=true) .ci/run sets them, and tests/conftest.py fails the run if any real
service a test needs is missing.
"""

import os
import socket
import sys
from pathlib import Path


def reachable(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main():
    env = os.environ
    if "DATABASE_URL" not in env and reachable("127.0.0.1", 5432):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/backup_console"
    if reachable("127.0.0.1", 6379):
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.setdefault("DJANGO_SETTINGS_MODULE", "backup_console.settings")
    os.chdir(Path(__file__).resolve().parent.parent)
    print(f"database: {env.get('DATABASE_URL', 'embedded SQLite')}; redis: {env.get('REDIS_URL', 'none')}", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    main()
