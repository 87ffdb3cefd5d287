"""Hang the public API, its page, CORS and its 429 answers on the application."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from central_server.public import service
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
from central_server.public.schemas import VehicleType
from central_server.public.settings import PublicSettings, get_public_settings
from plates.grammar import load_grammar

logger = logging.getLogger(__name__)
WARM_UP_PLATE = "00A00000"  # a folded key no province issues: the search finds nothing


def read_engine(engine: Engine) -> Engine:
    """The engine searches read through: on PostgreSQL one without a ping before each checkout.

    A search is one query; the liveness ping would double its round trips. A connection the
    database dropped fails that one search (a 500) and is discarded by the pool.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(engine.url, pool_size=10, max_overflow=10, pool_pre_ping=False)


def warm_up(state: PublicState) -> None:
    """Run one search and one key lookup before the first citizen does.

    A fresh worker's first search pays for the database connection, the statement's compilation
    and the response model's first use: under a steady load the requests queued behind it made
    the first second's p99 ten times the rest. No answer is cached here.
    """
    try:
        service.search(state.engine, WARM_UP_PLATE, VehicleType.car, 1)
        state.keys.lookup("twk_warm-up-not-a-key")
    except SQLAlchemyError as exc:  # the database may come up after the API: not fatal
        logger.warning("public search warm-up skipped: %s", exc)
    # Everything loaded so far (modules, the app, the grammar) lives as long as the worker: move
    # it out of the collector's generations, so a full collection under load scans only what
    # requests made (these pauses were the p99's remaining spikes).
    gc.freeze()


def _lifespan_hooks(app: FastAPI, state: PublicState) -> None:
    # Wraps the app's lifespan (create_app's closes the main engine): FastAPI runs no startup or
    # shutdown handlers next to an explicit lifespan.
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app_) as inner_state:
                warm_up(state)
                yield inner_state
        finally:
            state.engine.dispose()

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
    _lifespan_hooks(app, app.state.public)
    app.include_router(api_router)
    app.include_router(page_router)
    app.add_exception_handler(RateLimited, rate_limited_handler)
    if settings.cors_origins:
        app.add_middleware(PublicCORS, origins=settings.cors_origins)
