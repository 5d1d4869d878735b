"""Every page, checked by machines (issue 11): axe-core in Chromium and the W3C
Nu HTML checker, as viewer, operator and admin, in English and Chinese, at
1440 and 390 px; and the layout a DBA sees at those widths (item 11).

axe-core is vendored under tests/vendor/axe-core/ (its version in VERSION
there); vnu.jar is fetched by tests/vendor/fetch-vnu.sh (pinned, checksummed),
and Java comes from Debian.  Locally a missing vnu.jar or Java skips its test;
in CI it fails (tests/services.py).

Each (role, language, width) gets one browser tab that walks every page, so
the whole walk costs one sign-in per combination.  Screenshots (every page as
operator, the pages that differ by role for the others) and the HTML checked
go to screenshots/look/ (git-ignored): look at them after a run.
"""

import json
import subprocess
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from tests import browser as demo_browser
from tests.browser import SCREENSHOTS, browser, build_demo_data, new_page  # noqa: F401 (fixture)
from tests.roles import PASSWORD, user_in
from tests.services import require_vnu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"
SHOTS = SCREENSHOTS / "look"
LANGUAGES = (("en-US", "en"), ("zh-CN", "zh"))
WIDTHS = ((1440, 900), (390, 844))
ROLES = ("viewer", "operator", "admin")
# Photographed for every role (the rest for the operator only, to save time).
DIFFER_BY_ROLE = {"data", "logs", "policies", "instant"}
# What axe may not find: a violation this bad fails the test.
BLOCKING = ("serious", "critical")


@pytest.fixture
def demo(transactional_db):
    data = build_demo_data()  # its operator signs in as demo_browser.USERNAME
    user_in("viewer", "viewer")
    user_in("admin", "admin")
    from backups.models import BackupPolicy, LogBackupTask

    data["log"] = LogBackupTask.objects.filter(cluster=data["east"], status="in_progress").first()
    data["policy"] = BackupPolicy.objects.filter(cluster=data["east"]).first()
    # An open alert of the failed backup, and a maintenance window on staging (the alert pages and panels).
    from django.utils import timezone

    from backups.models import Alert, ClusterSilence

    now = timezone.now()
    data["alert"] = Alert.objects.create(rule="data_failed", severity="critical", cluster=data["east"],
                                         tenant=data["failed"].tenant, subject=f"data:{data['failed'].pk}",
                                         started_at=data["failed"].started_at)
    ClusterSilence.objects.create(cluster=data["stage"], starts_at=now, ends_at=now + timezone.timedelta(hours=4),
                                  reason="Storage network maintenance")
    return data


def pages(demo, role):
    """(name, path, status) of every page a role reaches, error pages included."""
    may_change = role != "viewer"
    return [
        ("data", "/backups/data/?range=30d", 200),
        ("logs", "/backups/logs/?range=30d", 200),
        ("cleanups", "/backups/cleanups/?range=30d", 200),
        ("secondary-data", "/backups/secondary/data/?range=30d", 200),
        ("secondary-logs", "/backups/secondary/logs/?range=30d", 200),
        ("data-task", f"/backups/data/{demo['failed'].pk}/", 200),
        ("log-task", f"/backups/logs/{demo['log'].pk}/", 200),
        ("clusters", "/clusters/", 200),
        ("cluster", f"/clusters/{demo['east'].pk}/", 200),
        ("policies", "/backups/policies/", 200),
        ("policy-new", "/backups/policies/new/", 200 if may_change else 403),
        ("policy-edit", f"/backups/policies/{demo['policy'].pk}/edit/", 200 if may_change else 403),
        ("instant", "/backups/instant/", 200 if may_change else 403),
        ("audit", "/backups/audit/", 200),
        ("alerts", "/alerts/?range=30d", 200),
        ("alert", f"/alerts/{demo['alert'].pk}/", 200),
        ("silence-new", f"/alerts/silence/{demo['east'].pk}/", 200 if may_change else 403),
        ("logout", "/accounts/logout/", 200),
        ("error-404", "/backups/no-such-page/", 404),
        ("error-405", f"/backups/logs/{demo['log'].pk}/stop/", 405),
    ]


def sign_in(page, role):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", demo_browser.USERNAME if role == "operator" else role)
    page.fill("input[name=password]", demo_browser.PASSWORD if role == "operator" else PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/backups/**")


def run_axe(page):
    """axe-core's violations on the page as it stands, serious and critical only."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # by the debugger protocol: the page's CSP does not apply
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(0, 2).join(' '))}));
    }""")
    return [v for v in violations if v["impact"] in BLOCKING]


def nu_errors(documents):
    """The Nu HTML checker's errors for {name: html}, in one JVM run.  The
    pages stay under screenshots/look/html/ for a reader of its messages."""
    java, jar = require_vnu()
    folder = SHOTS / "html"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, html in documents.items():
        files.append(folder / f"{name}.html")
        files[-1].write_text(html, encoding="utf-8")
    run = subprocess.run([java, "-jar", jar, "--errors-only", "--format", "json", *map(str, files)],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(run.stderr or run.stdout)  # vnu writes its JSON report to stderr
    return [f"{m.get('url', '?').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')} [{m.get('extract', '').strip()[:120]}]"
            for m in report["messages"] if m.get("type") in ("error", "non-document-error")]


def walk(browser, live_server, demo, role, language, suffix, width, height):
    """Open every page of ``role``: axe's findings, and the HTML as served."""
    page = new_page(browser, live_server, language=language, width=width, height=height)
    found, served = {}, {}
    sign_in(page, role)
    for name, path, status in pages(demo, role):
        response = page.goto(page.base + path)
        assert response.status == status, (role, path, response.status)
        key = f"{suffix}-{role}-{width}-{name}"
        if role == "operator" or name in DIFFER_BY_ROLE:
            page.screenshot(path=str(SHOTS / f"{key}.png"), full_page=True)
        violations = run_axe(page)
        if violations:
            found[key] = violations
        if width == WIDTHS[0][0]:
            served[f"{suffix}-{role}-{name}"] = response.text()
    # No script error on any page (error statuses are expected above).
    expected = ("HTTP ", "console: Failed to load resource: the server responded with a status of")
    assert not [p for p in page.problems if not p.startswith(expected)], page.problems
    page.context.close()
    return found, served


def signed_out_pages(browser, live_server, language, suffix, width, height):
    page = new_page(browser, live_server, language=language, width=width, height=height)
    found, served = {}, {}
    for name, path in (("login", "/accounts/login/"), ("signed-out-404", "/no-such-page/")):
        response = page.goto(page.base + path)
        key = f"{suffix}-anonymous-{width}-{name}"
        page.screenshot(path=str(SHOTS / f"{key}.png"), full_page=True)
        violations = run_axe(page)
        if violations:
            found[key] = violations
        served[f"{suffix}-anonymous-{name}"] = response.text()
    page.context.close()
    return found, served


def rendered_elsewhere():
    """Pages no browser walk reaches: a refused CSRF token and the 500 page."""
    from backup_console import views

    documents = {}
    for code, header in (("en", "en"), ("zh", "zh-CN")):
        client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=header)
        documents[f"{code}-csrf"] = client.post("/accounts/login/", {"username": "x"}).content.decode()
        with translation.override("zh-hans" if code == "zh" else "en"):
            documents[f"{code}-500"] = views.server_error(RequestFactory().get("/")).content.decode()
    return documents


def test_every_page_passes_axe_and_the_nu_checker(browser, live_server, demo):
    require_vnu()  # before the walk: a missing checker fails (CI) or skips at once
    SHOTS.mkdir(parents=True, exist_ok=True)
    found, served = {}, {}
    for language, suffix in LANGUAGES:
        for width, height in WIDTHS:
            for role in ROLES:
                more_found, more_served = walk(browser, live_server, demo, role, language, suffix, width, height)
                found.update(more_found)
                served.update(more_served)
            more_found, more_served = signed_out_pages(browser, live_server, language, suffix, width, height)
            found.update(more_found)
            served.update(more_served)
    served.update(rendered_elsewhere())
    errors = nu_errors(served)
    assert (found, errors) == ({}, []), json.dumps(found, indent=1, ensure_ascii=False) + "\n" + "\n".join(errors)
