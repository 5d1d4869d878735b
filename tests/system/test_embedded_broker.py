"""The embedded broker under concurrent producers and a consumer: every
message arrives whole, none is lost or read half-written (the race that made
kombu's stock filesystem transport crash `make run`'s worker)."""

import json
import multiprocessing
import os
import queue as stdlib_queue
import subprocess
import sys
import time
from pathlib import Path

from kombu import Connection

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT = "backup_console.embedded_broker:Transport"
PER_PRODUCER = 1000  # kombu's stock transport loses a few of these 3,000 every run


def options(folder):
    return {"data_folder_in": folder, "data_folder_out": folder, "processed_folder": folder, "store_processed": False,
            "control_folder": os.path.join(folder, "control")}


def produce(folder, transport, producer):
    with Connection(transport=transport, transport_options=options(folder)) as conn:
        q = conn.SimpleQueue("race")
        for n in range(PER_PRODUCER):
            q.put({"producer": producer, "n": n, "padding": "x" * 2000})
        q.close()


def consume(folder, transport, expected, results, produced):
    """Read until every message came, or until the queue stays empty for two
    seconds after every producer finished (under load a producer process may
    start many seconds late: an idle spell before that proves nothing)."""
    seen, errors = set(), []
    deadline = time.monotonic() + 170
    with Connection(transport=transport, transport_options=options(folder)) as conn:
        q = conn.SimpleQueue("race")
        misses = 0
        while len(seen) < expected and misses < 40 and time.monotonic() < deadline:
            try:
                message = q.get(timeout=0.05)
            except stdlib_queue.Empty:
                misses += 1 if produced.is_set() else 0
                continue
            except Exception as exc:
                errors.append(repr(exc))
                continue
            misses = 0
            seen.add((message.payload["producer"], message.payload["n"]))
            message.ack()
        q.close()
    results.put((len(seen), errors))


def run_race(folder, transport):
    ctx = multiprocessing.get_context("spawn")
    results, produced = ctx.Queue(), ctx.Event()
    producers = 3
    consumer = ctx.Process(target=consume, args=(folder, transport, producers * PER_PRODUCER, results, produced))
    consumer.start()
    workers = [ctx.Process(target=produce, args=(folder, transport, p)) for p in range(producers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    produced.set()
    consumer.join(180)
    return results.get(timeout=10), producers * PER_PRODUCER


def test_every_message_arrives_whole_under_concurrent_writers(tmp_path):
    (received, errors), expected = run_race(str(tmp_path), TRANSPORT)
    assert errors == []
    assert received == expected


# Settings as a fresh process reads them from its environment (this test
# process may run with a Redis broker, so its own settings say little).
PROBE = """
import json, django
django.setup()
from django.conf import settings
from backup_console.celery import app
print(json.dumps({"embedded": settings.CELERY_BROKER_IS_EMBEDDED,
                  "setting": getattr(settings, "CELERY_BROKER_TRANSPORT", None),
                  "transport": app.conf.broker_transport, "url": app.conf.broker_url,
                  "folder": app.conf.broker_transport_options.get("data_folder_in")}))
"""


def settings_with(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    base.update(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="backup_console.settings", **env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_use_it_for_the_embedded_default(tmp_path):
    found = settings_with(tmp_path)
    assert found == {"embedded": True, "setting": TRANSPORT, "transport": TRANSPORT, "url": "filesystem://",
                     "folder": str(tmp_path / "celery-broker")}


def test_settings_leave_it_out_for_a_real_broker(tmp_path):
    found = settings_with(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/9")
    assert found["embedded"] is False and found["setting"] is None and found["folder"] is None
    assert found["url"] == "redis://127.0.0.1:6379/9" and found["transport"] != TRANSPORT
