"""Rendering a page: one Jinja environment per language, the shared context, flash messages.

Every page calls `render(request, "x.html", {...}, principal=...)`. The context always holds
`lang`, `user` (a `Viewer`: id, username, name, roles, permissions; or None), `nav`,
`csrf_token`, `flashes`, `lang_urls`, `js_messages` and the gettext callables `_` / `gettext` /
`ngettext` (and `{% trans %}` blocks) in the page language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from central_server.accounts import sessions
from central_server.accounts.dependencies import Principal, secret_key
from central_server.accounts.permissions import Permission
from central_server.roles import Role
from central_server.web.formatting import install_filters
from central_server.web.i18n import (
    LANG_COOKIE,
    LANG_PARAM,
    LANGS,
    N_,
    Lang,
    request_lang,
    translate,
    translations,
)
from central_server.web.nav import NavItem, visible

FLASH_COOKIE = "tw_flash"
FLASH_KINDS = frozenset({"info", "success", "error"})
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# Only the app's own scripts, styles, images and media: nothing from another site, no inline code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Texts every page's script may show (app.js: tw.msg(key)); pages add theirs in `js_messages`.
COMMON_JS_MESSAGES = {
    "network_error": N_("Mất kết nối tới máy chủ; thử lại."),
    "session_expired": N_("Phiên đăng nhập đã hết hạn; đang chuyển tới trang đăng nhập."),
    "saved": N_("Đã lưu."),
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, as the header shows them (plain values: safe after rollback)."""

    id: int
    username: str
    name: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    session_token: str | None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        """The viewer behind an authenticated principal."""
        user = principal.user
        return cls(
            id=user.id or 0,
            username=user.username,
            name=user.full_name or user.username,
            roles=principal.actor.roles,
            permissions=principal.permissions,
            session_token=principal.session_token,
        )


def viewer_of(request: Request, principal: Principal | None) -> Viewer | None:
    """The page's viewer: from `principal`, else the one the page dependency left."""
    if principal is not None:
        return Viewer.of(principal)
    found: Viewer | None = getattr(request.state, "viewer", None)
    return found


@functools.cache
def environment(lang: Lang) -> Environment:
    """The Jinja environment of one language (templates, filters, gettext installed)."""
    env = Environment(
        loader=PackageLoader("central_server.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    install_filters(env)
    return env


def nav_items(request: Request) -> list[NavItem]:
    """Every navigation item the installed page modules declared."""
    items: list[NavItem] = getattr(request.app.state, "web_nav", [])
    return items


def csrf_token(request: Request, viewer: Viewer | None) -> str:
    """The CSRF token of the viewer's browser session ("" for none or a bearer token)."""
    if viewer is None or viewer.session_token is None:
        return ""
    return sessions.csrf_token_for(secret_key(request), viewer.session_token)


def read_flashes(request: Request) -> list[tuple[str, str]]:
    """The (kind, message) pairs a redirect left for this page."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    found = []
    for entry in raw.split("&")[:5]:
        kind, _, message = unquote(entry).partition("|")
        if kind in FLASH_KINDS and message:
            found.append((kind, message[:300]))
    return found


def flash(response: Response, kind: str, message: str) -> None:
    """Leave a message for the next page (a short cookie, shown once)."""
    response.set_cookie(
        FLASH_COOKIE,
        quote(f"{kind}|{message}"),
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
    )


def lang_urls(request: Request) -> dict[str, str]:
    """This page in each language (the switch in the header)."""
    urls: dict[str, str] = {}
    for lang in LANGS:
        params = dict(request.query_params) | {LANG_PARAM: lang}
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
        urls[lang] = f"{request.url.path}?{query}"
    return urls


def base_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What every page's template sees."""
    lang = request_lang(request)
    viewer = viewer_of(request, principal)
    shown = visible(nav_items(request), viewer.permissions) if viewer else []
    return {
        "request": request,
        "lang": lang,
        "user": viewer,
        "nav": shown,
        "current_path": request.url.path,
        "csrf_token": csrf_token(request, viewer),
        "flashes": read_flashes(request),
        "lang_urls": lang_urls(request),
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` in the request's language into a no-store HTML response."""
    full = base_context(request, principal) | (context or {})
    lang: Lang = full["lang"]
    messages = COMMON_JS_MESSAGES | full.get("js_messages", {})
    full["js_messages"] = {key: translate(lang, text) for key, text in messages.items()}
    html = environment(lang).get_template(template).render(full)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Language", lang)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if full["flashes"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if request.query_params.get(LANG_PARAM) == lang:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, path="/", samesite="lax"
        )
    return response
