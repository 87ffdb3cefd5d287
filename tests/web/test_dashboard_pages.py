"""The leaders' dashboard over HTTP: figures by period, state and type, overdue cases, reasons by
name, devices online, the monthly reports; no faces, plates or media."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central_server.devices.models_health import DeviceHealth
from central_server.models import Device
from central_server.roles import Role
from central_server.workflow.service import Action
from protocol.enums import BehaviourCode, VehicleClass
from tests.central_server.api.harness import ApiEnv
from tests.web.conftest import PageAs, Seed
from tests.web.seed import BASE_TIME
from tests.web.steps import api_call, decide

DAY = 24 * 60


@pytest.fixture(autouse=True)
def _clock_after_the_cases(web_env: ApiEnv) -> None:
    """The app's clock two hours after the seeded cases (20/11/2026 10:30 in Vietnam)."""
    web_env.clock.now = BASE_TIME + timedelta(hours=2)


def test_the_leader_sees_figures_by_period_state_type_and_reason(
    web_env: ApiEnv, page_as: PageAs, seed: Seed
) -> None:
    seed(plate="73A-100.01")  # today, waiting
    rejected = seed(minutes=10, plate="73A-100.02")
    decide(web_env, rejected, Action.reject, "unreadable_plate")
    seed(
        minutes=-5 * DAY,
        behaviour=BehaviourCode.no_helmet,
        vehicle=VehicleClass.motorbike,
        plate="73-AA 123.45",
    )  # earlier this month
    overdue = seed(minutes=-25 * DAY, plate="73A-100.04")  # last month: not counted, overdue
    decide(web_env, overdue, Action.approve)
    client, _ = page_as(Role.leader)
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "Thống kê vi phạm" in html and "20/11/2026" in html
    figures = html.split('class="figure">')[1:3]
    assert [f.split("<")[0] for f in figures] == ["2", "3"]  # today, this month
    assert "Không đọc được biển số" in html  # the reason by name, not its code
    assert "unreadable_plate" not in html
    assert "Không đội mũ bảo hiểm khi điều khiển xe mô tô, xe gắn máy" in html
    assert f"#{overdue}" in html  # the overdue case, as a figure
    assert "/media/" not in html and "73A-100" not in html and "<img" not in html


def test_devices_online_and_offline(web_env: ApiEnv, page_as: PageAs) -> None:
    with web_env.db.session() as session:
        session.add(Device(id="cam-up", camera_id="north", enrolled_by="test"))
        session.add(Device(id="cam-down", camera_id="south", enrolled_by="test"))
        session.flush()
        session.add(DeviceHealth(device_id="cam-up", online=True))
        session.add(DeviceHealth(device_id="cam-down", online=False))
    client, _ = page_as(Role.leader)
    html = client.get("/dashboard?lang=en").text
    assert '<span class="figure">1/2</span>devices online' in html
    assert "cam-down" in html and "cam-up" not in html  # only the offline box is listed


def test_the_monthly_reports_are_listed_with_their_downloads(
    web_env: ApiEnv, page_as: PageAs
) -> None:
    client, _ = page_as(Role.leader)
    made = api_call(client, "POST", "/api/v1/reports", {"period": "2026-10"})
    html = client.get("/dashboard").text
    assert "2026-10" in html
    for fmt in ("pdf", "xlsx", "csv"):
        assert f'href="/api/v1/reports/{made["id"]}/{fmt}"' in html
    assert client.get(f"/api/v1/reports/{made['id']}/pdf").status_code == 200


@pytest.mark.parametrize("role", [Role.auditor, Role.operator, Role.police_lead, Role.technician])
def test_other_roles_get_the_403_page(page_as: PageAs, role: Role) -> None:
    client, _ = page_as(role)
    assert client.get("/dashboard").status_code == 403
