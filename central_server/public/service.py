"""The lookup itself: exact compact plate (D/Đ folded) and vehicle type, newest first, 20 a page.

Reads `published_violation` only, so an unpublished case can change neither an answer nor its
timing. Hits and misses run the same single indexed query.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlmodel import col

from central_server.db import SQLITE_DEFERRED
from central_server.public.normalise import stored_forms
from central_server.public.schemas import (
    PAGE_SIZE,
    VEHICLE_CLASSES,
    HandlingUnit,
    PublicViolation,
    SearchResult,
    VehicleType,
)
from central_server.workflow.models import PublishedViolation as PV

# Vietnam keeps UTC+7 all year (no daylight saving): a fixed offset needs no tz database.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
_COLUMNS = (
    col(PV.plate),
    col(PV.plate_printed),
    col(PV.plate_colour_vi),
    col(PV.vehicle_type_vi),
    col(PV.occurred_at),
    col(PV.place),
    col(PV.behaviour_vi),
    col(PV.legal_ref),
    col(PV.status_vi),
    col(PV.detecting_unit),
    col(PV.handling_unit),
    col(PV.handling_unit_address),
    col(PV.handling_unit_phone),
)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM_TIME)


def _row(row: Any) -> PublicViolation:
    return PublicViolation(
        plate=row.plate_printed or row.plate,
        plate_colour=row.plate_colour_vi,
        vehicle_type=row.vehicle_type_vi,
        occurred_at=_local(row.occurred_at),
        place=row.place,
        behaviour=row.behaviour_vi,
        legal_ref=row.legal_ref,
        status=row.status_vi,
        detecting_unit=row.detecting_unit,
        handling_unit=HandlingUnit(
            name=row.handling_unit,
            address=row.handling_unit_address,
            phone=row.handling_unit_phone,
        ),
    )


def _reader(engine: Engine) -> Connection:
    # SQLite: a deferred BEGIN, so searches never queue behind writers for the write lock.
    return engine.execution_options(**{SQLITE_DEFERRED: True}).connect()


def search(engine: Engine, key: str, vehicle_type: VehicleType, page: int) -> SearchResult:
    """One page of the violations published under the plate `key` (a folded search key)."""
    where = (
        col(PV.plate).in_(stored_forms(key)),
        col(PV.vehicle_class).in_(VEHICLE_CLASSES[vehicle_type]),
    )
    # One round trip: the page's rows carry the total (a window count over every match).
    query = (
        select(*_COLUMNS, func.count().over().label("total"))
        .where(*where)
        .order_by(col(PV.occurred_at).desc(), col(PV.violation_id).desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    with _reader(engine) as conn:
        rows = conn.execute(query).all()
    total = int(rows[0].total) if rows else 0
    if not rows and page > 1:
        # Past the last page: the window saw nothing, so count separately (rare).
        with _reader(engine) as conn:
            total = int(
                conn.execute(select(func.count()).select_from(PV).where(*where)).scalar_one()
            )
    return SearchResult(
        plate=key,
        vehicle_type=vehicle_type,
        page=page,
        page_size=PAGE_SIZE,
        total=total,
        results=[_row(row) for row in rows],
    )
