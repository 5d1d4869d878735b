"""The guards of the action views (backups/views/actions.py): which page an
action may send the operator back to; written to kill mutants the rest of the
suite let live (bench/mutation.sh)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from backups.views.actions import _back, is_safe
from tests import factories as f

OVERVIEW = "/backups/"


@pytest.fixture
def request_():
    return RequestFactory().get("/")


def test_the_overview_is_where_the_fallback_goes():
    assert reverse("backups:overview") == OVERVIEW


@pytest.mark.parametrize("url", [
    "/backups/logs/?status=in_progress&range=7d",
    "/backups/logs/?q=a b",  # a space is not a control character
    "/" + "a" * 1999,  # 2,000 characters: the longest accepted
    "http://testserver/backups/logs/",
    "https://testserver/backups/logs/",
    "HTTPS://testserver/backups/logs/",
])
def test_pages_of_this_site_are_safe(request_, url):
    assert is_safe(request_, url) is True


@pytest.mark.parametrize("url", [
    None,
    "",
    "/" + "a" * 2000,  # 2,001 characters
    "/" + "a" * 3000,
    "/backups/\x01logs/",
    "/backups/\x1flogs/",
    "/backups/\x7flogs/",
    "backups:log_list",  # a bare word, which redirect() would reverse as a view name
    "javascript:alert(1)",
    "//evil.example/",
    "https://evil.example/backups/logs/",
])
def test_anything_else_is_not(request_, url):
    assert is_safe(request_, url) is False


def test_a_secure_page_never_sends_back_to_a_plain_http_one():
    secure = RequestFactory().get("/", secure=True)
    assert is_safe(secure, "https://testserver/backups/logs/") is True
    assert is_safe(secure, "http://testserver/backups/logs/") is False


def test_a_default_that_names_no_page_falls_back_to_the_overview():
    request = RequestFactory().post("/")
    assert _back(request, "backups:log_list") == "/backups/logs/"
    assert _back(request, "backups:no_such_page") == OVERVIEW


@pytest.mark.django_db
def test_next_in_the_form_then_in_the_query_then_the_referer(admin_client):
    def back(query="", **data):
        log = f.make_log_task(f.make_cluster())
        url = reverse("backups:log_stop", args=[log.pk]) + query
        return admin_client.post(url, data, HTTP_REFERER="http://testserver/backups/logs/?from=referer")["Location"]

    assert back("?next=/backups/logs/%3Ffrom%3Dquery", next="/backups/logs/?from=form") == "/backups/logs/?from=form"
    assert back("?next=/backups/logs/%3Ffrom%3Dquery") == "/backups/logs/?from=query"
    assert back("?next=https://evil.example/") == "http://testserver/backups/logs/?from=referer"
    assert back() == "http://testserver/backups/logs/?from=referer"


@pytest.mark.django_db
@pytest.mark.parametrize("query, cancel", [
    ("?next=/backups/data/%3Fcluster%3D3", "/backups/data/?cluster=3"),
    ("?next=https://evil.example/", OVERVIEW),
    ("?next=backups:data_list", OVERVIEW),
    ("", OVERVIEW),
])
def test_instant_backup_cancels_back_to_a_safe_next_only(admin_client, query, cancel):
    page = admin_client.get(reverse("backups:instant_backup") + query)
    assert page.status_code == 200 and page.context["cancel_url"] == cancel
