"""Jinja filters: times in Asia/Ho_Chi_Minh, money in đồng, behaviour and status names.

Times are stored in UTC and shown as `dd/mm/yyyy HH:MM` in Vietnam's zone; money as
`1.500.000 ₫`; behaviours with the catalogue's Vietnamese wording (translated by gettext).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from central_server.catalogue.service import behaviour_label_vi
from central_server.models import ViolationStatus
from central_server.roles import ROLE_LABELS_VI, Role
from central_server.web.i18n import DEFAULT_LANG, Lang, as_lang, translate
from central_server.workflow.states import STATUS_LABELS_VI
from protocol.enums import BehaviourCode, VehicleClass

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DATETIME_FORMAT = "%d/%m/%Y %H:%M"
DATE_FORMAT = "%d/%m/%Y"
# Vehicle classes in the words the centre uses (msgids: translated in the English catalogue).
VEHICLE_LABELS_VI: dict[VehicleClass, str] = {
    VehicleClass.car: "Ô tô",
    VehicleClass.motorbike: "Mô tô, xe gắn máy",
    VehicleClass.bus: "Xe khách",
    VehicleClass.truck: "Xe tải",
    VehicleClass.bicycle: "Xe đạp",
    VehicleClass.other: "Phương tiện khác",
}


def _parse_time(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # stored times are UTC
    return value


def local_datetime(value: datetime | str | None) -> str:
    """`dd/mm/yyyy HH:MM` in Vietnam (empty for None)."""
    if value is None or value == "":
        return ""
    return _parse_time(value).astimezone(LOCAL_TZ).strftime(DATETIME_FORMAT)


def local_time_seconds(value: datetime | str | None) -> str:
    """`dd/mm/yyyy HH:MM:SS` in Vietnam: the data bar's precision."""
    if value is None or value == "":
        return ""
    return _parse_time(value).astimezone(LOCAL_TZ).strftime(DATETIME_FORMAT + ":%S")


def local_date(value: date | datetime | str | None) -> str:
    """`dd/mm/yyyy` (a datetime is taken in Vietnam's zone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10]) if len(value) == 10 else _parse_time(value)
    if isinstance(value, datetime):
        value = _parse_time(value).astimezone(LOCAL_TZ).date()
    return value.strftime(DATE_FORMAT)


def money(value: int | float | None) -> str:
    """`1.500.000 ₫` (dots between thousands, the đồng sign after a space)."""
    if value is None:
        return ""
    return f"{round(value):,}".replace(",", ".") + " ₫"


def number(lang: Lang, value: float | int | None, digits: int = 0) -> str:
    """A number with `digits` decimals: `1.234,5` in Vietnamese, `1,234.5` in English."""
    if value is None:
        return ""
    text = f"{float(value):,.{digits}f}"
    if lang == "en":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _lang(context: Context) -> Lang:
    return as_lang(context.get("lang")) or DEFAULT_LANG


def behaviour_name(lang: Lang, code: BehaviourCode | str) -> str:
    """The catalogue's wording of a behaviour, in `lang`."""
    try:
        behaviour = BehaviourCode(code)
    except ValueError:
        return str(code)
    return translate(lang, behaviour_label_vi(behaviour))


def status_name(lang: Lang, status: ViolationStatus | str) -> str:
    """A workflow state's name, in `lang`."""
    try:
        return translate(lang, STATUS_LABELS_VI[ViolationStatus(status)])
    except ValueError:
        return str(status)


def vehicle_name(lang: Lang, vehicle: VehicleClass | str) -> str:
    """A vehicle class, in `lang`."""
    try:
        return translate(lang, VEHICLE_LABELS_VI[VehicleClass(vehicle)])
    except ValueError:
        return str(vehicle)


def role_name(lang: Lang, role: Role | str) -> str:
    """A role's name, in `lang`."""
    try:
        return translate(lang, ROLE_LABELS_VI[Role(role)])
    except ValueError:
        return str(role)


@pass_context
def _number_filter(context: Context, value: Any, digits: int = 0) -> str:
    return number(_lang(context), value, digits)


@pass_context
def _behaviour_filter(context: Context, code: Any) -> str:
    return behaviour_name(_lang(context), code)


@pass_context
def _status_filter(context: Context, status: Any) -> str:
    return status_name(_lang(context), status)


@pass_context
def _vehicle_filter(context: Context, vehicle: Any) -> str:
    return vehicle_name(_lang(context), vehicle)


@pass_context
def _role_filter(context: Context, role: Any) -> str:
    return role_name(_lang(context), role)


def install_filters(env: Environment) -> None:
    """Register the filters: `datetime`, `datetime_s`, `date`, `money`, `number`, `behaviour`,
    `status`, `vehicle`, `role`."""
    env.filters.update(
        {
            "datetime": local_datetime,
            "datetime_s": local_time_seconds,
            "date": local_date,
            "money": money,
            "number": _number_filter,
            "behaviour": _behaviour_filter,
            "status": _status_filter,
            "vehicle": _vehicle_filter,
            "role": _role_filter,
        }
    )
