"""Fixtures for the evidence export tests: a real packet ingested, then worked through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central_server.roles import Role
from central_server.scheduler.audit_head import sign_head
from tests.central_server.api.harness import ApiEnv, api_env_for, ingest_packet
from tests.fixtures.db import Database


@dataclass
class Case:
    """An ingested violation and the people who work on it."""

    env: ApiEnv
    violation_id: int
    packet: bytes

    def work_through(self) -> None:
        """The centre approves; another person, a police officer, verifies and confirms."""
        operator = self.env.login(self.env.user(Role.operator))
        officer = self.env.login(self.env.user(Role.police_officer))
        url = f"/api/v1/violations/{self.violation_id}/transitions"
        for client, action in ((operator, "approve"), (officer, "claim"), (officer, "confirm")):
            response = client.post(url, json={"action": action})
            assert response.status_code == 200, response.text

    def sign_head(self) -> None:
        """The scheduler's daily signature of the chain head."""
        with self.env.db.session() as session:
            sign_head(session, self.env.server_key, self.env.clock.now)

    def export(self) -> bytes:
        """Download the bundle as a police officer."""
        client = self.env.login(self.env.user(Role.police_officer))
        response = client.get(f"/api/v1/violations/{self.violation_id}/export")
        assert response.status_code == 200, response.text
        return response.content


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database, its clock an hour after the test packets' violation."""
    yield from api_env_for(db, tmp_path)


@pytest.fixture
def case(api_env: ApiEnv) -> Case:
    """A red-light violation ingested from a device-signed packet, pending review."""
    violation_id, data = ingest_packet(api_env)
    return Case(api_env, violation_id, data)
