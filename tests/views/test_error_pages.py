"""The console's own error pages (issue 11): 403, 404, 405 and 500 in the
console's frame, saying what happened in English and Chinese, with a way back."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from tests import factories as f
from tests.roles import user_in

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
# What each page says, in each language.
SAYS = {
    403: {"en": "You may not do this", "zh": "无权执行此操作"},
    404: {"en": "Page not found", "zh": "页面不存在"},
    405: {"en": "Not done this way", "zh": "不支持此请求方式"},
    500: {"en": "Something went wrong", "zh": "出错了"},
}
BACK = {"en": "Back to the backup overview", "zh": "返回备份概览"}


def framed(response, code, language):
    """The page is the console's: its stylesheet, its navigation bar and brand;
    it says what happened and links back to the overview."""
    assert response.status_code == code
    body = response.content.decode()
    assert "console/console.css" in body and "console-navbar" in body, body[:300]
    assert SAYS[code][language] in body
    assert f'href="{reverse("backups:overview")}"' in body and BACK[language] in body
    if language == "zh":
        assert response.headers.get("Content-Language") == "zh-hans"
        assert SAYS[code]["en"] not in body and BACK["en"] not in body
    return body


@pytest.fixture
def log():
    return f.make_log_task(f.make_cluster(name="prod-a"))


def viewer():
    client = Client()
    client.force_login(user_in("viewer"))
    return client


def operator():
    client = Client()
    client.force_login(user_in("operator"))
    return client


@pytest.mark.parametrize("language,headers", [("en", {}), ("zh", ZH)])
def test_403_when_a_viewer_presses_stop(log, language, headers):
    response = viewer().post(reverse("backups:log_stop", args=[log.pk]), **headers)
    framed(response, 403, language)


def test_403_offers_the_page_it_came_from(log):
    came_from = "http://testserver/backups/logs/?range=30d"
    response = viewer().post(reverse("backups:log_stop", args=[log.pk]), HTTP_REFERER=came_from)
    body = framed(response, 403, "en")
    assert 'href="/backups/logs/?range=30d"' in body and "Back to the previous page" in body


def test_403_never_links_back_to_another_site(log):
    response = viewer().post(reverse("backups:log_stop", args=[log.pk]), HTTP_REFERER="https://evil.example/x")
    body = framed(response, 403, "en")
    assert "evil.example" not in body and "Back to the previous page" not in body


@pytest.mark.parametrize("language,headers", [("en", {}), ("zh", ZH)])
def test_404_for_an_unknown_address(language, headers):
    framed(viewer().get("/backups/no-such-page/", **headers), 404, language)


def test_404_for_an_unknown_task():
    body = framed(viewer().get(reverse("backups:log_detail", args=[987654])), 404, "en")
    assert "/backups/logs/987654/" in body  # says which address


def test_404_for_a_signed_out_visitor_keeps_the_frame():
    framed(Client().get("/no-such-page/"), 404, "en")


@pytest.mark.parametrize("language,headers", [("en", {}), ("zh", ZH)])
def test_405_when_an_action_is_opened_by_address(log, language, headers):
    response = operator().get(reverse("backups:log_stop", args=[log.pk]), **headers)
    body = framed(response, 405, language)
    assert response["Allow"] == "POST"
    assert "GET" in body


def test_405_of_a_list_page_keeps_its_allow_header():
    response = operator().generic("PATCH", reverse("backups:log_list"))
    framed(response, 405, "en")
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_405_of_sign_out_by_another_method():
    response = operator().put(reverse("logout"))
    framed(response, 405, "en")
    assert response["Allow"] == "GET, POST, OPTIONS"


@pytest.fixture
def broken_task_page(monkeypatch):
    from backups.views import details

    def boom(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(details, "task_detail", boom)


@pytest.mark.parametrize("language,headers", [("en", {}), ("zh", ZH)])
def test_500_when_a_page_breaks(log, broken_task_page, language, headers):
    client = Client(raise_request_exception=False)
    client.force_login(user_in("viewer"))
    body = framed(client.get(reverse("backups:log_detail", args=[log.pk]), **headers), 500, language)
    assert "simulated fault" not in body  # no internals


def test_500_renders_without_a_request_context():
    """The 500 page reads nothing that may have failed (no session, user or database)."""
    from backup_console import views

    with translation.override("en"):
        response = views.server_error(RequestFactory().get("/"))
    framed(response, 500, "en")
