"""What every staff API router shares: documented error answers, id types, the evidence store."""

from __future__ import annotations

from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from central_server.errors import AppError
from central_server.evidence_store import EvidenceStore, FilesystemEvidenceStore
from central_server.server_keys import load_or_create_server_key

# PostgreSQL's integer: a larger id can name nothing, and must be a 422, not a database error.
MAX_DB_INT = 2**31 - 1
IntId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


class ErrorDetail(BaseModel):
    """An error in both languages, with a stable code for programs."""

    code: str
    message_vi: str
    message_en: str
    detail: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer except request validation (FastAPI's 422 shape)."""

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every staff router so OpenAPI (and schemathesis) know the error answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Yêu cầu hỏng (JSON không đọc được) / malformed request"),
    401: _error("Chưa đăng nhập / not authenticated"),
    403: _error("Không có quyền, sai CSRF hoặc ngoài phạm vi / forbidden"),
    404: _error("Không tìm thấy / not found"),
    409: _error("Xung đột trạng thái hoặc phiên bản / conflict"),
    422: _error("Dữ liệu không hợp lệ / invalid input"),
}


def evidence_store(request: Request) -> EvidenceStore:
    """The evidence store (the filesystem under `evidence_dir` unless the app was given one)."""
    store: EvidenceStore | None = getattr(request.app.state, "evidence_store", None)
    if store is None:
        store = FilesystemEvidenceStore(request.app.state.settings.evidence_dir)
        request.app.state.evidence_store = store
    return store


def server_key(request: Request) -> Ed25519PrivateKey:
    """The server's signing key (loaded once)."""
    key: Ed25519PrivateKey | None = getattr(request.app.state, "server_key", None)
    if key is None:
        key = load_or_create_server_key(request.app.state.settings.server_key_path)
        request.app.state.server_key = key
    return key


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    fields = sorted({_field_path(tuple(e.get("loc", ()))) for e in errors})
    error = AppError(
        422,
        "validation_error",
        f"Dữ liệu không hợp lệ: {', '.join(fields)}.",
        f"Invalid input: {', '.join(fields)}.",
        detail={"fields": fields, "errors": jsonable_encoder(errors, exclude={"ctx", "input"})},
    )
    return JSONResponse(status_code=422, content=error.to_dict())


_HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Yêu cầu không đọc được.", "The request could not be read."),
    404: ("Không có địa chỉ này.", "No such address."),
    405: ("Phương thức không được hỗ trợ.", "Method not allowed."),
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own errors (unknown path, wrong method, unreadable body) in the same shape.
    assert isinstance(exc, StarletteHTTPException)
    vi, en = _HTTP_MESSAGES.get(exc.status_code, ("Yêu cầu bị từ chối.", str(exc.detail)))
    error = AppError(exc.status_code, f"http_{exc.status_code}", vi, en)
    return JSONResponse(
        status_code=exc.status_code, content=error.to_dict(), headers=dict(exc.headers or {})
    )


def install_validation_handler(app: FastAPI) -> None:
    """Answer invalid requests, and Starlette's own HTTP errors, in the same bilingual error
    shape as every other 4xx."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
