"""Every page: renders in Vietnamese and English, sends an anonymous visitor to the login page
(coming back afterwards), shows the 403 page to a role without access, and loads nothing from
another site.

Part 2's pages join by adding `(url, roles)` to PAGES (`{case}`: a seeded case's id).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv
from tests.web.conftest import PageAs, Seed

PAGES: list[tuple[str, frozenset[Role]]] = [
    ("/review", frozenset({Role.operator})),
    ("/review/case/{case}", frozenset({Role.operator})),
    ("/police", frozenset({Role.police_officer, Role.police_lead})),
    ("/police/cases/{case}", frozenset({Role.police_officer, Role.police_lead})),
    ("/police/cases/{case}/sheet", frozenset({Role.police_officer, Role.police_lead})),
    ("/dashboard", frozenset({Role.admin, Role.leader})),
    ("/admin/users", frozenset({Role.admin})),
    ("/admin/audit", frozenset({Role.admin, Role.auditor})),
]
# An asset or link to another site (the app serves everything itself).
EXTERNAL = re.compile(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
LANG_TEXT = {"vi": "Đăng xuất", "en": "Log out"}


def _url(template: str, seed: Seed) -> str:
    return template.format(case=seed()) if "{case}" in template else template


@pytest.mark.parametrize(("template", "roles"), PAGES, ids=[p for p, _ in PAGES])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_page_renders_in_both_languages_with_only_local_assets(
    page_as: PageAs, seed: Seed, template: str, roles: frozenset[Role], lang: str
) -> None:
    client, _ = page_as(*sorted(roles))
    url = _url(template, seed)
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200, response.text
    html = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in html
    assert LANG_TEXT[lang] in html
    assert EXTERNAL.findall(html) == [], "assets must come from the app itself"
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("template", "roles"), PAGES, ids=[p for p, _ in PAGES])
def test_an_anonymous_visitor_is_sent_to_login_and_back(
    web_env: ApiEnv, seed: Seed, template: str, roles: frozenset[Role]
) -> None:
    url = _url(template, seed) + "?lang=en"
    response = web_env.client().get(url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(url)}"


@pytest.mark.parametrize(("template", "roles"), PAGES, ids=[p for p, _ in PAGES])
def test_a_role_without_access_gets_the_403_page(
    page_as: PageAs, seed: Seed, template: str, roles: frozenset[Role]
) -> None:
    outsider = next(
        role for role in (Role.auditor, Role.leader, Role.technician) if role not in roles
    )
    client, _ = page_as(outsider)
    response = client.get(_url(template, seed))
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
    assert "Tài khoản không có quyền mở trang này." in response.text
    assert "Đăng xuất" in response.text  # the header is still there


def test_login_page_and_errors_have_no_external_assets(web_env: ApiEnv) -> None:
    client = web_env.client()
    for url in ("/login", "/login?lang=en", "/static/does-not-exist.css"):
        response = client.get(url)
        assert EXTERNAL.findall(response.text) == [], url


def test_the_static_assets_are_served_by_the_app(web_env: ApiEnv) -> None:
    client = web_env.client()
    for name, kind in (
        ("app.css", "text/css"),
        ("app.js", "javascript"),
        ("review.js", "javascript"),
        ("police.js", "javascript"),
        ("admin.js", "javascript"),
        ("dashboard.js", "javascript"),
        ("pages.css", "text/css"),
    ):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert kind in response.headers["content-type"]
        assert EXTERNAL.findall(response.text) == []
        assert "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.operator, "/review"),
        (Role.police_officer, "/police"),
        (Role.police_lead, "/police"),
        (Role.leader, "/dashboard"),
        (Role.admin, "/admin/users"),
        (Role.auditor, "/admin/audit"),
        (Role.technician, "/admin/devices"),
    ],
)
def test_the_root_sends_each_role_home(page_as: PageAs, role: Role, home: str) -> None:
    client, _ = page_as(role)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == home


def test_a_role_without_pages_gets_a_welcome_page(page_as: PageAs, web_env: ApiEnv) -> None:
    client, user = page_as(Role.technician, full_name="Trần Văn Kỹ")
    homes = {item.href for item in web_env.app.state.web_nav}
    response = client.get("/", follow_redirects=False)
    if response.status_code == 303:  # a later page module gave technicians a home
        assert response.headers["location"] in homes
    else:
        assert response.status_code == 200
        assert "Xin chào, Trần Văn Kỹ" in response.text
