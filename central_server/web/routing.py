"""Page routes answer in HTML: login redirects, a 403 page, error pages (never JSON bodies).

Page routers use `APIRouter(route_class=PageRoute)`. Any `AppError` raised by a page's
dependencies or body becomes a `PageError`, which rolls the request's transaction back and is
answered by `page_error_handler`: 401 (not logged in, session expired) → 303 to
`/login?next=<this page>`; anything else → `error.html` with the status and the bilingual message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from central_server.errors import AppError
from central_server.web.templating import render

logger = logging.getLogger(__name__)

LOGIN_PATH = "/login"


class PageError(Exception):
    """An error on a page route, to be answered with an HTML page."""

    def __init__(self, error: AppError) -> None:
        super().__init__(str(error))
        self.error = error


def _page_error(exc: Exception, request: Request) -> AppError:
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, RequestValidationError):
        return AppError(422, "validation_error", "Dữ liệu không hợp lệ.", "Invalid input.")
    if isinstance(exc, StarletteHTTPException):
        return AppError(
            exc.status_code, f"http_{exc.status_code}", str(exc.detail), str(exc.detail)
        )
    logger.exception("unhandled error on page %s %s", request.method, request.url.path)
    return AppError(
        500,
        "internal_error",
        "Lỗi hệ thống, vui lòng thử lại sau.",
        "Internal server error; please try again later.",
    )


class PageRoute(APIRoute):
    """An APIRoute whose errors become `PageError` (HTML answers)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so errors leave as `PageError`."""
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except PageError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is answered as a page
                raise PageError(_page_error(exc, request)) from exc

        return handler


def safe_next(target: str | None) -> str:
    """A local path to return to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if target.startswith(LOGIN_PATH):
        return "/"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    """303 to the login page, coming back to this page (GET) or the referring page."""
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        here = "/"
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(safe_next(here))}", status_code=303)


async def page_error_handler(request: Request, exc: Exception) -> Response:
    """Answer a page error: the login redirect for 401, else the error page."""
    assert isinstance(exc, PageError)
    error = exc.error
    if error.status_code == 401:
        return login_redirect(request)
    return render(
        request,
        "error.html",
        {"error": error},
        status_code=error.status_code,
    )


def install_page_errors(app: FastAPI) -> None:
    """Register the handler that turns `PageError` into HTML answers."""
    app.add_exception_handler(PageError, page_error_handler)
