"""What the police enter on a case (the `data` of a transition or a police record), validated."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central_server.errors import AppError
from central_server.workflow.models import NoticeChannel, PoliceRecordKind

MAX_LICENCE_POINTS = 12


class RecordEntry(BaseModel):
    """What every police record carries: the date it happened and an optional note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: dt.date = Field(description="Ngày / date (the day it happened, in Vietnam)")
    note: str = Field(default="", max_length=2000, description="Ghi chú / note")


class OwnerIdentified(RecordEntry):
    """The owner or violator identified (a reference into the register, never a copy of it)."""

    reference: str = Field(min_length=1, max_length=100, description="Số tham chiếu / reference")


class Notice(RecordEntry):
    """A notice (form 01) sent to the owner, on paper or through VNeTraffic."""

    number: str = Field(min_length=1, max_length=100, description="Số thông báo / notice number")
    channel: NoticeChannel = Field(description="paper | vnetraffic")


class Transfer(RecordEntry):
    """The case transferred to another unit (form 03), e.g. the owner's commune police."""

    number: str = Field(min_length=1, max_length=100, description="Số văn bản / form 03 number")
    unit_id: int = Field(description="Đơn vị tiếp nhận / the unit taking the case over")


class PenaltyDecision(RecordEntry):
    """The penalty decision: number, date, fine and licence points."""

    number: str = Field(min_length=1, max_length=100, description="Số quyết định / decision number")
    amount_vnd: int = Field(gt=0, description="Số tiền phạt (đồng) / fine in VND")
    points: int = Field(default=0, ge=0, le=MAX_LICENCE_POINTS, description="Điểm bị trừ")


class Payment(RecordEntry):
    """The fine paid (the payment's reference, e.g. from the public service portal)."""

    reference: str = Field(default="", max_length=100, description="Mã giao dịch / reference")
    amount_vnd: int | None = Field(default=None, gt=0, description="Số tiền đã nộp (đồng)")


class Escalation(RecordEntry):
    """The alert to the inspection and registration agencies sent (notice + 20 days)."""

    reference: str = Field(default="", max_length=100, description="Số văn bản / reference")


RECORD_SCHEMAS: dict[PoliceRecordKind, type[RecordEntry]] = {
    PoliceRecordKind.owner_identified: OwnerIdentified,
    PoliceRecordKind.notice: Notice,
    PoliceRecordKind.transfer: Transfer,
    PoliceRecordKind.penalty_decision: PenaltyDecision,
    PoliceRecordKind.payment: Payment,
    PoliceRecordKind.escalation: Escalation,
}


def parse_record(kind: PoliceRecordKind, data: dict[str, Any] | None) -> RecordEntry:
    """Validate what was entered for a record of `kind` (AppError 422 naming the bad fields)."""
    try:
        return RECORD_SCHEMAS[kind].model_validate(data or {})
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        raise AppError(
            422,
            "invalid_record",
            f"Thông tin {kind.value} không hợp lệ: {', '.join(fields)}.",
            f"Invalid {kind.value} data: {', '.join(fields)}.",
            detail={"fields": fields},
        ) from exc
