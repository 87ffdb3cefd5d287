"""The one error class of the server: an expected outcome with its HTTP status, in two languages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)


class AppError(Exception):
    """An expected failure (404, 403, 409, 422 ...) carrying its status and a bilingual message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message_vi: str,
        message_en: str,
        *,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status_code = status_code
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.detail = detail or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the API returns for this error."""
        body: dict[str, Any] = {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }
        if self.detail:
            body["detail"] = self.detail
        return {"error": body}


async def _app_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(status_code=exc.status_code, content=exc.to_dict())


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Unknown errors: the traceback goes to the log, the client gets a uniform 500.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    error = AppError(
        500,
        "internal_error",
        "Lỗi hệ thống, vui lòng thử lại sau.",
        "Internal server error; please try again later.",
    )
    return JSONResponse(status_code=500, content=error.to_dict())


def install_error_handlers(app: FastAPI) -> None:
    """Register the AppError handler and the uniform 500 handler on `app`."""
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
