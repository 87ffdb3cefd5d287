"""`/api/public/v1`: the citizens' search, no login, rate-limited, cacheable, CORS for the app."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from central_server.accounts.dependencies import PUBLIC
from central_server.api.common import ErrorBody
from central_server.errors import AppError
from central_server.public import service
from central_server.public.apikeys import KeyCache
from central_server.public.normalise import search_key
from central_server.public.ratelimit import RateLimiter, retry_after_header
from central_server.public.schemas import (
    MAX_PAGE,
    PLATE_EXAMPLES,
    RESPONSE_EXAMPLES,
    SearchResult,
    VehicleType,
)
from central_server.public.settings import PublicSettings

logger = logging.getLogger(__name__)

PREFIX = "/api/public/v1"
API_KEY_HEADER = "X-API-Key"


@dataclass
class PublicState:
    """What the public API keeps per process: its settings, rate limiter and key cache."""

    settings: PublicSettings
    engine: Engine
    limiter: RateLimiter
    keys: KeyCache


class RateLimited(AppError):
    """429 with the seconds to wait (its own handler adds `Retry-After`)."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(
            429,
            "rate_limited",
            "Tra cứu quá nhiều lần, vui lòng thử lại sau.",
            "Too many searches; please try again later.",
            detail={"retry_after_s": int(retry_after_header(wait_s))},
        )
        self.retry_after = retry_after_header(wait_s)


async def rate_limited_handler(request: Request, exc: Exception) -> JSONResponse:
    """The 429 answer, with `Retry-After`."""
    assert isinstance(exc, RateLimited)
    headers = {"Retry-After": exc.retry_after}
    return JSONResponse(status_code=429, content=exc.to_dict(), headers=headers)


def public_state(request: Request) -> PublicState:
    """The process's public API state, built by `install_public_api`."""
    state: PublicState = request.app.state.public
    return state


async def rate_limit(
    request: Request,
    api_key: Annotated[
        str | None,
        Header(
            alias=API_KEY_HEADER,
            description="Khóa API của ứng dụng (giới hạn cao hơn) / the app's API key",
        ),
    ] = None,
) -> None:
    """Take one search from the key's allowance, or the client address's; 429 when spent."""
    # async: no thread hop for a dictionary update; a key is read from the database at most
    # once per `key_cache_ttl_s`, a short block of the loop that is cheaper than a thread each time.
    state = public_state(request)
    if api_key is not None:
        info = state.keys.lookup(api_key)
        if info is None:
            raise AppError(
                401,
                "invalid_api_key",
                "Khóa API không hợp lệ hoặc đã bị thu hồi.",
                "The API key is unknown or revoked.",
            )
        name, rate = "key:" + info.key_hash, info.rate_per_minute
        burst = max(state.settings.burst, rate // 6)  # ten seconds' worth
    else:
        client = request.client.host if request.client else "unknown"
        name, rate, burst = "ip:" + client, state.settings.rate_per_minute, state.settings.burst
    wait_s = state.limiter.acquire(name, rate, burst)
    if wait_s > 0:
        raise RateLimited(wait_s)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


router = APIRouter(
    prefix=PREFIX,
    tags=["public"],
    dependencies=[Depends(PUBLIC)],
    responses={
        401: _error("Khóa API không hợp lệ / invalid API key"),
        422: _error("Biển số hoặc tham số không hợp lệ / invalid plate or parameter"),
        429: _error("Quá nhiều yêu cầu, xem `Retry-After` / rate limited"),
    },
)


def cached_json(request: Request, body: bytes, max_age_s: int) -> Response:
    """A JSON answer with a strong ETag; 304 when the client already holds it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age_s}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


def plate_key(plate: str) -> str:
    """The folded search key of a citizen's plate text, or a bilingual 422."""
    key = search_key(plate)
    if key is None:
        raise AppError(
            422,
            "invalid_plate",
            "Biển số không hợp lệ: nhập đủ biển số, ví dụ 73A-123.45 (không dùng ký tự đại diện).",
            "Invalid plate: give the whole plate, e.g. 73A-123.45 (no wildcards).",
        )
    return key


PlateQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=32,
        description="Biển số, bất kể hoa thường, dấu cách, gạch, chấm; `D` thay cho `Đ` được / "
        "plate, any case, spaces, dashes or dots; `D` accepted for `Đ`",
        openapi_examples=PLATE_EXAMPLES,
    ),
]
VehicleQuery = Annotated[
    VehicleType,
    Query(
        description="Loại phương tiện: oto, xemay, xedapdien, khac / vehicle type",
        openapi_examples={
            "vi": {"summary": "Ô tô", "value": "oto"},
            "en": {"summary": "Motorbike", "value": "xemay"},
        },
    ),
]
PageQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description="Trang, 20 kết quả một trang / page of 20")
]


@router.get(
    "/violations",
    response_model=SearchResult,
    summary="Tra cứu vi phạm theo biển số / look up violations by plate",
    description="Chỉ khớp chính xác biển số và loại phương tiện; không tìm gần đúng, không liệt "
    "kê. / Exact match of plate and vehicle type only; no wildcard, no listing.",
    responses={
        200: {"content": {"application/json": {"examples": RESPONSE_EXAMPLES}}},
        304: {"description": "Không đổi (ETag) / not modified"},
    },
    dependencies=[Depends(rate_limit)],
)
async def search_violations(
    request: Request, plate: PlateQuery, vehicle_type: VehicleQuery, page: PageQuery = 1
) -> Response:
    """The published violations of one plate and vehicle type, newest first."""
    # Run on the event loop: one indexed query (well under a millisecond) costs less than the
    # hop to a worker thread and back, which is most of a search's CPU when the load is high.
    state = public_state(request)
    result = service.search(state.engine, plate_key(plate), vehicle_type, page)
    body = result.model_dump_json().encode("utf-8")
    return cached_json(request, body, state.settings.cache_max_age_s)


class PublicCORS:
    """CORS for the configured origins on the public paths only (the staff API stays same-site)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET"],
            allow_headers=[API_KEY_HEADER, "If-None-Match"],
            expose_headers=["ETag", "Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route public requests through CORS, everything else straight on."""
        if scope["type"] == "http" and scope["path"].startswith("/api/public/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
