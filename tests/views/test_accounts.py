"""Signing in and out, the sign-in page's language switcher, the favicon, a
refused CSRF token, and how a 403 is logged (issue 11, item 14)."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories as f
from tests.roles import PASSWORD, user_in

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def signed_in(role="viewer", **client_options):
    client = Client(**client_options)
    client.force_login(user_in(role))
    return client


# --- signing out -----------------------------------------------------------------------


@pytest.mark.parametrize("language,headers,says", [("en", {}, "You are signed out."), ("zh", ZH, "您已退出登录。")])
def test_signing_out_says_so_on_the_sign_in_page(language, headers, says):
    client = signed_in()
    response = client.post(reverse("logout"), follow=True, **headers)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert says in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Said once: the next visit to the sign-in page is quiet.
    assert says not in client.get(reverse("login"), **headers).content.decode()


def test_sign_out_by_address_asks_and_keeps_the_session():
    client = signed_in()
    response = client.get(reverse("logout"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-page="logout-confirm"' in body and "console-navbar" in body
    assert f'<form method="post" action="{reverse("logout")}">' in body
    assert "_auth_user_id" in client.session  # a GET never signs out


def test_sign_out_by_address_when_signed_out_goes_to_sign_in_without_next():
    response = Client().get(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


@pytest.mark.parametrize("next_url", ["/accounts/logout/", "/accounts/logout/?x=1", "/i18n/setlang/", "/accounts/login/"])
def test_signing_in_never_goes_on_to_an_account_page(next_url):
    user_in("viewer")
    client = Client()
    response = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD, "next": next_url}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("backups:overview")), response.redirect_chain


def test_signing_in_still_goes_on_to_the_page_asked_for():
    user_in("viewer")
    response = Client().post(reverse("login"), {"username": "viewer", "password": PASSWORD, "next": "/clusters/"})
    assert response["Location"] == "/clusters/"


def test_get_logout_then_sign_in_ends_on_a_page_not_a_405():
    """The path a new operator took: the sign-out link opened while signed out, then signing in."""
    user_in("viewer")
    client = Client()
    first = client.get(reverse("logout"), follow=True)
    form_next = first.context["next"] if first.context and "next" in first.context else ""
    response = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD, "next": form_next}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("backups:overview"))


# --- the sign-in page's language switcher --------------------------------------------------


def test_the_language_switcher_works_before_signing_in():
    client = Client()
    login = reverse("login")
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": login})
    assert response.status_code == 302 and response["Location"] == login
    page = client.get(login).content.decode()
    assert 'lang="zh-hans"' in page and "登录" in page
    response = client.post(reverse("set_language"), {"language": "en", "next": login})
    assert response["Location"] == login
    page = client.get(login).content.decode()
    assert 'lang="en"' in page and "Sign in" in page and "登录以" not in page


def test_the_language_switcher_still_needs_its_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 403


# --- favicon ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client_factory", [Client, lambda: signed_in("admin")], ids=["signed out", "admin"])
def test_favicon_ico_is_the_console_icon(client_factory):
    client = client_factory()
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("favicon.svg")


def test_the_admin_links_its_icon():
    body = signed_in("admin").get(reverse("admin:index")).content.decode()
    assert 'rel="icon"' in body and "console/favicon.svg" in body


# --- a refused CSRF token ------------------------------------------------------------------


@pytest.mark.parametrize("language,headers,says,back", [
    ("en", {}, "The form has expired", "Back to the backup overview"),
    ("zh", ZH, "表单已失效", "返回备份概览"),
])
def test_a_refused_csrf_token_gets_the_consoles_frame(language, headers, says, back):
    log = f.make_log_task(f.make_cluster(name="prod-a"))
    client = signed_in("operator", enforce_csrf_checks=True)
    response = client.post(reverse("backups:log_stop", args=[log.pk]), HTTP_REFERER="http://testserver/backups/logs/", **headers)
    assert response.status_code == 403
    body = response.content.decode()
    assert "console-navbar" in body and 'data-error="403-csrf"' in body
    assert says in body and back in body
    assert 'href="/backups/logs/"' in body  # the way back to the page it came from
    log.refresh_from_db()
    assert log.status == "in_progress"


def test_a_refused_csrf_token_on_sign_in_gets_the_frame_too():
    response = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403 and 'data-error="403-csrf"' in response.content.decode()


# --- how a 403 is logged --------------------------------------------------------------------


def test_a_403_is_one_warning_line_without_a_traceback(caplog):
    log = f.make_log_task(f.make_cluster(name="prod-a"))
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = signed_in("viewer").post(reverse("backups:log_stop", args=[log.pk]))
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1, records
    record = records[0]
    assert record.levelno == logging.WARNING and "Forbidden" in record.getMessage()
    printed = logging.Formatter().format(record)  # a formatter prints exc_info when it is there
    assert "Traceback" not in printed and "\n" not in printed, printed
