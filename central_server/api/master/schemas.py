"""Master data bodies: sites, units, reason codes, holidays, deadline rules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central_server.models import UnitKind
from central_server.workflow.models import DeadlineKind, DeadlineUnit

SiteIdStr = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
CodeStr = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Purpose = Annotated[str, StringConstraints(pattern=r"^(reject|dismiss|reopen)$")]
MAX_INT = 2**31 - 1


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitIn(_Input):
    """A police or detecting unit (the public lookup shows name, address and phone)."""

    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind
    address: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=32)


class UnitPublic(UnitIn):
    """A unit as stored."""

    id: int


class SiteIn(_Input):
    """An intersection approach: its place and the units that detect and handle its cases."""

    name: str = Field(min_length=1, max_length=200)
    ward: str = Field(default="", max_length=100)
    province: str = Field(default="", max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    detecting_unit_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    handling_unit_id: int | None = Field(default=None, ge=1, le=MAX_INT)


class SiteCreate(SiteIn):
    """A new site, named by its id (what devices send)."""

    id: SiteIdStr


class SitePublic(SiteCreate):
    """A site as stored."""


class ReasonIn(_Input):
    """A reason code's labels and what it may justify."""

    label_vi: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    applies_to: list[Purpose] = Field(min_length=1, max_length=3)
    requires_note: bool = False
    active: bool = True
    sort_order: int = Field(default=0, ge=0, le=10_000)


class ReasonPublic(ReasonIn):
    """A reason code as stored."""

    code: str


class HolidayIn(_Input):
    """A day off, or with `working` a weekend day worked in exchange (ngày làm bù)."""

    name_vi: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    working: bool = False


class HolidayPublic(HolidayIn):
    """A calendar day as stored."""

    day: dt.date
    updated_by: str


class DeadlineRuleIn(_Input):
    """A legal deadline in force from `effective_from` (applied by the violation's date)."""

    kind: DeadlineKind
    effective_from: dt.date = Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))
    amount: int = Field(ge=1, le=3650)
    unit: DeadlineUnit
    legal_ref: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)


class DeadlineRulePublic(DeadlineRuleIn):
    """A deadline rule as stored."""

    id: int
