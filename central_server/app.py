"""The FastAPI application: the web UI and the APIs (staff, public) hang off `create_app()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from central_server import db
from central_server.accounts.dependencies import PUBLIC
from central_server.accounts.passwords import make_hasher
from central_server.accounts.settings import AuthSettings, get_auth_settings
from central_server.api.common import install_validation_handler
from central_server.api.routers import staff_routers
from central_server.errors import install_error_handlers
from central_server.evidence_store import EvidenceStore
from central_server.metrics.endpoints import install_metrics
from central_server.models import utcnow
from central_server.public.install import install_public_api
from central_server.settings import Settings, get_settings
from central_server.web.install import install_web


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    auth_settings: AuthSettings | None = None,
    evidence_store: EvidenceStore | None = None,
) -> FastAPI:
    """Build the application; the engine is created here unless a test passes one."""
    settings = settings or get_settings()
    engine = engine or db.make_engine(settings.database_url)
    auth_settings = auth_settings or get_auth_settings()

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
    app.state.auth_settings = auth_settings
    app.state.password_hasher = make_hasher(auth_settings)
    app.state.clock = utcnow  # tests replace it to move time forward
    app.state.evidence_store = evidence_store  # None: the filesystem store, opened on first use
    install_error_handlers(app)
    install_validation_handler(app)
    for router in staff_routers():
        app.include_router(router)
    install_public_api(app)
    install_web(app)
    install_metrics(app)

    @app.get("/healthz", tags=["health"], dependencies=[Depends(PUBLIC)])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], dependencies=[Depends(PUBLIC)])
    def readyz() -> JSONResponse:
        """Readiness: the database answers and its schema is current (503 otherwise, so a
        proxy or orchestrator takes the worker out of service)."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = db.check_schema_current(engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "database_unreachable"}, status_code=503)
        if not current:
            return JSONResponse({"status": "schema_outdated"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app
