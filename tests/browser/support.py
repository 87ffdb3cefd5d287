"""Helpers for the browser tests: the live server thread, screenshots, Chromium's whereabouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, ViewportSize

from central_server.accounts.models import User
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv
from tests.web.seed import seed_case

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class LiveServer:
    """The app served over HTTP for a browser, its database and evidence store."""

    url: str
    env: ApiEnv

    def user(self, *roles: Role, **overrides: Any) -> User:
        """A user with `roles` who logs in with the harness password."""
        return self.env.user(*roles, **overrides)

    def seed(self, **overrides: Any) -> int:
        """A case waiting for review with real media (tests.web.seed.seed_case); its id."""
        return seed_case(self.env.db, self.env.store, **overrides)


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save the page as `var/screenshots/<name>.png` (a test artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
