"""A running staff API on the test database: users who log in, a clock that moves, the store.

Shared by the accounts, api and export tests (each area's conftest exposes `api_env`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.accounts.sessions import CSRF_HEADER
from central_server.accounts.settings import AuthSettings
from central_server.app import create_app
from central_server.devices.service import enrol_device
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.ingest import IngestLimits, Ingestor, ingest_once
from central_server.models import Site, Violation
from central_server.roles import Role
from central_server.server_keys import register_server_key
from central_server.settings import Settings
from protocol.chunks import split_packet
from protocol.ids import new_packet_id
from protocol.keys import generate_private_key
from protocol.topics import Topics
from tests.factories import DEVICE_ID, FIXED_TIME, fixed_device_key, make_packet
from tests.factories_db import make_site, make_user
from tests.fixtures.db import Database

PASSWORD = "Ngã tư Lê Lợi lúc 7 giờ sáng"
SECRET_KEY = "test-secret-key-" + "x" * 40
# An hour after the test packets' violation (tests.factories.FIXED_TIME): their cases are fresh.
START = FIXED_TIME + timedelta(hours=1)
# Cheap Argon2id for tests: the parameters are in each hash, so verification is cheap too.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


@functools.lru_cache(maxsize=8)
def password_hash(password: str = PASSWORD) -> str:
    """A real Argon2id hash of `password`, computed once per test session."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password)


def auth_settings(**overrides: Any) -> AuthSettings:
    """Account settings for tests: defaults, cheap hashing, no environment or .env file."""
    return AuthSettings(_env_file=None, **(FAST_HASHING | overrides))


@dataclass
class Clock:
    """The app's clock, moved by tests (sessions expire without waiting)."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@dataclass
class ApiEnv:
    """The app, its database and store, and helpers to act as users."""

    db: Database
    app: FastAPI
    clock: Clock
    store: FilesystemEvidenceStore
    server_key: Ed25519PrivateKey
    _clients: list[TestClient] = field(default_factory=list)

    def client(self, base_url: str = "http://testserver") -> TestClient:
        """A fresh client (its own cookie jar), closed at teardown."""
        client = TestClient(self.app, base_url=base_url, raise_server_exceptions=False)
        self._clients.append(client)
        return client

    def user(self, *roles: Role, password: str = PASSWORD, **overrides: Any) -> User:
        """A committed active user with `roles` who logs in with `password`."""
        with self.db.session() as session:
            user = make_user(
                session, roles=roles, password_hash=password_hash(password), **overrides
            )
        return user

    def login(
        self, user: User, *, password: str = PASSWORD, totp_code: str | None = None
    ) -> TestClient:
        """A client logged in as `user` by session cookie, sending the CSRF header."""
        client = self.client()
        body: dict[str, Any] = {"username": user.username, "password": password}
        if totp_code is not None:
            body["totp_code"] = totp_code
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.text
        client.headers[CSRF_HEADER] = response.json()["csrf_token"]
        return client

    def as_token(self, user: User) -> TestClient:
        """A client authenticated by a bearer token of `user` (no cookies, no CSRF)."""
        logged_in = self.login(user)
        response = logged_in.post("/api/v1/auth/me/tokens", json={"name": "test"})
        assert response.status_code == 201, response.text
        client = self.client()
        client.headers["Authorization"] = f"Bearer {response.json()['token']}"
        return client

    def close(self) -> None:
        """Close every client."""
        for client in self._clients:
            client.close()


SITE_ID = "dong-hoi-01"  # the site tests.factories' headers name
INGEST_LIMITS = IngestLimits(
    max_clock_skew_s=300,
    chunk_stage_ttl_s=600,
    chunk_stage_max_bytes_per_device=64 * 1024 * 1024,
    sequence_gap_report_after_s=3600,
)


def enrol_test_device(env: ApiEnv) -> None:
    """Register the test device (tests.factories' key) at its site, audited like production."""
    with env.db.session() as session:
        if session.get(Site, SITE_ID) is None:
            make_site(session, id=SITE_ID, ward="Phường Đồng Hới")
        enrol_device(
            session,
            device_id=DEVICE_ID,
            public_key=fixed_device_key().public_key(),
            actor="user:1",
            site_id=SITE_ID,
        )


def ingest_packet(env: ApiEnv, seq: int = 7, **overrides: Any) -> tuple[int, bytes]:
    """Ingest a device-signed packet (device enrolled first); returns (violation id, packet)."""
    enrol_test_device(env)
    ingestor = Ingestor(env.db.engine, env.store, env.server_key, INGEST_LIMITS)
    header, data = make_packet(seq=seq, packet_id=new_packet_id(), **overrides)
    received = header.violation.occurred_at + timedelta(seconds=10)
    for chunk in split_packet(header.packet_id, data, 1 << 20):
        outcome = ingest_once(ingestor, Topics().evidence(DEVICE_ID), chunk, received_at=received)
    assert outcome.kind.value == "stored", outcome
    with env.db.session() as session:
        violation_id = session.exec(
            select(col(Violation.id)).where(col(Violation.packet_id) == header.packet_id)
        ).one()
    return int(violation_id), data


def api_env_for(db: Database, tmp_path: Path, **auth: Any) -> Iterator[ApiEnv]:
    """Build the app on `db` with cheap hashing and a test clock; yields the env."""
    settings = Settings(
        _env_file=None,
        environment="development",
        data_dir=tmp_path,
        database_url=db.url,
        secret_key=SECRET_KEY,
    )
    store = FilesystemEvidenceStore(tmp_path / "evidence")
    app = create_app(settings, db.engine, auth_settings=auth_settings(**auth), evidence_store=store)
    clock = Clock()
    app.state.clock = clock
    server_key = generate_private_key()
    app.state.server_key = server_key
    with db.session() as session:
        register_server_key(session, server_key)
    env = ApiEnv(db, app, clock, store, server_key)
    try:
        yield env
    finally:
        env.close()
