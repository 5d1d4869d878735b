"""Which real services this test run has, and what to do when one is missing.

Locally a test that needs PostgreSQL, Redis or Chromium skips when the service
is absent.  In CI (CI=true) nothing may skip: a missing service fails the test
with a message that says what to start.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _reachable(url, default_port):
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def redis_url():
    return os.environ.get("REDIS_URL", "")


def missing(what, how):
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_postgres():
    if connection.vendor != "postgresql":
        missing("PostgreSQL", "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/backup_console")


def require_redis():
    url = redis_url()
    if not url or not _reachable(url, 6379):
        missing("Redis", "start redis-server on 127.0.0.1:6379 or set REDIS_URL")
    return url


def require_chromium():
    if not CHROMIUM:
        missing("Chromium", "apt-get install chromium")
    return CHROMIUM


def require_xgettext():
    if not shutil.which("xgettext"):
        missing("GNU gettext (xgettext)", "apt-get install gettext")


JAVA = shutil.which("java")
VNU_JAR = os.environ.get("VNU_JAR") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "vnu", "vnu.jar")


def require_vnu():
    """The W3C Nu HTML checker: Java and vnu.jar (fetched by tests/vendor/fetch-vnu.sh)."""
    if not JAVA:
        missing("Java", "apt-get install default-jre-headless")
    if not os.path.isfile(VNU_JAR):
        missing("vnu.jar", "run bash tests/vendor/fetch-vnu.sh (or set VNU_JAR)")
    return JAVA, VNU_JAR
