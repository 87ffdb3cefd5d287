"""Conditions shared by the review queue and the staff API's case lists: scopes and filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlmodel import col

from central_server.models import Site, Violation
from central_server.roles import Actor
from protocol.enums import BehaviourCode, VehicleClass


@dataclass(frozen=True)
class QueueFilters:
    """What a reviewer narrows the queue to; empty sets and None mean no restriction."""

    site_ids: frozenset[str] = field(default_factory=frozenset)
    wards: frozenset[str] = field(default_factory=frozenset)
    behaviours: frozenset[BehaviourCode] = field(default_factory=frozenset)
    vehicle_classes: frozenset[VehicleClass] = field(default_factory=frozenset)
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None  # exclusive
    plate: str | None = None  # compact plate, exact match


def _site_ids_in_wards(wards: frozenset[str]) -> ColumnElement[bool]:
    return col(Violation.site_id).in_(select(col(Site.id)).where(col(Site.ward).in_(sorted(wards))))


def scope_condition(actor: Actor) -> ColumnElement[bool] | None:
    """Cases within the actor's scopes (site ids or wards), or None when unrestricted."""
    if not actor.scopes:
        return None
    scopes = frozenset(actor.scopes)
    return or_(col(Violation.site_id).in_(sorted(scopes)), _site_ids_in_wards(scopes))


def filter_conditions(filters: QueueFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions for `filters`."""
    conditions: list[ColumnElement[bool]] = []
    if filters.site_ids:
        conditions.append(col(Violation.site_id).in_(sorted(filters.site_ids)))
    if filters.wards:
        conditions.append(_site_ids_in_wards(filters.wards))
    if filters.behaviours:
        conditions.append(col(Violation.behaviour).in_(sorted(filters.behaviours)))
    if filters.vehicle_classes:
        conditions.append(col(Violation.vehicle_class).in_(sorted(filters.vehicle_classes)))
    if filters.occurred_from is not None:
        conditions.append(col(Violation.occurred_at) >= filters.occurred_from)
    if filters.occurred_to is not None:
        conditions.append(col(Violation.occurred_at) < filters.occurred_to)
    if filters.plate:
        conditions.append(col(Violation.plate_text) == filters.plate)
    return conditions
