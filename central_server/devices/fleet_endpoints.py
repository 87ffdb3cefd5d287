"""Fleet health for staff: every box's health, one box's history, alarms and acknowledging them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId
from central_server.devices import fleet_service
from central_server.devices.fleet_schemas import (
    AcknowledgeIn,
    AlarmPublic,
    DeviceHealthPublic,
    HealthHistoryPublic,
)
from central_server.devices.models_health import AlarmCode
from protocol.fields import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/devices", tags=["fleet health"], responses=ERROR_RESPONSES)

# Health is master data everyone on staff may see (no personal data); acknowledging an alarm
# is an administrator's act until a device permission exists (see docs/fleet-health.md).
Reader = Annotated[Principal, Depends(Requires(Permission.master_read))]
Acknowledger = Annotated[Principal, Depends(Requires(Permission.device_operate))]
Now = Annotated[datetime, Depends(now)]
DeviceIdPath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]


@router.get("")
def list_devices(
    principal: Reader,
    session: SessionDep,
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    online: bool | None = None,
) -> list[DeviceHealthPublic]:
    """Thiết bị và tình trạng / every box with its health (filter by site or online)."""
    return fleet_service.list_health(session, site_id=site_id, online=online)


@router.get("/alarms")
def list_alarms(
    principal: Reader,
    session: SessionDep,
    open_only: Annotated[bool, Query(alias="open")] = True,
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    code: AlarmCode | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlarmPublic]:
    """Cảnh báo thiết bị / fleet alarms, newest first (open ones unless `open=false`)."""
    return fleet_service.list_alarms(
        session, open_only=open_only, device_id=device_id, code=code, limit=limit
    )


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(
    alarm_id: IntId, body: AcknowledgeIn, principal: Acknowledger, session: SessionDep, at: Now
) -> AlarmPublic:
    """Xác nhận đã biết cảnh báo / acknowledge an alarm (audited; it clears when its cause goes)."""
    return fleet_service.acknowledge(
        session, alarm_id, actor=principal.actor.audit_name, note=body.note, now=at
    )


@router.get("/{device_id}/health")
def device_health(
    device_id: DeviceIdPath,
    principal: Reader,
    session: SessionDep,
    at: Now,
    days: Annotated[int, Query(ge=1, le=92)] = 30,
) -> HealthHistoryPublic:
    """Lịch sử tình trạng / one box's health, online intervals and daily figures."""
    return fleet_service.health_history(session, device_id, days=days, now=at)
