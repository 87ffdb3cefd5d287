"""The catalogues: complete (every msgid translated into English), Vietnamese by default, the
English switch remembered."""

from __future__ import annotations

from central_server.roles import Role
from central_server.web import po_tool
from central_server.web.i18n import LANG_COOKIE, translate
from tests.central_server.api.harness import ApiEnv
from tests.web.conftest import PageAs


def test_every_message_has_its_english_translation() -> None:
    assert po_tool.problems() == []


def test_vietnamese_is_the_source_and_english_translates() -> None:
    assert translate("vi", "Phê duyệt") == "Phê duyệt"
    assert translate("en", "Phê duyệt") == "Approve"
    assert translate("en", "not a msgid") == "not a msgid"


def test_vietnamese_by_default_and_the_switch_is_remembered(page_as: PageAs) -> None:
    client, _ = page_as(Role.operator)
    assert "Hàng chờ duyệt" in client.get("/review").text
    switched = client.get("/review?lang=en")
    assert "Review queue" in switched.text
    assert switched.headers["content-language"] == "en"
    assert client.cookies.get(LANG_COOKIE) == "en"
    assert "Review queue" in client.get("/review").text  # the cookie keeps English
    back = client.get("/review?lang=vi")
    assert "Hàng chờ duyệt" in back.text


def test_the_login_page_in_both_languages(web_env: ApiEnv) -> None:
    client = web_env.client()
    vi = client.get("/login").text
    assert "Tên đăng nhập" in vi and "Mật khẩu" in vi
    en = client.get("/login?lang=en").text
    assert "User name" in en and "Password" in en
