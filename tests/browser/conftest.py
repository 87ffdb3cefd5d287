"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against a live server.

    def test_x(live_server: LiveServer, page: Page, login_as: LoginAs) -> None:
        case_id = live_server.seed(minutes=1)
        login_as(Role.operator)
        page.goto(f"{live_server.url}/review/case/{case_id}")

The server runs the whole app with uvicorn on a free port over PostgreSQL when
TEST_DATABASE_URL is set, else SQLite. Chromium is /usr/bin/chromium (never Playwright's own
download); without it the tests are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from central_server.accounts.models import User
from central_server.models import utcnow
from central_server.roles import Role
from tests.browser.support import VIEWPORT, LiveServer, serve
from tests.central_server.api.harness import PASSWORD, api_env_for
from tests.fixtures.db import (
    TEST_DATABASE_URL_ENV,
    Database,
    _postgres_database,
    _sqlite_database,
)

LoginAs = Callable[..., User]


@pytest.fixture
def browser_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """One database: PostgreSQL when TEST_DATABASE_URL is set, else SQLite."""
    if os.environ.get(TEST_DATABASE_URL_ENV):
        yield from _postgres_database(request.getfixturevalue("_postgres_admin"))
    else:
        yield from _sqlite_database(tmp_path)


@pytest.fixture
def live_server(browser_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """The app served on a free port; `.url`, `.env`, `.user(*roles)`, `.seed(**overrides)`."""
    for env in api_env_for(browser_db, tmp_path):
        env.app.state.clock = utcnow  # a live browser: real time (claims, sessions)
        with serve(env.app) as url:
            yield LiveServer(url, env)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own cookies) at 1366×768, Vietnamese first."""
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def login_as(live_server: LiveServer, page: Page) -> LoginAs:
    """`login_as(role, page=other_tab, **user_fields)`: a new user logs in through the form."""
    default_page = page

    def login(role: Role, page: Page | None = None, **overrides: object) -> User:
        tab = page or default_page
        user = live_server.user(role, **overrides)
        tab.goto(f"{live_server.url}/login")
        tab.get_by_label("Tên đăng nhập").fill(user.username)
        tab.get_by_label("Mật khẩu").fill(PASSWORD)
        tab.get_by_role("button", name="Đăng nhập").click()
        tab.wait_for_url(lambda url: "/login" not in url)
        return user

    return login
