"""Administration as the pages show it: users, master data, devices, and a QR code for TOTP.

Reads only: every change is the browser calling the staff API (users, sites, units, reason codes,
holidays, alarms), which checks the permission, validates and audits it. Only the TOTP seed is
made by a page (`pages_account`), so that its QR code is drawn here on the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from reportlab.graphics.barcode.qr import QrCodeWidget
from sqlmodel import Session, select

from central_server.accounts import service as accounts
from central_server.accounts.models import User
from central_server.accounts.permissions import Permission
from central_server.api.master import service as master
from central_server.devices import fleet_service
from central_server.devices.fleet_schemas import AlarmPublic, DeviceHealthPublic
from central_server.models import Site, Unit
from central_server.roles import Role
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.workflow import calendar, reasons
from central_server.workflow.models import DeadlineRule, Holiday, ReasonCode

# The administration's own tabs (the header shows only its entry point).
ADMIN_TABS: list[NavItem] = [
    NavItem("/admin/users", N_("Tài khoản"), Permission.user_manage, order=1),
    NavItem("/admin/sites", N_("Điểm giám sát"), Permission.master_read, order=2),
    NavItem("/admin/units", N_("Đơn vị"), Permission.master_read, order=3),
    NavItem("/admin/reasons", N_("Lý do"), Permission.master_read, order=4),
    NavItem("/admin/holidays", N_("Lịch nghỉ, thời hạn"), Permission.master_read, order=5),
    NavItem("/admin/devices", N_("Thiết bị"), Permission.master_read, order=6),
    NavItem("/admin/audit", N_("Nhật ký"), Permission.audit_read, order=7),
]
QR_MODULE_PX = 4
QR_QUIET_MODULES = 4


def admin_tabs(permissions: frozenset[Permission]) -> list[NavItem]:
    """The administration tabs a user may open."""
    return [tab for tab in ADMIN_TABS if tab.permission in permissions]


@dataclass(frozen=True)
class UserRow:
    """An account as the list shows it (never a hash or a seed)."""

    user: User
    roles: list[Role]
    unit_name: str
    locked: bool


def user_rows(session: Session, now: datetime) -> list[UserRow]:
    """Every account with its roles and unit."""
    units = {u.id: u.name for u in master.list_units(session)}
    return [
        UserRow(
            user=user,
            roles=[Role(r) for r in user.roles if r in Role._value2member_map_],
            unit_name=units.get(user.unit_id, "") if user.unit_id else "",
            locked=user.locked_until is not None and user.locked_until > now,
        )
        for user in accounts.list_users(session)
    ]


def user_row(session: Session, user_id: int, now: datetime) -> UserRow:
    """One account (AppError 404)."""
    user = accounts.get_user(session, user_id)
    unit = session.get(Unit, user.unit_id) if user.unit_id else None
    return UserRow(
        user=user,
        roles=[Role(r) for r in user.roles if r in Role._value2member_map_],
        unit_name=unit.name if unit else "",
        locked=user.locked_until is not None and user.locked_until > now,
    )


def scope_choices(session: Session) -> tuple[list[Site], list[str]]:
    """The sites and the wards a user's scope may name."""
    sites = master.list_sites(session)
    wards = sorted({site.ward for site in sites if site.ward})
    return sites, wards


def units(session: Session) -> list[Unit]:
    """Every unit, by name."""
    return master.list_units(session)


def sites(session: Session) -> list[Site]:
    """Every site, by id."""
    return master.list_sites(session)


def reason_codes(session: Session) -> list[ReasonCode]:
    """Every reason code, inactive ones too (they are deactivated, never deleted)."""
    return reasons.list_reasons(session, include_inactive=True)


def holidays(session: Session, year: int) -> list[Holiday]:
    """The days off and weekend days worked of one year."""
    return calendar.list_holidays(session, year=year)


def deadline_rules(session: Session) -> list[DeadlineRule]:
    """The deadline rules by kind and effective date."""
    return calendar.list_deadline_rules(session)


@dataclass(frozen=True)
class DeviceView:
    """A box with its health and its open fleet alarms."""

    health: DeviceHealthPublic
    site_name: str
    alarms: list[AlarmPublic]

    @property
    def disk_free_share(self) -> float | None:
        """Free share of the evidence disk, 0..1."""
        h = self.health
        if not h.disk_total_bytes or h.disk_free_bytes is None:
            return None
        return h.disk_free_bytes / h.disk_total_bytes


def devices(session: Session) -> list[DeviceView]:
    """Every box with its health (latest heartbeat) and open alarms, by id."""
    names = {site.id: site.name for site in session.exec(select(Site)).all()}
    alarms: dict[str, list[AlarmPublic]] = {}
    for alarm in fleet_service.list_alarms(session, open_only=True, limit=1000):
        alarms.setdefault(alarm.device_id, []).append(alarm)
    return [
        DeviceView(
            row, names.get(row.site_id or "", row.site_id or ""), alarms.get(row.device_id, [])
        )
        for row in fleet_service.list_health(session)
    ]


def pretty_json(value: Any) -> str | None:
    """Audit values as a person reads them (Vietnamese letters kept, not \\u-escaped)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def qr_svg(text: str, label: str) -> Markup:
    """A QR code of `text` as inline SVG (drawn here: the page loads nothing from elsewhere)."""
    widget = QrCodeWidget(text, barLevel="M")
    widget.draw()  # builds the module matrix
    code = widget.qr
    count = code.getModuleCount()
    size = count + 2 * QR_QUIET_MODULES
    cells = [
        f"M{col + QR_QUIET_MODULES} {row + QR_QUIET_MODULES}h1v1h-1z"
        for row in range(count)
        for col in range(count)
        if code.isDark(row, col)
    ]
    pixels = size * QR_MODULE_PX
    return Markup(
        f'<svg viewBox="0 0 {size} {size}" width="{pixels}" height="{pixels}" role="img" '
        f'aria-label="{escape(label)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{"".join(cells)}" fill="#000"/></svg>'
    )
