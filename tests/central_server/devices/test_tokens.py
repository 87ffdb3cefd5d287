"""Enrolment tokens: made by an admin (API and CLI), shown once, stored hashed, single use."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from central_server.devices.models_enrolment import EnrolmentToken
from central_server.devices.tokens import claim_token, token_sha256
from central_server.errors import AppError
from central_server.models import AuditEvent
from central_server.roles import Role
from central_server.settings import get_settings
from protocol.keys import generate_private_key
from tests.central_server.api.harness import ApiEnv
from tests.central_server.devices.enrolment_helpers import (
    SITE_ID,
    enrol_body,
    enrolment_env,
    ensure_site,
    new_token,
)
from tests.fixtures.db import Database
from trafficwatch.cli import main

TOKENS = "/api/v1/enrolment/tokens"
TOKEN_SHAPE = re.compile(r"^TWE(-[A-Z2-7]{5}){4}$")


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    yield from enrolment_env(db, tmp_path)


def test_an_admin_makes_a_token_that_is_shown_once_and_stored_hashed(env: ApiEnv) -> None:
    ensure_site(env)
    admin = env.as_token(env.user(Role.admin))
    response = admin.post(TOKENS, json={"site_id": SITE_ID, "ttl_hours": 2, "camera_id": "north"})
    assert response.status_code == 201, response.text
    made = response.json()
    assert TOKEN_SHAPE.match(made["token"])
    with env.db.session() as session:
        row = session.exec(select(EnrolmentToken)).one()
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.action == "enrolment_token.created")
        )
        assert audit.one().entity_id == str(row.id)
    assert (
        row.token_sha256 == token_sha256(made["token"])
        and made["token"] not in row.model_dump_json()
    )
    assert row.expires_at - row.created_at == timedelta(hours=2)
    listed = admin.get(TOKENS).json()
    assert [(t["id"], t["state"], t["shown_prefix"]) for t in listed] == [
        (made["id"], "live", made["token"][:9])
    ]
    assert "token" not in listed[0]


def test_a_cancelled_token_no_longer_enrols(env: ApiEnv) -> None:
    ensure_site(env)
    admin = env.as_token(env.user(Role.admin))
    made = admin.post(TOKENS, json={"site_id": SITE_ID}).json()
    assert admin.delete(f"{TOKENS}/{made['id']}").json()["state"] == "revoked"
    body = enrol_body(made["token"], generate_private_key())
    response = env.client().post("/api/v1/enrolment", json=body)
    assert response.status_code == 410 and response.json()["error"]["code"] == "token_revoked"


def test_a_token_for_an_unknown_site_is_refused(env: ApiEnv) -> None:
    admin = env.as_token(env.user(Role.admin))
    response = admin.post(TOKENS, json={"site_id": "nowhere"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "site_not_found"


def test_two_boxes_racing_for_one_token_one_wins(env: ApiEnv) -> None:
    token = new_token(env)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def claim() -> None:
        barrier.wait()
        try:
            with env.db.session() as session:
                claim_token(session, token, now=env.clock.now)
            results.append("won")
        except AppError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=claim, name=f"claim-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["token_used", "won"]


@pytest.fixture
def server_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The CLI's settings point at the test database."""
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TW_ENV_FILE", str(tmp_path / "absent.env"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_prints_the_token_once(
    db: Database, server_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.factories_db import make_site

    with db.session() as session:
        make_site(session, id=SITE_ID)
    argv = ["server", "token", "create", "--site", SITE_ID, "--ttl", "30m", "--actor", "cli:an"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    token = next(word for word in out.split() if TOKEN_SHAPE.match(word))
    assert "Hết hạn / expires" in out and "provision enroll" in out
    assert main([*argv, "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert TOKEN_SHAPE.match(made["token"]) and made["token"] != token
    with db.session() as session:
        rows = session.exec(select(EnrolmentToken)).all()
    assert {r.token_sha256 for r in rows} == {token_sha256(token), token_sha256(made["token"])}
    assert {r.created_by for r in rows} == {"cli:an"}


def test_the_cli_names_a_bad_site_and_a_bad_ttl(
    db: Database, server_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "token", "create", "--site", "nowhere"]) == 66
    assert "nowhere" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["server", "token", "create", "--site", SITE_ID, "--ttl", "soon"])
    assert exit_info.value.code == 2
    assert "30m, 24h, 7d" in capsys.readouterr().err
