"""`GET /metrics`: the snapshot in Prometheus' text format, for a scraper holding the token.

Not a staff route (no user account scrapes) and not open: the API that serves `/metrics` also
serves the citizens' search through the city's reverse proxy, so "public on a private network"
would be one proxy rule away from public on the internet. The figures hold no personal data but
do show the system's load and weak points. So the route is declared `PUBLIC` for the role
matrix and checks its own bearer token (`TW_METRICS_TOKEN`, Prometheus' `authorization`
`credentials_file`); without a token configured it answers 404. The nginx example also keeps
`/metrics` to the monitoring network.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

from central_server import db
from central_server.accounts.dependencies import PUBLIC
from central_server.alerts.state import firing_keys
from central_server.errors import AppError
from central_server.metrics.collector import SnapshotCollector
from central_server.metrics.service import Snapshot, read_snapshot
from central_server.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


def require_metrics_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Let the request through only with `Authorization: Bearer <TW_METRICS_TOKEN>`."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        raise AppError(
            404,
            "metrics_disabled",
            "Chưa bật /metrics (đặt TW_METRICS_TOKEN).",
            "/metrics is disabled: set TW_METRICS_TOKEN.",
        )
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    if authorization is None or not hmac.compare_digest(authorization.encode(), expected):
        raise AppError(
            401,
            "metrics_token_invalid",
            "Thiếu hoặc sai mã truy cập /metrics.",
            "Missing or wrong /metrics bearer token.",
        )


@router.get(
    "/metrics",
    dependencies=[Depends(PUBLIC), Depends(require_metrics_token)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    """Operational figures in Prometheus' text format (bearer token required)."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    # The format the scraper asks for (OpenMetrics or the classic text), as prometheus-client's
    # own exporters negotiate it.
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(content=encode(registry), headers={"Content-Type": content_type})


def install_metrics(app: FastAPI) -> None:
    """Add `/metrics` and its registry (the snapshot collector and this process's figures)."""

    def read() -> Snapshot:
        with db.session_scope(app.state.engine, read_only=True) as session:
            snapshot = read_snapshot(session, app.state.settings, app.state.clock())
            return dataclasses.replace(snapshot, alerts_firing=firing_keys(session))

    collector = SnapshotCollector(read)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    app.state.metrics_registry = registry
    app.state.metrics_collector = collector  # tests set its `cache_s` to 0
    app.include_router(router)
