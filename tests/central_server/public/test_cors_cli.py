"""CORS for the configured origins only, and `trafficwatch server apikey create`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from central_server.app import create_app
from central_server.models import AuditEvent
from central_server.public.cli import create, list_command, revoke_command
from central_server.settings import Settings, get_settings
from tests.central_server.api.harness import SECRET_KEY, auth_settings
from tests.central_server.public.conftest import SEARCH
from tests.fixtures.db import Database

APP_ORIGIN = "https://smartcity.hue.gov.vn"
PARAMS = {"plate": "73A12345", "vehicle_type": "oto"}


@pytest.fixture
def cors_client(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with one allowed origin (from the environment, as in production)."""
    monkeypatch.setenv("TW_PUBLIC_CORS_ORIGINS", f'["{APP_ORIGIN}"]')
    settings = Settings(_env_file=None, database_url=db.url, secret_key=SECRET_KEY)
    app = create_app(settings, db.engine, auth_settings=auth_settings())
    with TestClient(app) as client:  # the lifespan closes the search engine's pool
        yield client


def test_the_configured_origin_may_call_the_public_api(cors_client: TestClient) -> None:
    answer = cors_client.get(SEARCH, params=PARAMS, headers={"Origin": APP_ORIGIN})
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    preflight = cors_client.options(
        SEARCH,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert preflight.status_code == 200
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()


def test_other_origins_and_the_staff_api_get_no_cors(cors_client: TestClient) -> None:
    other = cors_client.get(SEARCH, params=PARAMS, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    staff = cors_client.get("/api/v1/auth/me", headers={"Origin": APP_ORIGIN})
    assert "access-control-allow-origin" not in staff.headers


def test_the_cli_creates_a_key_that_works(
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    get_settings.cache_clear()  # the CLI reads the process-wide settings: make it see this URL
    try:
        assert create(["--name", "SmartCity Huế", "--rate-per-minute", "1200"]) == 0
    finally:
        get_settings.cache_clear()
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("twk_")
    settings = Settings(_env_file=None, database_url=db.url, secret_key=SECRET_KEY)
    app = create_app(settings, db.engine, auth_settings=auth_settings())
    with TestClient(app) as client:
        answer = client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key})
        assert answer.status_code == 200
        assert (
            client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key + "x"}).status_code == 401
        )


def test_a_revoked_key_is_listed_as_revoked_refused_and_audited(
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        assert create(["--name", "SmartCity", "--rate-per-minute", "600"]) == 0
        key = capsys.readouterr().out.strip().splitlines()[-1]
        assert list_command([]) == 0
        prefix = capsys.readouterr().out.split("…")[0]
        assert key.startswith(prefix)
        assert revoke_command([prefix]) == 0
        assert revoke_command([prefix]) == 1  # nothing live under that prefix any more
        assert list_command([]) == 0
        assert "revoked" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    with db.session() as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert {"public_api_key.created", "public_api_key.revoked"} <= set(actions)
    settings = Settings(_env_file=None, database_url=db.url, secret_key=SECRET_KEY)
    app = create_app(settings, db.engine, auth_settings=auth_settings())
    with TestClient(app) as client:
        answer = client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key})
        assert answer.status_code == 401
