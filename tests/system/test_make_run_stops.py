"""`make run` stops cleanly on Ctrl-C (issue 11, item 14): the Procfile's web,
worker and beat, started as the Makefile starts them, all exit by themselves,
nothing is SIGKILLed and nothing logs an error."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backup_console.procfile import KILL_WAIT

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_ctrl_c_stops_web_worker_and_beat_without_a_kill(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    # make run's environment: development settings, the embedded database and broker.
    env.update(DEBUG="1", BACKUP_CONSOLE_VAR_DIR=str(tmp_path), CONSOLE_PORT=str(port),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    log = tmp_path / "honcho.log"
    with open(log, "wb") as out:
        honcho = subprocess.Popen([sys.executable, "-m", "backup_console.procfile", "start", "-f", "Procfile"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (answers(port) and re.search(r"worker\.1 .*ready\.", log.read_text())):
            assert honcho.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(3)  # the worker in its poll loop, beat sending ticks
        stopped_at = time.monotonic()
        os.killpg(honcho.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        honcho.wait(timeout=KILL_WAIT + 30)
        took = time.monotonic() - stopped_at
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    output = log.read_text()
    assert "SIGKILL" not in output, output[-3000:]
    assert not re.search(r"ERROR|Traceback", output), output[-3000:]
    for name in ("web.1", "worker.1", "beat.1"):
        assert re.search(rf"{re.escape(name)} stopped", output), output[-3000:]
    assert took < KILL_WAIT, took
