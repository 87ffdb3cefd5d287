"""Request and response bodies of the case endpoints: filters, summaries, a case, its evidence."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from central_server.models import ViolationStatus
from central_server.workflow.service import Action
from protocol.enums import BehaviourCode, MediaRole, PlateColour, VehicleClass

MAX_PAGE = 200
MAX_OFFSET = 100_000


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("thời điểm ngoài phạm vi / time out of range") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
ShortId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ward = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# A plate as typed: letters, digits and the usual separators; compared compact (no separators).
PlateQuery = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-zĐđ .\-]{4,16}$")]


class ViolationQuery(BaseModel):
    """Filters of the case list; every one optional, lists mean "any of"."""

    model_config = ConfigDict(extra="forbid")

    status: list[ViolationStatus] = Field(default_factory=list, max_length=11)
    behaviour: list[BehaviourCode] = Field(default_factory=list, max_length=32)
    vehicle_class: list[VehicleClass] = Field(default_factory=list, max_length=16)
    site_id: list[ShortId] = Field(default_factory=list, max_length=100)
    ward: list[Ward] = Field(default_factory=list, max_length=100)
    occurred_from: UtcTime | None = Field(default=None, description="From (inclusive).")
    occurred_to: UtcTime | None = Field(default=None, description="Until (exclusive).")
    plate: PlateQuery | None = Field(default=None, description="Exact plate, any separators.")
    due_before: UtcTime | None = Field(
        default=None,
        description="Cases with an open deadline (notice, escalation, record) due "
        "before this time.",
    )
    overdue: bool | None = Field(default=None, description="Cases past any open deadline.")
    claimed: bool | None = Field(
        default=None, description="Held by a reviewer now, or being verified by an officer."
    )
    claimed_by: int | None = Field(default=None, ge=1, le=2**31 - 1)
    order: Literal["newest", "oldest"] = "newest"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ReviewClaimPublic(BaseModel):
    """Who holds a case for review, until when."""

    user_id: int
    claimed_at: datetime
    expires_at: datetime


class ViolationSummary(BaseModel):
    """A case in a list."""

    id: int
    version: int
    status: ViolationStatus
    status_vi: str
    behaviour: BehaviourCode
    vehicle_class: VehicleClass
    site_id: str
    camera_id: str
    occurred_at: datetime
    plate_text: str | None
    plate_printed: str | None
    plate_colour: PlateColour | None
    plate_confidence: float | None
    experimental: bool
    clock_flagged: bool
    approved_by_user_id: int | None
    claimed_by_user_id: int | None
    review_claim: ReviewClaimPublic | None
    notice_due_at: datetime | None
    escalation_due_at: datetime | None
    record_due_at: datetime | None
    expires_at: datetime | None
    overdue: list[str]


class ViolationPage(BaseModel):
    """A page of cases; ask again with `next_offset` for more."""

    items: list[ViolationSummary]
    next_offset: int | None


class EvidencePartPublic(BaseModel):
    """One media part: what the device signed, and where to fetch it (when it arrived)."""

    role: MediaRole
    mime: str
    size: int
    sha256: str
    dropped: bool
    width: int | None
    height: int | None
    url: str | None


class PoliceRecordPublic(BaseModel):
    """A reference the police entered."""

    id: int
    kind: str
    reference: str
    on_date: Any
    channel: str | None
    unit_id: int | None
    amount_vnd: int | None
    points: int | None
    note: str
    recorded_by: str
    recorded_at: datetime


class HistoryEntry(BaseModel):
    """One audited step of the case (the values stay in the audit log)."""

    event_id: int
    at: datetime
    actor: str
    action: str


class ViolationDetail(ViolationSummary):
    """A case with its facts, evidence, police records, history and next possible actions."""

    packet_id: str
    device_id: str
    detected_at: datetime
    rule_version: str
    facts: dict[str, Any]
    plate_lines: int | None
    plate_candidates: list[Any] | None
    plate_corrected_by: str | None
    plate_corrected_at: datetime | None
    reason_code: str | None
    reason_note: str | None
    legal_ref: str | None
    parts: list[EvidencePartPublic]
    police_records: list[PoliceRecordPublic]
    history: list[HistoryEntry]
    allowed_actions: list[Action]


class TransitionRequest(BaseModel):
    """An action on a case; `expected_version` guards against acting on a stale view."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reason_code: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] | None = Field(
        default=None, description="The police record the action needs (notice, decision, payment)."
    )


class PlateCorrection(BaseModel):
    """The plate as the reviewer reads it on the images."""

    model_config = ConfigDict(extra="forbid")

    plate_printed: str = Field(
        pattern=r"^[0-9A-Za-zĐđ .\-]{4,20}$", description="As printed, e.g. 73A-123.45."
    )
    plate_colour: PlateColour | None = None
    plate_lines: int | None = Field(default=None, ge=1, le=2)
    non_standard: str | None = Field(
        default=None,
        pattern=r"^[a-z_]{1,32}$",
        description="Only for a plate that fits no Vietnamese shape: its kind (`military`, "
        "`temporary`, `registered_abroad`, as the plate grammar lists them); without it such a "
        "plate is refused (422). Separators valid for the shape are kept as typed.",
    )
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @field_validator("plate_printed")
    @classmethod
    def _plausible(cls, value: str) -> str:
        compact = "".join(c for c in value.upper() if c.isalnum())
        if not 5 <= len(compact) <= 12:
            raise ValueError("biển số cần 5–12 chữ và số / a plate has 5 to 12 letters and digits")
        return value
