"""The FastAPI application: the web UI and the APIs (staff, public) hang off `create_app()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

from central_server import db
from central_server.settings import Settings, get_settings


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the application; the engine is created here unless a test passes one."""
    settings = settings or get_settings()
    engine = engine or db.make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="trafficwatch",
        summary="Hệ thống phát hiện vi phạm giao thông qua camera / traffic-violation cameras",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> dict[str, str]:
        """Readiness: the database answers and its schema is current."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if not db.check_schema_current(engine):
            return {"status": "schema_outdated"}
        return {"status": "ok"}

    return app
