"""`/tra-cuu`: the small Vietnamese search page, rendered on the server over the same lookup."""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import PUBLIC
from central_server.errors import AppError
from central_server.public import service
from central_server.public.endpoints import RateLimited, plate_key, public_state
from central_server.public.schemas import (
    VEHICLE_TYPE_LABELS_VI,
    PublicViolation,
    SearchResult,
    VehicleType,
)

router = APIRouter(tags=["public"], dependencies=[Depends(PUBLIC)], include_in_schema=False)
_FIELDS = (
    ("Biển kiểm soát", "plate"),
    ("Màu biển", "plate_colour"),
    ("Loại phương tiện", "vehicle_type"),
    ("Thời gian vi phạm", "occurred_at"),
    ("Địa điểm vi phạm", "place"),
    ("Hành vi vi phạm", "behaviour"),
    ("Trạng thái", "status"),
    ("Đơn vị phát hiện vi phạm", "detecting_unit"),
)


@cache
def _template() -> Template:
    text = resources.files("central_server.public").joinpath("templates/search.html").read_text()
    return Template(text)


def _options(selected: VehicleType) -> str:
    options = []
    for vtype, label in VEHICLE_TYPE_LABELS_VI.items():
        chosen = " selected" if vtype is selected else ""
        options.append(f'<option value="{vtype.value}"{chosen}>{html.escape(label)}</option>')
    return "".join(options)


def _cell(item: PublicViolation, name: str) -> str:
    if name == "occurred_at":
        return item.occurred_at.strftime("%H:%M, %d/%m/%Y")
    if name == "behaviour":
        return f"{html.escape(item.behaviour)} ({html.escape(item.legal_ref)})"
    value = html.escape(str(getattr(item, name)))
    if name == "status":
        css = "done" if item.status == "Đã xử phạt" else "pending"
        return f'<span class="{css}">{value}</span>'
    return value


def _table(item: PublicViolation) -> str:
    rows = [f"<tr><th>{label}</th><td>{_cell(item, name)}</td></tr>" for label, name in _FIELDS]
    unit = item.handling_unit
    place = "<br>".join(html.escape(part) for part in (unit.name, unit.address, unit.phone) if part)
    rows.append(f"<tr><th>Nơi giải quyết vụ việc</th><td>{place}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _results(result: SearchResult) -> str:
    if result.total == 0:
        return '<p class="count">Không tìm thấy vi phạm. / No violation found.</p>'
    head = f'<p class="count">Tìm thấy {result.total} vi phạm. / {result.total} found.</p>'
    return head + "".join(_table(item) for item in result.results)


def _page(plate: str, vehicle_type: VehicleType, body: str, status_code: int = 200) -> HTMLResponse:
    content = _template().substitute(
        plate=html.escape(plate), vehicle_options=_options(vehicle_type), body=body
    )
    return HTMLResponse(content, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.get("/tra-cuu", response_class=HTMLResponse)
def search_page(
    request: Request,
    bien_so: Annotated[str, Query(max_length=32)] = "",
    loai_xe: VehicleType = VehicleType.car,
) -> HTMLResponse:
    """The search form and, when a plate is given, its first 20 published violations."""
    if not bien_so:
        return _page("", loai_xe, "")
    state = public_state(request)
    client = request.client.host if request.client else "unknown"
    wait_s = state.limiter.acquire(
        "ip:" + client, state.settings.rate_per_minute, state.settings.burst
    )
    try:
        if wait_s > 0:
            raise RateLimited(wait_s)
        result = service.search(state.engine, plate_key(bien_so), loai_xe, 1)
    except AppError as exc:
        message = f'<p class="message">{html.escape(exc.message_vi)}</p>'
        response = _page(bien_so, loai_xe, message, exc.status_code)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = exc.retry_after
        return response
    return _page(bien_so, loai_xe, _results(result))
