"""Hang the public API, its page, CORS and its 429 answers on the application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine

from central_server.public.apikeys import KeyCache
from central_server.public.endpoints import (
    PublicCORS,
    PublicState,
    RateLimited,
    rate_limited_handler,
)
from central_server.public.endpoints import router as api_router
from central_server.public.page import router as page_router
from central_server.public.ratelimit import RateLimiter
from central_server.public.settings import PublicSettings, get_public_settings
from plates.grammar import load_grammar


def read_engine(engine: Engine) -> Engine:
    """The engine searches read through: on PostgreSQL one without a ping before each checkout.

    A search is one query; the liveness ping would double its round trips. A connection the
    database dropped fails that one search (a 500) and is discarded by the pool.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(engine.url, pool_size=10, max_overflow=10, pool_pre_ping=False)


def _dispose_on_shutdown(app: FastAPI, engine: Engine) -> None:
    # Wraps the app's lifespan (create_app's closes the main engine): FastAPI runs no shutdown
    # handlers next to an explicit lifespan.
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app_) as state:
                yield state
        finally:
            engine.dispose()

    app.router.lifespan_context = lifespan


def install_public_api(app: FastAPI, settings: PublicSettings | None = None) -> None:
    """Add `/api/public/v1` and `/tra-cuu` to `app` (whose engine is on `app.state`)."""
    settings = settings or get_public_settings()
    load_grammar()  # parsed once here, not inside the first citizen's search
    app.state.public = PublicState(
        settings=settings,
        engine=read_engine(app.state.engine),
        limiter=RateLimiter(max_names=settings.max_tracked_clients),
        keys=KeyCache(app.state.engine, settings.key_cache_ttl_s),
    )
    _dispose_on_shutdown(app, app.state.public.engine)
    app.include_router(api_router)
    app.include_router(page_router)
    app.add_exception_handler(RateLimited, rate_limited_handler)
    if settings.cors_origins:
        app.add_middleware(PublicCORS, origins=settings.cors_origins)
