"""Sites and units: create and edit (audited). Services never commit."""

from __future__ import annotations

from sqlmodel import Session, col, select

from central_server import audit
from central_server.api.master.schemas import SiteCreate, SiteIn, UnitIn
from central_server.errors import AppError
from central_server.models import Site, Unit
from central_server.roles import Actor


def list_units(session: Session) -> list[Unit]:
    """Every unit, by name."""
    return list(session.exec(select(Unit).order_by(col(Unit.name), col(Unit.id))).all())


def get_unit(session: Session, unit_id: int) -> Unit:
    """One unit (404 if absent)."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise AppError(404, "unit_not_found", "Không tìm thấy đơn vị.", f"No unit {unit_id}.")
    return unit


def _check_units(session: Session, *unit_ids: int | None) -> None:
    for unit_id in unit_ids:
        if unit_id is not None and session.get(Unit, unit_id) is None:
            raise AppError(
                422, "unit_not_found", "Đơn vị không tồn tại.", f"No unit with id {unit_id}."
            )


def save_unit(session: Session, body: UnitIn, *, actor: Actor, unit_id: int | None = None) -> Unit:
    """Create a unit, or replace one's fields when `unit_id` is given; audited."""
    unit = Unit(**body.model_dump()) if unit_id is None else get_unit(session, unit_id)
    before = None if unit_id is None else unit.model_dump(mode="json")
    for name, value in body.model_dump().items():
        setattr(unit, name, value)
    session.add(unit)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="unit.created" if before is None else "unit.updated",
        entity_type="unit",
        entity_id=unit.id or 0,
        before=before,
        after=unit.model_dump(mode="json"),
    )
    return unit


def list_sites(session: Session) -> list[Site]:
    """Every site, by id."""
    return list(session.exec(select(Site).order_by(col(Site.id))).all())


def get_site(session: Session, site_id: str) -> Site:
    """One site (404 if absent)."""
    site = session.get(Site, site_id)
    if site is None:
        raise AppError(404, "site_not_found", "Không tìm thấy điểm.", f"No site {site_id!r}.")
    return site


def create_site(session: Session, body: SiteCreate, *, actor: Actor) -> Site:
    """Register a site (409 if the id is taken); audited."""
    if session.get(Site, body.id) is not None:
        raise AppError(409, "site_exists", "Mã điểm đã tồn tại.", f"Site {body.id!r} exists.")
    _check_units(session, body.detecting_unit_id, body.handling_unit_id)
    site = Site(**body.model_dump())
    session.add(site)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="site.created",
        entity_type="site",
        entity_id=site.id,
        after=site.model_dump(mode="json"),
    )
    return site


def update_site(session: Session, site_id: str, body: SiteIn, *, actor: Actor) -> Site:
    """Replace a site's place and units; audited."""
    site = get_site(session, site_id)
    _check_units(session, body.detecting_unit_id, body.handling_unit_id)
    before = site.model_dump(mode="json")
    for name, value in body.model_dump().items():
        setattr(site, name, value)
    session.add(site)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="site.updated",
        entity_type="site",
        entity_id=site_id,
        before=before,
        after=site.model_dump(mode="json"),
    )
    return site
