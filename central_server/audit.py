"""The append-only audit chain: every event hashes its content and the previous event's hash.

An event's hash is the SHA-256 of the UTF-8 canonical JSON (sorted keys, no spaces, non-ASCII kept,
no NaN) of the array

    ["tw-audit-v1", id, at, actor, action, entity_type, entity_id,
     before_sha256, after_sha256, prev_hash]

where `at` is the UTC time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, a missing before/after hash is JSON
`null`, and `prev_hash` of the first event is 64 zeros. `before_sha256`/`after_sha256` are the
SHA-256 of the canonical JSON of the values, which sit in `audit_detail` so that retention can purge
them without breaking the chain. Event ids are contiguous from 1 (assigned under the head lock), so
a deleted event leaves a visible gap. Anyone can re-verify the chain from these rules alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, select
from sqlmodel import Session, col

from central_server.models import GENESIS_HASH, AuditDetail, AuditEvent, AuditHead, utcnow

logger = logging.getLogger(__name__)

HASH_VERSION = "tw-audit-v1"
HEAD_ROW_ID = 1
_VERIFY_BATCH = 1000


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return format_at(value)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def canonical_json(value: Any) -> str:
    """Serialise `value` as canonical JSON (sorted keys, no spaces, non-ASCII kept, no NaN)."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def sha256_hex(text: str) -> str:
    """Return the SHA-256 hex digest of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_at(at: dt.datetime) -> str:
    """Format an aware datetime as the chain hashes it: UTC, microseconds, `Z`."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    event_id: int,
    at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before_sha256: str | None,
    after_sha256: str | None,
    prev_hash: str,
) -> str:
    """Return an event's chain hash (the rule in this module's docstring)."""
    fields = [HASH_VERSION, event_id, format_at(at), actor, action, entity_type, entity_id]
    return sha256_hex(canonical_json([*fields, before_sha256, after_sha256, prev_hash]))


def _lock_head(session: Session) -> AuditHead:
    # FOR UPDATE serialises appenders on PostgreSQL (SQLite ignores it: there BEGIN IMMEDIATE
    # already holds the write lock); populate_existing re-reads a head cached in this session.
    statement = (
        select(AuditHead)
        .where(col(AuditHead.id) == HEAD_ROW_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head: AuditHead | None = session.execute(statement).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit chain head row missing: the schema was not created by migrations")
    return head


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int | uuid.UUID,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append an event to the chain in the caller's transaction (not committed here)."""
    head = _lock_head(session)
    before_json = None if before is None else canonical_json(before)
    after_json = None if after is None else canonical_json(after)
    event = AuditEvent(
        id=head.last_event_id + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before_sha256=None if before_json is None else sha256_hex(before_json),
        after_sha256=None if after_json is None else sha256_hex(after_json),
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = _hash_of(event)
    session.add(event)
    session.flush()
    if before_json is not None or after_json is not None:
        # Store the canonical form, so verification re-serialises exactly what was hashed.
        session.add(
            AuditDetail(
                event_id=event.id,
                before=None if before_json is None else json.loads(before_json),
                after=None if after_json is None else json.loads(after_json),
            )
        )
    head.last_event_id = event.id or 0
    head.last_hash = event.hash
    session.add(head)
    session.flush()
    return event


def _hash_of(event: AuditEvent | Row[Any]) -> str:
    return event_hash(
        event_id=event.id or 0,
        at=event.at,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        before_sha256=event.before_sha256,
        after_sha256=event.after_sha256,
        prev_hash=event.prev_hash,
    )


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """The outcome of `verify_chain`: where the chain first breaks and why."""

    ok: bool
    events_checked: int
    first_broken_event_id: int | None = None
    # What failed: "id" (events missing), "prev_hash", "hash" (the stored hash rewritten),
    # "content" (a hashed column altered), "before_sha256"/"after_sha256" (that column altered),
    # "detail.before"/"detail.after" (the stored value altered), "head".
    field: str | None = None
    reason: str | None = None


def _rows(session: Session) -> Iterator[Row[Any]]:
    # Plain rows, not ORM objects: the identity map could hand back stale, untampered copies.
    columns = [*AuditEvent.__table__.c, col(AuditDetail.before), col(AuditDetail.after)]  # type: ignore[attr-defined]
    last_id = 0
    while True:
        statement = (
            select(*columns)
            .outerjoin(AuditDetail, col(AuditDetail.event_id) == col(AuditEvent.id))
            .where(col(AuditEvent.id) > last_id)
            .order_by(col(AuditEvent.id))
            .limit(_VERIFY_BATCH)
        )
        batch = session.execute(statement).all()
        yield from batch
        if len(batch) < _VERIFY_BATCH:
            return
        last_id = batch[-1].id


def _head(session: Session) -> Row[Any] | None:
    statement = select(col(AuditHead.last_event_id), col(AuditHead.last_hash)).where(
        col(AuditHead.id) == HEAD_ROW_ID
    )
    return session.execute(statement).one_or_none()


def _successor_prev_hash(session: Session, event_id: int) -> str | None:
    """What the chain after `event_id` says its hash is (next event's prev_hash, or the head)."""
    statement = select(col(AuditEvent.prev_hash)).where(col(AuditEvent.id) == event_id + 1)
    nxt: str | None = session.execute(statement).scalar_one_or_none()
    if nxt is not None:
        return nxt
    head = _head(session)
    return str(head.last_hash) if head is not None and head.last_event_id == event_id else None


def _detail_mismatch(row: Row[Any]) -> str | None:
    for name in ("before", "after"):
        value = getattr(row, name)
        if value is None:  # purged by retention, or never recorded: the chain still holds
            continue
        if sha256_hex(canonical_json(value)) != getattr(row, f"{name}_sha256"):
            return name
    return None


def _check_row(
    session: Session, row: Row[Any], expected_id: int, prev_hash: str
) -> tuple[str, str] | None:
    """Return (field, reason) for the first check `row` fails, or None."""
    if row.id != expected_id:
        missing = f"{expected_id}" if row.id == expected_id + 1 else f"{expected_id}-{row.id - 1}"
        return "id", f"event(s) {missing} missing before event {row.id}"
    if row.prev_hash != prev_hash:
        return "prev_hash", f"prev_hash does not match the hash of event {row.id - 1}"
    detail = _detail_mismatch(row)
    computed = _hash_of(row)
    if computed != row.hash:
        if detail is not None:
            return f"{detail}_sha256", f"{detail}_sha256 altered: matches neither value nor hash"
        if _successor_prev_hash(session, row.id) == computed:
            return "hash", "the stored hash was rewritten; the chain after it disagrees"
        return "content", (
            "the event's content does not match its hash (at, actor, action, entity_type, "
            "entity_id, before_sha256 or after_sha256 altered)"
        )
    if detail is not None:
        return f"detail.{detail}", f"the stored {detail} value does not match {detail}_sha256"
    return None


def verify_chain(session: Session) -> ChainReport:
    """Recompute the whole chain and report the first broken event, if any."""
    checked, last_id, last_hash = 0, 0, GENESIS_HASH
    for row in _rows(session):
        failure = _check_row(session, row, last_id + 1, last_hash)
        if failure is not None:
            logger.error("audit chain broken at event %s: %s", row.id, failure[1])
            return ChainReport(False, checked, row.id, *failure)
        checked, last_id, last_hash = checked + 1, row.id, row.hash
    head = _head(session)
    if head is None or (head.last_event_id, head.last_hash) != (last_id, last_hash):
        broken_id = last_id + 1 if head is not None and head.last_event_id > last_id else last_id
        reason = f"the chain head does not match the last event {last_id} (events removed?)"
        logger.error("audit chain broken: %s", reason)
        return ChainReport(False, checked, broken_id, "head", reason)
    return ChainReport(True, checked)
