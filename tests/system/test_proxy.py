"""deploy/nginx.conf in front of a real gunicorn, all on loopback: pages answer
through it, lock-outs key on each client's own address (not nginx's, not one
the client wrote), bodies over the cap are refused unread, static files come
from nginx, and slow clients do not hold up anyone else's page.

The nginx config is the shipped file with only its addresses changed: the
listen lines on free 127.0.0.1 ports, no TLS, the upstream on this test's
gunicorn, the static alias on the source tree's static/.  Clients connect from
other loopback addresses (127.0.0.2, 127.0.0.3, ...) so nginx sees them apart.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.roles import PASSWORD, user_in
from tests.services import missing, require_postgres
from tests.worker import _database_url, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def nginx_config(directory, port, redirect_port, upstream_port):
    """deploy/nginx.conf on loopback ports without TLS, inside a minimal main config."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 80;", f"listen 127.0.0.1:{redirect_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port};"),
        ("listen [::]:443 ssl;", ""),
        ("alias /srv/backup-console/var/staticfiles/;", f"alias {ROOT / 'static'}/;"),
    ]:
        assert site.count(old) == 1, f"deploy/nginx.conf changed: {old!r} is not there once"
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if not line.strip().startswith("ssl_"))
    temp = "\n".join(f"    {kind}_temp_path {directory}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
worker_processes 1;
pid {directory}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {directory}/access.log;
{temp}
{site}
}}
"""


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The console in gunicorn on the test database, told it is behind one proxy."""
    require_postgres()
    port = free_port()
    env = dict(os.environ, DATABASE_URL=_database_url(), CONN_MAX_AGE="0", DEBUG="0", HTTPS="0", BEHIND_PROXY="1",
               PROXY_COUNT="1", CELERY_BROKER_URL="memory://", BACKUP_CONSOLE_VAR_DIR=str(tmp_path))
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "backup_console.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until(lambda: listening(port), timeout=30, message="gunicorn to listen")
        yield port
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no grace period for idle workers
        proc.wait(timeout=15)
        log.close()


@pytest.fixture
def nginx(gunicorn):
    """deploy/nginx.conf in front of that gunicorn: (port, redirect port)."""
    if not NGINX:
        missing("nginx", "apt-get install nginx-light")
    # nginx's workers run as nobody when started by root: a directory they may enter.
    directory = Path(tempfile.mkdtemp(prefix="bc-nginx-"))
    directory.chmod(0o755)
    port, redirect_port = free_port(), free_port()
    conf = directory / "nginx.conf"
    conf.write_text(nginx_config(directory, port, redirect_port, gunicorn))
    proc = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, timeout=15, message="nginx to listen")
        assert proc.poll() is None, (directory / "error.log").read_text()
        yield port, redirect_port
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(directory, ignore_errors=True)


def request(port, method, path, source="127.0.0.2", headers=None, body=None):
    """One request from loopback address ``source``: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def sign_in(port, source, username, password, headers=None):
    """The sign-in form as a browser posts it: CSRF cookie and token from the page first."""
    status, response, body = request(port, "GET", "/accounts/login/", source)
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    status, _, _ = request(port, "POST", "/accounts/login/", source, body=form, headers={
        "Cookie": f"csrftoken={cookie}", "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    return status


def test_pages_answer_through_nginx_with_the_console_headers(nginx):
    port, redirect_port = nginx
    status, response, body = request(port, "GET", "/accounts/login/")
    assert status == 200 and b'name="username"' in body
    assert "no-store" in response.getheader("Cache-Control")
    assert response.getheader("Permissions-Policy")
    assert response.getheader("Server") == "nginx"  # server_tokens off: no version
    status, response, _ = request(redirect_port, "GET", "/backups/data/?x=1")
    assert status == 301 and response.getheader("Location") == "https://127.0.0.1/backups/data/?x=1"


def test_lock_outs_through_nginx_key_on_each_clients_own_address(nginx):
    from axes.models import AccessAttempt

    port, _ = nginx
    user_in("operator")
    # 127.0.0.2 guesses five times, each time claiming in X-Forwarded-For to be 127.0.0.3:
    # the fifth wrong password locks it out.
    statuses = [sign_in(port, "127.0.0.2", "operator", "wrong", headers={"X-Forwarded-For": "127.0.0.3"})
                for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.2"]
    assert sign_in(port, "127.0.0.2", "operator", PASSWORD) == 429
    # Another client behind the same nginx, the one 127.0.0.2 named, is not locked out.
    assert sign_in(port, "127.0.0.3", "operator", PASSWORD) == 302


def test_a_clients_own_forwarded_proto_never_reaches_the_console(nginx):
    """Were X-Forwarded-Proto: https believed, Django would take the request for
    HTTPS and refuse this POST, which has no Referer, as a CSRF failure (403)."""
    port, _ = nginx
    user_in("operator")
    for header in ("X-Forwarded-Proto", "X-Forwarded-Ssl", "X-Forwarded-Protocol"):
        value = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"}[header]
        assert sign_in(port, "127.0.0.4", "operator", PASSWORD, headers={header: value}) == 302, header


def over_the_cap(port):
    """A 50 MB POST's headers and its first kilobyte: the answer must come without the rest."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                  b"Content-Length: 52428800\r\n\r\n" + b"\0" * 1024)
        answer = s.recv(4096)
    return answer.split(b"\r\n", 1)[0], time.monotonic() - started


def test_a_body_over_the_cap_is_refused_unread_by_nginx_and_by_the_console(nginx, gunicorn):
    port, _ = nginx
    for where in (port, gunicorn):  # through nginx, and straight to gunicorn (RequestBodyLimitMiddleware)
        status_line, seconds = over_the_cap(where)
        assert b" 413 " in status_line, (where, status_line)
        assert seconds < 5


def test_static_files_are_served_by_nginx(nginx):
    port, _ = nginx
    status, response, body = request(port, "GET", "/static/vendor/bootstrap/css/bootstrap.min.css")
    assert status == 200 and body == (ROOT / "static/vendor/bootstrap/css/bootstrap.min.css").read_bytes()
    assert response.getheader("Cache-Control") == "max-age=2592000"  # nginx's `expires 30d`, not WhiteNoise's
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_sixty_slow_clients_do_not_hold_up_a_page(nginx):
    """Slowloris: 60 connections that send half their headers and stall.  gunicorn
    has two sync workers; behind nginx none of them waits on a slow client."""
    port, _ = nginx
    for _ in range(4):  # both workers past their first page (imports, template compiles)
        request(port, "GET", "/accounts/login/")
    slow = []
    try:
        for n in range(60):
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(f"127.0.1.{n + 1}", 0))
            s.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        for _ in range(5):
            started = time.monotonic()
            status, _, _ = request(port, "GET", "/accounts/login/")
            seconds = time.monotonic() - started
            assert status == 200
            assert seconds < 1, seconds
    finally:
        for s in slow:
            s.close()
