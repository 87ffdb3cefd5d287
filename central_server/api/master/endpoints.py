"""Master data: sites and units (everyone reads, admins edit), reason codes, the holiday calendar
and the deadline rules (admins edit; changes audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from central_server.accounts.dependencies import Principal, Requires, SessionDep
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId
from central_server.api.master import service
from central_server.api.master.schemas import (
    DeadlineRuleIn,
    DeadlineRulePublic,
    HolidayIn,
    HolidayPublic,
    ReasonIn,
    ReasonPublic,
    SiteCreate,
    SiteIdStr,
    SiteIn,
    SitePublic,
    UnitIn,
    UnitPublic,
)
from central_server.workflow import calendar, reasons
from central_server.workflow.models import ReasonCode

router = APIRouter(prefix="/api/v1", tags=["master data"], responses=ERROR_RESPONSES)

Reader = Annotated[Principal, Depends(Requires(Permission.master_read))]
Manager = Annotated[Principal, Depends(Requires(Permission.master_manage))]
CaseReader = Annotated[Principal, Depends(Requires(Permission.case_read))]
SiteId = Annotated[SiteIdStr, Path()]
Code = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Day = Annotated[dt.date, Path(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]


@router.get("/units")
def list_units(principal: Reader, session: SessionDep) -> list[UnitPublic]:
    """Đơn vị / police and detecting units."""
    return [UnitPublic.model_validate(u.model_dump()) for u in service.list_units(session)]


@router.post("/units", status_code=status.HTTP_201_CREATED)
def create_unit(body: UnitIn, principal: Manager, session: SessionDep) -> UnitPublic:
    """Thêm đơn vị / add a unit."""
    return UnitPublic.model_validate(
        service.save_unit(session, body, actor=principal.actor).model_dump()
    )


@router.get("/units/{unit_id}")
def get_unit(unit_id: IntId, principal: Reader, session: SessionDep) -> UnitPublic:
    """Một đơn vị / one unit."""
    return UnitPublic.model_validate(service.get_unit(session, unit_id).model_dump())


@router.put("/units/{unit_id}")
def update_unit(
    unit_id: IntId, body: UnitIn, principal: Manager, session: SessionDep
) -> UnitPublic:
    """Sửa đơn vị / change a unit's name, address or phone."""
    unit = service.save_unit(session, body, actor=principal.actor, unit_id=unit_id)
    return UnitPublic.model_validate(unit.model_dump())


@router.get("/sites")
def list_sites(principal: Reader, session: SessionDep) -> list[SitePublic]:
    """Điểm giám sát / sites (intersection approaches)."""
    return [SitePublic.model_validate(s.model_dump()) for s in service.list_sites(session)]


@router.post("/sites", status_code=status.HTTP_201_CREATED)
def create_site(body: SiteCreate, principal: Manager, session: SessionDep) -> SitePublic:
    """Thêm điểm / register a site."""
    return SitePublic.model_validate(
        service.create_site(session, body, actor=principal.actor).model_dump()
    )


@router.get("/sites/{site_id}")
def get_site(site_id: SiteId, principal: Reader, session: SessionDep) -> SitePublic:
    """Một điểm / one site."""
    return SitePublic.model_validate(service.get_site(session, site_id).model_dump())


@router.put("/sites/{site_id}")
def update_site(
    site_id: SiteId, body: SiteIn, principal: Manager, session: SessionDep
) -> SitePublic:
    """Sửa điểm / change a site's place or units."""
    site = service.update_site(session, site_id, body, actor=principal.actor)
    return SitePublic.model_validate(site.model_dump())


@router.get("/reason-codes")
def list_reason_codes(
    principal: CaseReader,
    session: SessionDep,
    purpose: Annotated[str | None, Query(pattern=r"^(reject|dismiss|reopen)$")] = None,
) -> list[ReasonPublic]:
    """Lý do / reason codes for rejecting, dismissing or reopening."""
    rows = reasons.list_reasons(session, purpose=purpose)
    return [ReasonPublic.model_validate(r.model_dump()) for r in rows]


@router.put("/reason-codes/{code}")
def save_reason_code(
    code: Code, body: ReasonIn, principal: Manager, session: SessionDep
) -> ReasonPublic:
    """Sửa lý do / add or change a reason code (deactivate, never delete)."""
    row = reasons.save_reason(
        session, actor=principal.actor, reason=ReasonCode(code=code, **body.model_dump())
    )
    return ReasonPublic.model_validate(row.model_dump())


@router.get("/holidays")
def list_holidays(
    principal: Reader,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[HolidayPublic]:
    """Lịch nghỉ / days off (Tết included) and weekend days worked."""
    rows = calendar.list_holidays(session, year=year)
    return [HolidayPublic.model_validate(r.model_dump()) for r in rows]


@router.put("/holidays/{day}")
def save_holiday(
    day: Day, body: HolidayIn, principal: Manager, session: SessionDep
) -> HolidayPublic:
    """Sửa ngày nghỉ / add or change a day in the calendar."""
    row = calendar.save_holiday(session, actor=principal.actor, day=day, **body.model_dump())
    return HolidayPublic.model_validate(row.model_dump())


@router.delete("/holidays/{day}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_holiday(day: Day, principal: Manager, session: SessionDep) -> None:
    """Xóa ngày nghỉ / remove a day from the calendar."""
    calendar.delete_holiday(session, actor=principal.actor, day=day)


@router.get("/deadline-rules")
def list_deadline_rules(principal: Reader, session: SessionDep) -> list[DeadlineRulePublic]:
    """Thời hạn / the legal deadlines by effective date."""
    rows = calendar.list_deadline_rules(session)
    return [DeadlineRulePublic.model_validate(r.model_dump()) for r in rows]


@router.post("/deadline-rules")
def save_deadline_rule(
    body: DeadlineRuleIn, principal: Manager, session: SessionDep
) -> DeadlineRulePublic:
    """Thêm thời hạn / a deadline in force from a date (or correct that one)."""
    row = calendar.save_deadline_rule(session, actor=principal.actor, **body.model_dump())
    return DeadlineRulePublic.model_validate(row.model_dump())
