"""Every database table of the server (SQLModel). Only `workflow.transition()` changes a status."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy import Enum as SaEnum
from sqlmodel import Field, SQLModel

from protocol.enums import (
    AckStatus,
    BehaviourCode,
    MediaRole,
    PlateColour,
    RejectReason,
    VehicleClass,
)

# Deterministic constraint names: Alembic can then alter or drop them on both backends (SQLite
# batch mode needs names too).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA256_HEX_LEN = 64
KEY_ID_LEN = 16
GENESIS_HASH = "0" * SHA256_HEX_LEN


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (their zone is a guess) and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use a timezone-aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _str_enum(enum_cls: type[Enum], length: int = 32) -> SaEnum:
    # A VARCHAR of the values, not a PostgreSQL ENUM type: adding a value needs no migration.
    return SaEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class UnitKind(str, Enum):
    """Who a unit is: the police unit that handles cases or the unit whose camera detected them."""

    police = "police"
    detecting = "detecting"


class ConfigKind(str, Enum):
    """What an archived device document is."""

    config = "config"
    calibration = "calibration"


class ViolationStatus(str, Enum):
    """The workflow states of a violation (see DESIGN.md, Workflow)."""

    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    verifying = "verifying"
    confirmed = "confirmed"
    dismissed = "dismissed"
    notified = "notified"
    penalized = "penalized"
    paid = "paid"
    closed = "closed"
    expired = "expired"


# ---------------------------------------------------------------- master data


class Unit(SQLModel, table=True):
    """A police unit (handles cases) or a detecting unit (runs the cameras)."""

    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: UnitKind = Field(sa_type=_str_enum(UnitKind))
    address: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=32)


class Site(SQLModel, table=True):
    """An intersection approach watched by a device."""

    __tablename__ = "site"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    ward: str = Field(default="", max_length=100)
    province: str = Field(default="", max_length=100)
    lat: float | None = None
    lon: float | None = None
    detecting_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    handling_unit_id: int | None = Field(default=None, foreign_key="unit.id")


class Device(SQLModel, table=True):
    """An enrolled edge box; `site_id` is where it serves now (history in DeviceAssignment)."""

    __tablename__ = "device"
    id: str = Field(primary_key=True, max_length=64)
    site_id: str | None = Field(default=None, foreign_key="site.id", index=True, max_length=64)
    camera_id: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_seq: int | None = Field(default=None, sa_type=BigInteger)
    status_json: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    enrolled_by: str | None = Field(default=None, max_length=128)


class DeviceKey(SQLModel, table=True):
    """A device's Ed25519 public key, valid for a range of sequence numbers."""

    __tablename__ = "device_key"
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    key_id: str = Field(unique=True, max_length=KEY_ID_LEN)
    public_key: bytes = Field(sa_type=LargeBinary(32))
    valid_from_seq: int = Field(default=0, sa_type=BigInteger)
    # None: open-ended (the current key).
    valid_to_seq: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_reason: str | None = Field(default=None, max_length=500)


class DeviceAssignment(SQLModel, table=True):
    """Which site a device served from when to when (`valid_to` None: still serving)."""

    __tablename__ = "device_assignment"
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    site_id: str = Field(foreign_key="site.id", index=True, max_length=64)
    valid_from: datetime = Field(sa_type=UtcDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DeviceConfigArchive(SQLModel, table=True):
    """Every config and calibration a device ran, by hash (packets carry only the hash)."""

    __tablename__ = "device_config_archive"
    sha256: str = Field(primary_key=True, max_length=SHA256_HEX_LEN)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    kind: ConfigKind = Field(sa_type=_str_enum(ConfigKind))
    body: dict[str, Any] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# ---------------------------------------------------------------- ingest


class Packet(SQLModel, table=True):
    """A stored evidence packet; its signed bytes live in the evidence store (`blob_sha256`)."""

    __tablename__ = "packet"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)
    packet_id: uuid.UUID = Field(primary_key=True)
    device_id: str = Field(foreign_key="device.id", max_length=64)
    seq: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=SHA256_HEX_LEN)
    size: int
    key_id: str = Field(max_length=KEY_ID_LEN)
    blob_sha256: str = Field(max_length=SHA256_HEX_LEN)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    clock_skew_s: float = 0.0
    skew_flagged: bool = False


class EvidencePart(SQLModel, table=True):
    """One media part of a packet (its bytes in the evidence store, by `sha256`)."""

    __tablename__ = "evidence_part"
    __table_args__ = (UniqueConstraint("packet_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    packet_id: uuid.UUID = Field(foreign_key="packet.packet_id")
    role: MediaRole = Field(sa_type=_str_enum(MediaRole))
    mime: str = Field(max_length=64)
    sha256: str = Field(max_length=SHA256_HEX_LEN)
    size: int
    # Dropped on the box after signing: the hash is signed, the bytes never came.
    dropped: bool = False
    width: int | None = None
    height: int | None = None


class ChunkStage(SQLModel, table=True):
    """A received chunk waiting for its siblings (possibly delivered to another worker)."""

    __tablename__ = "chunk_stage"
    __table_args__ = (PrimaryKeyConstraint("packet_id", "index"),)
    packet_id: uuid.UUID
    index: int
    device_id: str = Field(max_length=64, index=True)
    count: int
    total_size: int
    packet_sha256: str = Field(max_length=SHA256_HEX_LEN)
    data: bytes = Field(sa_type=LargeBinary)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class Quarantine(SQLModel, table=True):
    """A message refused by ingest, with its reason; its bytes kept in the evidence store."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    device_id: str | None = Field(default=None, max_length=64, index=True)
    topic: str = Field(max_length=255)
    reason: str = Field(max_length=64)
    detail: str = Field(default="", sa_type=Text)
    sha256: str = Field(max_length=SHA256_HEX_LEN)
    blob_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
    packet_id: uuid.UUID | None = None


class SentAck(SQLModel, table=True):
    """An application ack as sent (the signed bytes), for resends and the evidence bundle."""

    __tablename__ = "sent_ack"
    id: int | None = Field(default=None, primary_key=True)
    packet_id: uuid.UUID = Field(index=True)
    device_id: str = Field(max_length=64)
    status: AckStatus = Field(sa_type=_str_enum(AckStatus, 16))
    reason: RejectReason | None = Field(default=None, sa_type=_str_enum(RejectReason, 64))
    ack_bytes: bytes = Field(sa_type=LargeBinary)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SequenceGap(SQLModel, table=True):
    """Sequence numbers not (yet) received from a device: possible losses."""

    __tablename__ = "sequence_gap"
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    from_seq: int = Field(sa_type=BigInteger)
    to_seq: int = Field(sa_type=BigInteger)
    first_noticed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# ---------------------------------------------------------------- violations

# SQLAlchemy's optimistic concurrency needs the Column object itself in __mapper_args__.
_violation_version = Column("version", Integer, nullable=False)


class Violation(SQLModel, table=True):
    """A detected violation and its place in the workflow."""

    __tablename__ = "violation"
    __table_args__ = (
        Index("ix_violation_status_occurred_at", "status", "occurred_at"),
        Index("ix_violation_site_id_status", "site_id", "status"),
        Index("ix_violation_plate_text", "plate_text"),
        Index("ix_violation_status_notice_due_at", "status", "notice_due_at"),
        Index("ix_violation_status_expires_at", "status", "expires_at"),
    )
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _violation_version}
    id: int | None = Field(default=None, primary_key=True)
    packet_id: uuid.UUID = Field(foreign_key="packet.packet_id", unique=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    site_id: str = Field(foreign_key="site.id", max_length=64)
    camera_id: str = Field(default="", max_length=64)
    behaviour: BehaviourCode = Field(sa_type=_str_enum(BehaviourCode))
    experimental: bool = False
    rule_version: str = Field(default="", max_length=32)
    vehicle_class: VehicleClass = Field(sa_type=_str_enum(VehicleClass))
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    detected_at: datetime = Field(sa_type=UtcDateTime)
    status: ViolationStatus = Field(
        default=ViolationStatus.pending_review, sa_type=_str_enum(ViolationStatus)
    )
    version: int = Field(default=1, sa_column=_violation_version)
    facts: dict[str, Any] = Field(sa_type=JSON)
    plate_text: str | None = Field(default=None, max_length=16)
    plate_printed: str | None = Field(default=None, max_length=32)
    plate_colour: PlateColour | None = Field(default=None, sa_type=_str_enum(PlateColour, 16))
    plate_lines: int | None = None
    plate_confidence: float | None = None
    plate_candidates: list[Any] | None = Field(default=None, sa_type=JSON)
    plate_crop_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
    plate_read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    plate_corrected_by: str | None = Field(default=None, max_length=128)
    plate_corrected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    clock_flagged: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UtcDateTime, sa_column_kwargs={"onupdate": utcnow}
    )
    # Workflow (central_server/workflow): who decided, the last reason, the legal reference.
    # User ids without a foreign key: accounts are deactivated, never deleted, and the audit
    # chain holds who did what.
    approved_by_user_id: int | None = None
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    claimed_by_user_id: int | None = Field(default=None, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reason_code: str | None = Field(default=None, max_length=64)
    reason_note: str | None = Field(default=None, sa_type=Text)
    legal_ref: str | None = Field(default=None, max_length=64)
    # Due dates (workflow/deadlines.py) and the overdue flags the scheduler's daily job sets.
    notice_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    escalation_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    record_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    overdue_notice: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    overdue_escalation: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    overdue_record: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


# ---------------------------------------------------------------- audit and keys


class AuditEvent(SQLModel, table=True):
    """One link of the append-only audit chain; `id` is the chain order (see audit.py)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: str = Field(max_length=128)
    before_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
    after_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
    prev_hash: str = Field(max_length=SHA256_HEX_LEN)
    hash: str = Field(max_length=SHA256_HEX_LEN)


class AuditDetail(SQLModel, table=True):
    """The before/after values of an audit event; retention may purge them, the chain holds."""

    __tablename__ = "audit_detail"
    event_id: int = Field(primary_key=True, foreign_key="audit_event.id")
    before: Any | None = Field(default=None, sa_type=JSON)
    after: Any | None = Field(default=None, sa_type=JSON)


class AuditHead(SQLModel, table=True):
    """The single row (id 1) holding the chain head; appends lock it."""

    __tablename__ = "audit_head"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_event_id: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=SHA256_HEX_LEN)


class AuditHeadSignature(SQLModel, table=True):
    """The chain head signed with the server key (daily)."""

    __tablename__ = "audit_head_signature"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="audit_event.id")
    head_hash: str = Field(max_length=SHA256_HEX_LEN)
    signature: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(max_length=KEY_ID_LEN)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class ServerKey(SQLModel, table=True):
    """Every public key the server has signed with, so old signatures stay verifiable."""

    __tablename__ = "server_key"
    key_id: str = Field(primary_key=True, max_length=KEY_ID_LEN)
    public_key: bytes = Field(sa_type=LargeBinary(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# Tables kept in their feature's module, imported here so that every table is on the metadata
# (Alembic's env and the schema test import this module only). Plain module imports: a feature's
# models module imports this one first, and `from ... import Name` of a module still loading fails.
import central_server.accounts.models  # noqa: E402, F401
import central_server.devices.models_enrolment  # noqa: E402, F401
import central_server.devices.models_health  # noqa: E402, F401
import central_server.devices.models_remote  # noqa: E402, F401
import central_server.public.apikeys  # noqa: E402, F401
import central_server.reports.models  # noqa: E402, F401
import central_server.retention.models  # noqa: E402, F401
import central_server.scheduler.models  # noqa: E402, F401
import central_server.workflow.models  # noqa: E402, F401
