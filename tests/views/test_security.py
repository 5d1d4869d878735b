"""Security headers, the Content Security Policy, failed-login throttling,
sign-out by POST only, secure cookies in production, and the console and the
Django admin working in a real Chromium under the CSP."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.roles import PASSWORD, build_estate, user_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def estate(db):
    return build_estate()


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


# --- Headers ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/backups/data/", "/backups/audit/", "/admin/"])
def test_every_page_sends_the_security_headers(path):
    client = Client()
    client.force_login(user_in("admin"))
    response = client.get(path)
    assert response.status_code == 200
    directives = csp_directives(response)
    assert directives == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/backups/instant/", "/backups/policies/new/", "/backups/data/", "/backups/audit/", "/accounts/login/"])
def test_console_pages_have_no_inline_script_or_style(path):
    client = Client()
    client.force_login(user_in("operator"))
    html = client.get(path).content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html and " onclick=" not in html


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/backups/data/", "/backups/audit/", "/clusters/", "/admin/", "/admin/auth/user/"])
def test_console_pages_are_never_stored_and_deny_browser_features(path):
    client = Client()
    client.force_login(user_in("admin"))
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


@pytest.mark.django_db
def test_the_sign_in_page_and_redirects_to_it_are_never_stored_either():
    for response in (Client().get("/accounts/login/"), Client().get("/backups/data/")):
        assert "no-store" in response["Cache-Control"], response.status_code
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY


@pytest.mark.django_db
def test_static_files_stay_cacheable():
    response = Client().get("/static/vendor/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Request bodies: capped ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_50_mb_anonymous_upload_to_the_sign_in_page_is_refused_with_413(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    big = SimpleUploadedFile("big.bin", b"\0" * (50 * 1024 * 1024))
    response = Client().post("/accounts/login/", {"username": "x", "password": "y", "file": big})
    assert response.status_code == 413
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_body_one_byte_over_the_cap_is_refused_and_one_at_it_is_read(settings):
    settings.MAX_REQUEST_BODY_BYTES = 2000
    user_in("operator")
    # A form whose urlencoded body is exactly the cap, then one byte more.
    body = f"username=operator&password={PASSWORD}&pad="
    body += "x" * (2000 - len(body))
    ok = Client().post("/accounts/login/", body, content_type="application/x-www-form-urlencoded", REMOTE_ADDR="127.0.0.9")
    assert ok.status_code == 302
    over = Client().post("/accounts/login/", body + "x", content_type="application/x-www-form-urlencoded")
    assert over.status_code == 413


# --- Sessions: an idle timeout ------------------------------------------------------------


def session_row(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def minutes_left(client):
    from django.utils import timezone

    return (session_row(client).expire_date - timezone.now()).total_seconds() / 60


@pytest.mark.django_db
def test_a_session_lasts_30_idle_minutes_then_signs_out(settings):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    client.force_login(user_in("viewer"))
    assert client.get("/backups/data/").status_code == 200
    assert 29 < minutes_left(client) <= 30
    # Idle past the timeout: the next request finds no session and goes to the sign-in page.
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get("/backups/data/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_activity_pushes_the_idle_timeout_back_at_most_once_a_minute():
    import time

    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    client = Client()
    client.force_login(user_in("viewer"))
    # Last refreshed two minutes ago, with five minutes left.
    session = client.session
    session["_idle_refreshed"] = int(time.time()) - 120
    session.save()
    Session.objects.update(expire_date=timezone.now() + timezone.timedelta(minutes=5))
    assert client.get("/backups/data/").status_code == 200
    assert 29 < minutes_left(client) <= 30  # a page seen: 30 minutes again
    # Within the minute, a page costs no session write.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/backups/data/").status_code == 200
    assert not [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]


# --- Sign-in throttling (django-axes) ----------------------------------------------------


def sign_in(client, username, password, address="127.0.0.9"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_user_out_from_that_address():
    user_in("operator")
    client = Client()
    for _ in range(4):
        response = sign_in(client, "operator", "wrong")
        assert response.status_code == 200 and b"Please enter a correct" in response.content
    response = sign_in(client, "operator", "wrong")
    assert response.status_code == 429
    # Locked: even the right password is refused now, with a page that says why.
    response = sign_in(client, "operator", PASSWORD)
    assert response.status_code == 429 and b'id="locked-out"' in response.content
    assert "_auth_user_id" not in client.session
    # The same user from another address, and another user from this one, may still sign in.
    assert sign_in(Client(), "operator", PASSWORD, address="127.0.0.10").status_code == 302
    user_in("viewer")
    assert sign_in(Client(), "viewer", PASSWORD).status_code == 302


# Behind the proxy every request comes from its address; nginx appends the
# address it was connected from to whatever X-Forwarded-For the client sent.
PROXY = "127.0.0.1"


def sign_in_via_proxy(client, username, password, client_address, sent_forwarded_for=None):
    forwarded = f"{sent_forwarded_for}, {client_address}" if sent_forwarded_for else client_address
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=PROXY,
                       HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.django_db
def test_two_clients_behind_the_proxy_do_not_lock_each_other_out(settings):
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 1
    user_in("operator")
    for _ in range(5):
        sign_in_via_proxy(Client(), "operator", "wrong", "203.0.113.7")
    assert sign_in_via_proxy(Client(), "operator", PASSWORD, "203.0.113.7").status_code == 429
    assert sign_in_via_proxy(Client(), "operator", PASSWORD, "198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_a_spoofed_left_most_forwarded_for_is_not_trusted(settings):
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 1
    user_in("operator")
    # An attacker who names another address on each try is still one client ...
    for n in range(5):
        sign_in_via_proxy(Client(), "operator", "wrong", "203.0.113.66", sent_forwarded_for=f"192.0.2.{n}")
    assert sign_in_via_proxy(Client(), "operator", PASSWORD, "203.0.113.66", "192.0.2.99").status_code == 429
    # ... and naming the victim's address does not lock the victim out.
    for _ in range(5):
        sign_in_via_proxy(Client(), "operator", "wrong", "203.0.113.67", sent_forwarded_for="198.51.100.9")
    assert sign_in_via_proxy(Client(), "operator", PASSWORD, "198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_not_behind_a_proxy_forwarded_for_is_ignored(settings):
    settings.BEHIND_PROXY = False
    user_in("operator")
    # Each try claims another address: all five count against the one that connected.
    for n in range(5):
        Client().post(reverse("login"), {"username": "operator", "password": "wrong"}, REMOTE_ADDR="127.0.0.9",
                      HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = Client().post(reverse("login"), {"username": "operator", "password": PASSWORD}, REMOTE_ADDR="127.0.0.9",
                             HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert response.status_code == 429


@pytest.mark.parametrize(("count", "forwarded", "expected"), [
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "192.0.2.1, 203.0.113.7", "203.0.113.7"),           # the client's own claim is left of the proxy's entry
    (2, "192.0.2.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # two proxies: the outer one's entry
    (2, "203.0.113.7", PROXY),                              # fewer entries than proxies: not through the chain
    (1, "", PROXY),
    (1, "not-an-address", PROXY),
    (1, "192.0.2.1, 203.0.113.7:4711", PROXY),
    (1, "2001:db8::7", "2001:db8::7"),
])
def test_the_client_address_is_the_entry_the_outermost_trusted_proxy_wrote(settings, count, forwarded, expected):
    from django.test import RequestFactory

    from backup_console.proxy import client_address

    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, count
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
    settings.BEHIND_PROXY = False
    assert client_address(request) == PROXY


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    user_in("operator")
    client = Client()
    for _ in range(5):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    assert sign_in(client, "operator", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_success_resets_the_count():
    user_in("operator")
    client = Client()
    for _ in range(4):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 302
    client = Client()
    for _ in range(4):
        assert sign_in(client, "operator", "wrong").status_code == 200
    assert sign_in(client, "operator", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_too():
    user_in("admin")
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="127.0.0.9")
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD}, REMOTE_ADDR="127.0.0.9")
    assert response.status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_an_over_long_user_name_is_refused_not_a_500(path):
    response = Client().post(path, {"username": "0" * 300, "password": " "}, REMOTE_ADDR="127.0.0.9")
    assert response.status_code == 200


@pytest.mark.django_db
def test_sign_out_is_post_only():
    client = Client()
    client.force_login(user_in("viewer"))
    assert client.get(reverse("logout")).status_code == 200  # asks first (tests/views/test_accounts.py)
    assert "_auth_user_id" in client.session
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/backups/data/").status_code == 302


# --- Production settings -------------------------------------------------------------------

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({k: getattr(s, k) for k in ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY", "DEBUG"]}))
"""


def test_production_cookies_are_secure(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HTTPS", "SECRET_KEY"}}
    env.update(HTTPS="1", SECRET_KEY=secrets.token_urlsafe(50), BACKUP_CONSOLE_VAR_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="backup_console.settings", ALLOWED_HOSTS="console.example.com")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
                     "SECURE_HSTS_SECONDS": 31536000, "SESSION_COOKIE_HTTPONLY": True, "CSRF_COOKIE_HTTPONLY": True,
                     "DEBUG": False}


# --- Demo logins exist only in development ---------------------------------------------------


def seed_demo():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def demoted_demo_user():
    """The demo user as an admin left it: no longer staff or superuser, deactivated."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("demo", password="an-admin-changed-this", is_active=False)


@pytest.mark.django_db
def test_seed_demo_refuses_production_and_makes_no_login(settings):
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    from clusters.models import Cluster

    settings.HTTPS = True
    with pytest.raises(CommandError, match="HTTPS=1"):
        seed_demo()
    assert not get_user_model().objects.exists()
    assert not Cluster.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("https", [True, False])
def test_seed_demo_never_revives_or_promotes_an_existing_demo_user(settings, https):
    from django.core.management.base import CommandError

    settings.HTTPS = https
    demo = demoted_demo_user()
    if https:
        with pytest.raises(CommandError):
            seed_demo()
    else:
        assert "demo / demo" not in seed_demo()  # that login does not work: the output does not offer it
    demo.refresh_from_db()
    assert (demo.is_active, demo.is_staff, demo.is_superuser) == (False, False, False)
    assert demo.check_password("an-admin-changed-this")


@pytest.mark.django_db
def test_create_demo_roles_leaves_an_existing_user_as_an_admin_left_it():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    operator = get_user_model().objects.create_user("operator", password="an-admin-changed-this", is_active=False)
    call_command("create_demo_roles", stdout=__import__("io").StringIO())
    operator.refresh_from_db()
    assert not operator.groups.exists() and not operator.is_active
    assert get_user_model().objects.get(username="viewer").groups.get().name == "viewer"  # the missing one is made


SETTINGS_PROBE = """
import json, sys, django
django.setup()
from django.conf import settings as s
print(json.dumps({k: getattr(s, k) for k in sys.argv[1:]}))
"""


def settings_in_a_fresh_process(tmp_path, names, **env_vars):
    """The settings ``names`` as a process started with ``env_vars`` reads them."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HTTPS", "BEHIND_PROXY", "PROXY_COUNT"}}
    env.update(SECRET_KEY=secrets.token_urlsafe(50), BACKUP_CONSOLE_VAR_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="backup_console.settings", **env_vars)
    result = subprocess.run([sys.executable, "-c", SETTINGS_PROBE, *names], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    return result


def test_the_idle_timeout_and_browser_close_expiry_come_from_the_environment(tmp_path):
    names = ["SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    result = settings_in_a_fresh_process(tmp_path, names)
    assert json.loads(result.stdout) == {"SESSION_COOKIE_AGE": 1800, "SESSION_EXPIRE_AT_BROWSER_CLOSE": False}
    result = settings_in_a_fresh_process(tmp_path, names, SESSION_IDLE_MINUTES="5", SESSION_EXPIRE_AT_BROWSER_CLOSE="1")
    assert json.loads(result.stdout) == {"SESSION_COOKIE_AGE": 300, "SESSION_EXPIRE_AT_BROWSER_CLOSE": True}
    for bad in ("0", "half an hour"):
        result = settings_in_a_fresh_process(tmp_path, names, SESSION_IDLE_MINUTES=bad)
        assert result.returncode != 0 and "SESSION_IDLE_MINUTES must be a whole number of minutes" in result.stderr


def test_forwarded_headers_are_trusted_only_behind_a_proxy(tmp_path):
    names = ["BEHIND_PROXY", "PROXY_COUNT", "SECURE_PROXY_SSL_HEADER", "AXES_CLIENT_IP_CALLABLE"]
    found = json.loads(settings_in_a_fresh_process(tmp_path, names, HTTPS="1").stdout)
    assert found["BEHIND_PROXY"] is False and found["SECURE_PROXY_SSL_HEADER"] is None
    found = json.loads(settings_in_a_fresh_process(tmp_path, names, BEHIND_PROXY="1", PROXY_COUNT="2").stdout)
    assert found == {"BEHIND_PROXY": True, "PROXY_COUNT": 2, "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
                     "AXES_CLIENT_IP_CALLABLE": "backup_console.proxy.client_address"}
    result = settings_in_a_fresh_process(tmp_path, names, BEHIND_PROXY="1", PROXY_COUNT="0")
    assert result.returncode != 0 and "PROXY_COUNT must be a whole number" in result.stderr


@pytest.mark.django_db
def test_a_forwarded_proto_does_not_make_a_direct_request_secure(settings):
    """HTTPS=1 without a proxy: a client claiming X-Forwarded-Proto: https is still redirected."""
    settings.SECURE_SSL_REDIRECT = True
    assert settings.SECURE_PROXY_SSL_HEADER is None  # the tests run with BEHIND_PROXY unset
    response = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


# --- In a real browser, under the CSP ----------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_console_and_admin_work_in_chromium_under_the_csp(live_server, monkeypatch):
    from tests.browser import new_page
    from tests.services import require_chromium

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    estate = build_estate()
    from tests import factories as f

    other = f.make_cluster(name="zz-other")
    f.make_tenant(estate["cluster"], name="sales")
    f.make_tenant(other, name="billing")
    user_in("admin", username="root-admin")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = new_page(browser, live_server)
            problems = []
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            failed = []
            page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            page.goto(page.base + "/accounts/login/")
            page.fill("input[name=username]", "root-admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/backups/**")

            # Instant backup: the tenant list follows the cluster (static/console/tenant_filter.js).
            page.goto(page.base + "/backups/instant/")
            page.select_option("#id_cluster", str(estate["cluster"].pk))
            visible = page.eval_on_selector_all("#id_tenant option[data-cluster]", "els => els.filter(e => !e.hidden).map(e => e.textContent)")
            assert visible == ["prod-a / sales"]

            # Policy form: the schedule editor follows the kind (static/console/policy_form.js).
            page.goto(page.base + "/backups/policies/new/")
            assert page.locator("[data-schedule=monthly]").is_hidden()
            page.check("input[name=schedule_kind][value=monthly]")
            assert page.locator("[data-schedule=monthly]").is_visible()
            assert page.locator("[data-schedule=weekly]").is_hidden()

            for path in ["/backups/logs/", "/backups/audit/", f"/backups/logs/{estate['log'].pk}/", "/clusters/",
                         "/admin/", "/admin/backups/databackuptask/", f"/admin/backups/logbackuptask/{estate['log'].pk}/change/",
                         "/admin/backups/backuppolicy/add/", "/admin/auth/user/", f"/admin/clusters/cluster/{estate['cluster'].pk}/change/"]:
                page.goto(page.base + path)
                assert page.locator("body").count() == 1
            # The admin's own scripts run: the autocomplete widget (select2) is built.
            page.goto(page.base + "/admin/backups/backuppolicy/add/")
            assert page.locator(".select2-container").count() >= 1
            # The admin's status badges are styled by a stylesheet, not inline styles.
            page.goto(page.base + "/admin/backups/logbackuptask/")
            colour = page.eval_on_selector(".status-badge", "el => getComputedStyle(el).backgroundColor")
            assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
            csp = [text for text in problems if "Content Security Policy" in text]
            assert not csp, csp
            assert not [text for text in problems if not text.startswith("Failed to load resource")], problems
            assert not failed, failed
        finally:
            browser.close()
