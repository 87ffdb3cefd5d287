"""Every staff API router, in the order OpenAPI lists them."""

from __future__ import annotations

from fastapi import APIRouter

from central_server.accounts.endpoints import router as auth_router
from central_server.api.audit_log.endpoints import router as audit_router
from central_server.api.master.endpoints import router as master_router
from central_server.api.police.endpoints import router as police_router
from central_server.api.review.endpoints import router as review_router
from central_server.api.users import router as users_router
from central_server.api.violations.endpoints import router as violations_router
from central_server.devices.endpoints import router as enrolment_router
from central_server.devices.fleet_endpoints import router as fleet_router
from central_server.devices.remote_endpoints import router as remote_router
from central_server.export.endpoints import router as export_router
from central_server.reports.endpoints import router as reports_router


def staff_routers() -> list[APIRouter]:
    """The routers `create_app()` includes."""
    return [
        auth_router,
        violations_router,
        review_router,
        police_router,
        export_router,
        users_router,
        master_router,
        audit_router,
        reports_router,
        enrolment_router,
        fleet_router,
        remote_router,
    ]
