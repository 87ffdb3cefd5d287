"""Leaders list, make and download reports; every download is audited."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import col, select

from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.fixtures.db import Database


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database, with a test clock."""
    yield from api_env_for(db, tmp_path)


def test_a_leader_makes_lists_and_downloads_a_report(api_env: ApiEnv) -> None:
    leader = api_env.user(Role.leader)
    client = api_env.login(leader)
    made = client.post("/api/v1/reports", json={"period": "2025-01"})
    assert made.status_code == 201, made.text
    report = made.json()
    assert (report["period"], report["revision"]) == ("2025-01", 1)
    assert [r["id"] for r in client.get("/api/v1/reports").json()] == [report["id"]]
    pdf = client.get(f"/api/v1/reports/{report['id']}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "BÁO CÁO KẾT QUẢ" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert client.get(f"/api/v1/reports/{report['id']}/xlsx").status_code == 200
    with api_env.db.session() as session:
        downloads = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "report.downloaded")
        ).all()
    assert [(e.actor, e.entity_id) for e in downloads] == [
        (f"user:{leader.id}", str(report["id"]))
    ] * 2


def test_a_period_not_yet_ended_is_refused(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.leader))
    response = client.post("/api/v1/reports", json={"period": "2099-01"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "period_not_ended"


def test_an_operator_may_not_download_reports(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    assert client.get("/api/v1/reports").status_code == 403
