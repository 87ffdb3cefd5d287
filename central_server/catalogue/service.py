"""Look up the clause, fine range and points in force for a behaviour at a given time.

The catalogue ships as data files in `central_server/catalogue/data/` (one per decree version,
built from the decree's text by `central_server.catalogue.build`), each valid from its
`effective_from` (inclusive) to its `effective_to` (exclusive, or open). A violation is judged by
the catalogue in force on its own date in Vietnam, whatever has changed since.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from central_server.workflow.deadlines import local_date
from protocol.enums import BehaviourCode, VehicleClass

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

# Short public wording of each behaviour (the national lookup's "Hành vi vi phạm").
BEHAVIOUR_LABELS_VI: dict[BehaviourCode, str] = {
    BehaviourCode.red_light: "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông",
    BehaviourCode.wrong_lane: "Đi không đúng phần đường hoặc làn đường quy định",
    BehaviourCode.solid_line: "Không chấp hành chỉ dẫn của vạch kẻ đường",
    BehaviourCode.illegal_lane_change: "Chuyển làn đường không đúng nơi cho phép",
    BehaviourCode.no_helmet: "Không đội mũ bảo hiểm khi điều khiển xe mô tô, xe gắn máy",
    BehaviourCode.passenger_no_helmet: "Chở người ngồi trên xe không đội mũ bảo hiểm",
    BehaviourCode.wrong_way: "Đi ngược chiều của đường một chiều",
}


@dataclass(frozen=True)
class CatalogueEntry:
    """One clause (or point) of a decree as the catalogue holds it."""

    decree: str  # "168/2024/NĐ-CP"
    ref: str  # "6.9.b": article.clause.point
    legal_ref: str  # "168/2024 6.9.b", as the public lookup shows it
    text_vi: str
    fine_min: int  # VND, individuals
    fine_max: int
    org_fine_min: int  # VND, organisations
    org_fine_max: int
    points: int  # licence points deducted
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class Catalogue:
    """One version of the catalogue (one decree, one validity period)."""

    id: str
    decree: str
    short: str
    effective_from: date
    effective_to: date | None
    clauses: dict[str, dict[str, Any]]
    behaviours: dict[str, dict[str, str]]

    def in_force(self, on: date) -> bool:
        """Whether this version applies to a violation on `on`."""
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def entry(self, ref: str) -> CatalogueEntry | None:
        """The clause `ref` of this version, if it fines anything."""
        clause = self.clauses.get(ref)
        if clause is None:
            return None
        return CatalogueEntry(
            decree=self.decree,
            ref=ref,
            legal_ref=f"{self.short} {ref}",
            text_vi=clause["text_vi"],
            fine_min=clause["fine_min"],
            fine_max=clause["fine_max"],
            org_fine_min=clause["org_fine_min"],
            org_fine_max=clause["org_fine_max"],
            points=clause["points"],
            effective_from=self.effective_from,
            effective_to=self.effective_to,
        )


def _parse(document: dict[str, Any]) -> Catalogue:
    until = document.get("effective_to")
    return Catalogue(
        id=document["id"],
        decree=document["decree"],
        short=document["short"],
        effective_from=date.fromisoformat(document["effective_from"]),
        effective_to=date.fromisoformat(until) if until else None,
        clauses={clause["ref"]: clause for clause in document["clauses"]},
        behaviours=document["behaviours"],
    )


@functools.lru_cache(maxsize=4)
def load_catalogues(data_dir: Path = DATA_DIR) -> tuple[Catalogue, ...]:
    """Every catalogue version shipped, oldest first (read once per process)."""
    versions = [
        _parse(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(data_dir.glob("*.json"))
    ]
    return tuple(sorted(versions, key=lambda c: c.effective_from))


def catalogue_on(on: date) -> Catalogue | None:
    """The catalogue version in force on `on`, if any."""
    for catalogue in reversed(load_catalogues()):
        if catalogue.in_force(on):
            return catalogue
    return None


def lookup(
    behaviour: BehaviourCode, vehicle_class: VehicleClass, at: datetime
) -> CatalogueEntry | None:
    """The clause that fines `behaviour` by `vehicle_class` at `at` (None: not catalogued)."""
    catalogue = catalogue_on(local_date(at))
    if catalogue is None:
        logger.warning("no violation catalogue in force on %s", local_date(at))
        return None
    ref = catalogue.behaviours.get(behaviour.value, {}).get(vehicle_class.value)
    return None if ref is None else catalogue.entry(ref)


def clause(ref: str, at: datetime) -> CatalogueEntry | None:
    """Clause `ref` ("7.7.c") of the catalogue in force at `at`."""
    catalogue = catalogue_on(local_date(at))
    return None if catalogue is None else catalogue.entry(ref)


def behaviour_label_vi(behaviour: BehaviourCode) -> str:
    """The public Vietnamese wording of a behaviour."""
    return BEHAVIOUR_LABELS_VI.get(behaviour, behaviour.value)
