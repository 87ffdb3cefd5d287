"""Plates on violations: the server's machine reading, and a reviewer's correction beside it.

The plate workers (`plates_worker.py`) store what the reader found with `store_reading`; the
review API (`api/violations`) records what a person reads on the images with
`record_plate_correction`, the one path for a correction: it checks the plate against the
Vietnamese grammar (or takes it as typed when the reviewer marks a kind of plate outside every
shape) and audits the change. The machine's candidates stay in `plate_candidates`, so the
correction always sits beside the machine reading.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.models import Violation, utcnow
from central_server.roles import Actor
from plates import Grammar, PlateReading, load_grammar
from plates.typed import normalise_typed, read_typed, split_separators
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
    violation: Violation,
    text: str,
    actor: Actor | str,
    *,
    lines: Literal[1, 2] | None = None,
    colour: PlateColour | None = None,
    non_standard: str | None = None,
    now: datetime | None = None,
) -> Violation:
    """Record the plate a person reads on a case the caller holds locked; audited.

    The §5 grammar checks the text, taking the typed separators as a hint first (`73-A1 2346`
    stays as typed; `73A12346` on a motorbike is printed `73-A1 2346`). Text that fits no shape
    is refused (AppError 422) unless `non_standard` names a kind of plate the grammar data keeps
    outside its shapes (military, temporary, registered abroad); it is then stored as typed.
    """
    grammar = load_grammar()
    if non_standard is not None:
        plate = _non_standard(grammar, text, non_standard, lines)
    else:
        plate = _standard(grammar, violation, text, lines, colour)
    before = _plate_view(violation)
    violation.plate_text, violation.plate_printed, violation.plate_lines = plate.values
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
        entity_id=violation.id or 0,
        before=before,
        after=dict(
            _plate_view(violation),
            typed=text,
            shape=plate.shape,
            non_standard=non_standard,
            grammar=grammar.version,
        ),
    )
    return violation


@dataclass(frozen=True)
class _Corrected:
    text: str
    printed: str
    lines: int
    shape: str | None  # None for a plate marked non-standard

    @property
    def values(self) -> tuple[str, str, int]:
        return self.text[:PLATE_TEXT_MAX], self.printed[:PLATE_PRINTED_MAX], self.lines


def _standard(
    grammar: Grammar,
    violation: Violation,
    text: str,
    lines: Literal[1, 2] | None,
    colour: PlateColour | None,
) -> _Corrected:
    """A plate that must fit a §5 shape; the machine's line count only breaks ties."""
    typed = read_typed(
        grammar,
        text,
        lines=lines,
        vehicle=violation.vehicle_class.value,
        colour=colour.value if colour is not None else None,
        usual_lines=violation.plate_lines,
    )
    if typed is None:
        raise _invalid(grammar, text)
    return _Corrected(typed.parse.text, typed.printed, typed.lines, typed.parse.shape)


def _non_standard(
    grammar: Grammar, text: str, kind: str, lines: Literal[1, 2] | None
) -> _Corrected:
    """A plate marked as a kind outside every shape: letters and digits, stored as typed."""
    if kind not in grammar.spec.non_standard:
        kinds = ", ".join(grammar.spec.non_standard)
        raise AppError(
            422,
            "plate_kind_unknown",
            f"Không có loại biển “{kind}”; chọn một trong: {kinds}.",
            f"No plate kind “{kind}”; choose one of: {kinds}.",
            detail={"non_standard": kind, "kinds": list(grammar.spec.non_standard)},
        )
    compact, _ = split_separators(grammar, text)
    if not compact or not set(compact) <= set(grammar.spec.alphabet):
        raise AppError(
            422,
            "plate_characters",
            f"Biển số “{text}” chỉ được gồm chữ cái và chữ số.",
            f"“{text}”: a plate holds letters and digits only.",
            detail={"text": text},
        )
    printed = normalise_typed(grammar, text)
    return _Corrected(compact, printed, lines or (2 if " " in printed else 1), None)


def _invalid(grammar: Grammar, text: str) -> AppError:
    return AppError(
        422,
        "plate_invalid",
        f"Biển số “{text}” không đúng mẫu biển số Việt Nam (ví dụ 73A-123.45, 73-B1 123.45, "
        "29MĐ1-013.53). Biển quân đội, biển tạm thời hay xe đăng ký ở nước ngoài: hãy chọn "
        "loại biển (non_standard).",
        f"“{text}” fits no Vietnamese plate shape (e.g. 73A-123.45, 73-B1 123.45, "
        "29MĐ1-013.53). A military, temporary or foreign-registered plate: mark its kind "
        "(non_standard).",
        detail={"text": text, "non_standard_kinds": list(grammar.spec.non_standard)},
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
