"""Plates on violations: the server's machine reading, and a reviewer's correction beside it.

The plate workers (`plates_worker.py`) store what the reader found with `store_reading`; the
review API (issue 8) records what a person reads on the images with `record_plate_correction`,
which checks the plate against the Vietnamese grammar and audits the change. The machine's
candidates stay in `plate_candidates`, so the correction always sits beside the machine reading.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.models import Violation, utcnow
from central_server.roles import Actor
from plates import PlateReading, load_grammar
from protocol.enums import PlateColour

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 10
PLATE_TEXT_MAX = 16
PLATE_PRINTED_MAX = 32
SOURCE_SERVER = "server"
SOURCE_EDGE = "edge"


def store_reading(
    session: Session,
    violation_id: int,
    readings: Sequence[PlateReading],
    *,
    crop_sha256: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Store the server's candidates (edge ones kept after them) and, unless a person corrected
    the plate, its top reading; False when the violation does not exist."""
    current = session.exec(
        select(Violation.plate_candidates, Violation.plate_corrected_at).where(
            col(Violation.id) == violation_id
        )
    ).first()
    if current is None:
        return False
    previous, corrected_at = current
    candidates = [dict(r.to_dict(), source=SOURCE_SERVER) for r in readings[:MAX_CANDIDATES]]
    edge = [
        dict(c, source=SOURCE_EDGE)
        for c in previous or []
        if isinstance(c, dict) and c.get("source", SOURCE_EDGE) == SOURCE_EDGE
    ]
    values: dict[str, Any] = {
        "plate_candidates": candidates + edge,
        "plate_read_at": now or utcnow(),
    }
    if crop_sha256 is not None:
        values["plate_crop_sha256"] = crop_sha256
    if readings and corrected_at is None:
        top = readings[0]
        values |= {
            "plate_text": top.text[:PLATE_TEXT_MAX],
            "plate_printed": top.printed[:PLATE_PRINTED_MAX],
            "plate_colour": top.colour,
            "plate_lines": top.lines,
            "plate_confidence": round(top.confidence, 4),
        }
    # A plain UPDATE: the machine reading must not bump the case's version under a reviewer
    # (the workflow's optimistic lock guards decisions, not this background fill-in).
    session.execute(update(Violation).where(col(Violation.id) == violation_id).values(**values))
    return True


def record_plate_correction(
    session: Session,
    violation_id: int,
    text: str,
    actor: Actor | str,
    *,
    lines: Literal[1, 2] | None = None,
    colour: PlateColour | None = None,
    now: datetime | None = None,
) -> Violation:
    """Record the plate a person reads, after checking it against the §5 grammar; audited.

    Raises `AppError` 404 for an unknown violation and 422 for a text that fits no Vietnamese
    plate shape (the message says which forms are valid).
    """
    violation = session.get(Violation, violation_id, with_for_update=True)
    if violation is None:
        raise AppError(404, "violation_not_found", "Không tìm thấy vi phạm.", "No such violation.")
    layout = lines or _layout(violation.plate_lines)
    grammar = load_grammar()
    parse = grammar.match(text, lines=layout, vehicle=violation.vehicle_class.value)
    if parse is None:
        raise _invalid(text)
    layout = layout or (1 if 1 in grammar.shape(parse.shape).layouts else 2)
    before = _plate_view(violation)
    violation.plate_text = parse.text
    violation.plate_printed = grammar.printed(parse, layout)[:PLATE_PRINTED_MAX]
    violation.plate_lines = layout
    if colour is not None:
        violation.plate_colour = colour
    name = actor.audit_name if isinstance(actor, Actor) else actor
    violation.plate_corrected_by = name[:128]
    violation.plate_corrected_at = now or utcnow()
    session.add(violation)
    session.flush()
    audit.append(
        session,
        actor=name,
        action="violation.plate_corrected",
        entity_type="violation",
        entity_id=violation_id,
        before=before,
        after=dict(_plate_view(violation), shape=parse.shape, grammar=grammar.version),
    )
    return violation


def _layout(value: int | None) -> Literal[1, 2] | None:
    if value == 1:
        return 1
    if value == 2:
        return 2
    return None


def _invalid(text: str) -> AppError:
    return AppError(
        422,
        "plate_invalid",
        f"Biển số “{text}” không đúng mẫu biển số Việt Nam (ví dụ 73A-123.45, 73-B1 123.45, "
        "29MĐ1-013.53).",
        f"“{text}” fits no Vietnamese plate shape (e.g. 73A-123.45, 73-B1 123.45, 29MĐ1-013.53).",
        detail={"text": text},
    )


def _plate_view(violation: Violation) -> dict[str, Any]:
    """The plate fields the audit records, with the machine's top candidate beside them."""
    machine = next(iter(violation.plate_candidates or []), None)
    return {
        "plate_text": violation.plate_text,
        "plate_printed": violation.plate_printed,
        "plate_colour": violation.plate_colour,
        "plate_lines": violation.plate_lines,
        "machine_text": machine.get("text") if isinstance(machine, dict) else None,
    }
