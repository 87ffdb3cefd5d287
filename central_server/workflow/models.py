"""Workflow tables: reason codes, review claims, deadlines, holidays, police records, publication.

Imported at the end of `central_server.models`, so every table is on the one metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from sqlalchemy import JSON, BigInteger, Index, PrimaryKeyConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from central_server.models import UtcDateTime, _str_enum, utcnow


class DeadlineKind(str, Enum):
    """Which legal deadline a rule sets (vn_traffic.md §2)."""

    notice = "notice"  # owner identified and notice sent, from detection
    escalation = "escalation"  # alert to inspection/registration, from the notice
    record = "record"  # the record (biên bản), from identifying the violator
    expiry = "expiry"  # the limitation period, from detection


class DeadlineUnit(str, Enum):
    """How a rule's amount counts."""

    days = "days"
    working_days = "working_days"
    years = "years"


class PoliceRecordKind(str, Enum):
    """What the police recorded on a case (references only, never copies of registers)."""

    owner_identified = "owner_identified"
    notice = "notice"
    transfer = "transfer"
    penalty_decision = "penalty_decision"
    payment = "payment"
    escalation = "escalation"


class NoticeChannel(str, Enum):
    """How a notice (form 01) reached the owner."""

    paper = "paper"
    vnetraffic = "vnetraffic"


class ReasonCode(SQLModel, table=True):
    """A reason for rejecting, dismissing or reopening a case; data that admins edit."""

    __tablename__ = "reason_code"
    code: str = Field(primary_key=True, max_length=64)
    label_vi: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
    # The actions it may justify: "reject", "dismiss", "reopen".
    applies_to: list[str] = Field(default_factory=list, sa_type=JSON)
    requires_note: bool = False
    active: bool = True
    sort_order: int = 0


class ReviewClaim(SQLModel, table=True):
    """An operator's hold on a `pending_review` case; active while `expires_at` is ahead."""

    __tablename__ = "review_claim"
    violation_id: int = Field(
        primary_key=True, foreign_key="violation.id", sa_column_kwargs={"autoincrement": False}
    )
    user_id: int = Field(foreign_key="user.id", index=True)
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    renewed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)


class ReviewSkip(SQLModel, table=True):
    """A case an operator skipped: their queue passes over it for a while, others' does not."""

    __tablename__ = "review_skip"
    __table_args__ = (PrimaryKeyConstraint("violation_id", "user_id"),)
    violation_id: int = Field(foreign_key="violation.id")
    user_id: int = Field(foreign_key="user.id")
    skipped_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class DeadlineRule(SQLModel, table=True):
    """One legal deadline in force from `effective_from` (by the violation's date) on."""

    __tablename__ = "deadline_rule"
    __table_args__ = (UniqueConstraint("kind", "effective_from"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: DeadlineKind = Field(sa_type=_str_enum(DeadlineKind))
    effective_from: date
    amount: int
    unit: DeadlineUnit = Field(sa_type=_str_enum(DeadlineUnit))
    legal_ref: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)


class Holiday(SQLModel, table=True):
    """A day off (public holiday, Tết, a swapped day) or, with `working`, a weekend worked."""

    __tablename__ = "holiday"
    day: date = Field(primary_key=True)
    name_vi: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    # True: a Saturday or Sunday worked in exchange for a bridge day (ngày làm bù).
    working: bool = False
    updated_by: str = Field(default="system:migration", max_length=128)


class PoliceRecord(SQLModel, table=True):
    """A reference the police entered on a case: owner identified, notice, transfer, penalty..."""

    __tablename__ = "police_record"
    id: int | None = Field(default=None, primary_key=True)
    violation_id: int = Field(foreign_key="violation.id", index=True)
    kind: PoliceRecordKind = Field(sa_type=_str_enum(PoliceRecordKind))
    # Number of the notice or decision, or the reference of the identification or payment.
    reference: str = Field(default="", max_length=100)
    on_date: date
    channel: NoticeChannel | None = Field(default=None, sa_type=_str_enum(NoticeChannel, 16))
    # Transfer (form 03): the unit that takes the case over.
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    amount_vnd: int | None = Field(default=None, sa_type=BigInteger)
    points: int | None = None
    note: str = Field(default="", sa_type=Text)
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PublishedViolation(SQLModel, table=True):
    """What citizens may see of a verified case (vn_traffic.md §4); filled by `transition()`."""

    __tablename__ = "published_violation"
    __table_args__ = (Index("ix_published_violation_plate_vehicle", "plate", "vehicle_class"),)
    violation_id: int = Field(
        primary_key=True, foreign_key="violation.id", sa_column_kwargs={"autoincrement": False}
    )
    plate: str = Field(max_length=16)  # compact: upper case, no separators
    plate_printed: str = Field(default="", max_length=32)
    plate_colour: str = Field(default="", max_length=16)
    plate_colour_vi: str = Field(default="", max_length=64)
    vehicle_class: str = Field(max_length=32)
    vehicle_type_vi: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    place: str = Field(max_length=500)
    behaviour: str = Field(max_length=32)
    behaviour_vi: str = Field(max_length=500)
    legal_ref: str = Field(default="", max_length=64)
    status_vi: str = Field(max_length=32)
    penalized: bool = False
    detecting_unit: str = Field(default="", max_length=200)
    handling_unit: str = Field(default="", max_length=200)
    handling_unit_address: str = Field(default="", max_length=500)
    handling_unit_phone: str = Field(default="", max_length=32)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# Registers the listener that gives every new violation its due dates (it needs these tables).
import central_server.workflow.deadlines  # noqa: E402, F401
