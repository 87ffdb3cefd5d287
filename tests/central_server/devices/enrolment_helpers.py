"""Shared by the enrolment, token, rotation and revocation tests (and tests/provisioning): the API
on a real-time clock, tokens, the box's enrolment request, packets through the real ingest."""

from __future__ import annotations

import base64
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

from central_server.devices.enrolment import EnrolmentSettings
from central_server.devices.tokens import create_token
from central_server.ingest import Ingestor, ingest_once
from central_server.ingest.schemas import Outcome
from central_server.models import Site
from protocol.chunks import split_packet
from protocol.ids import new_packet_id
from protocol.keys import Ed25519PrivateKey
from protocol.topics import Topics
from provisioning.signed import enrol_proof, public_pem
from tests.central_server.api.harness import INGEST_LIMITS, ApiEnv, api_env_for
from tests.factories import make_packet
from tests.factories_db import make_site
from tests.fixtures.db import Database

SITE_ID = "dong-hoi-01"  # the site tests.factories' packet headers name
BROKER_HOST = "mqtt.example.test"


def enrolment_env(db: Database, tmp_path: Path, **settings: Any) -> Generator[ApiEnv, None, None]:
    """The API on `db` whose clock reads the real time now (signed requests carry real times)."""
    envs = cast(Generator[ApiEnv, None, None], api_env_for(db, tmp_path))
    env = next(envs)
    env.clock.now = datetime.now(timezone.utc)
    fields: dict[str, Any] = {
        "device_mqtt_host": BROKER_HOST,
        "device_mqtt_port": 8883,
        "device_ntp_server": None,
    }
    env.app.state.enrolment_settings = EnrolmentSettings(_env_file=None, **(fields | settings))
    try:
        yield env
    finally:
        envs.close()


def ensure_site(env: ApiEnv, site_id: str = SITE_ID, **overrides: Any) -> str:
    """The site (made with a position unless it exists); its id."""
    with env.db.session() as session:
        if session.get(Site, site_id) is None:
            make_site(session, id=site_id, **overrides)
    return site_id


def new_token(
    env: ApiEnv, *, site_id: str = SITE_ID, ttl: timedelta = timedelta(hours=24), **kw: Any
) -> str:
    """An enrolment token made on the server side (as the CLI would), after `ensure_site`."""
    ensure_site(env, site_id)
    with env.db.session() as session:
        made = create_token(
            session, site_id=site_id, ttl=ttl, actor="test:admin", now=env.clock.now, **kw
        )
    return made.secret


def enrol_body(token: str, key: Ed25519PrivateKey, **overrides: Any) -> dict[str, Any]:
    """The JSON body the box sends to POST /api/v1/enrolment."""
    body: dict[str, Any] = {
        "token": token,
        "public_key_pem": public_pem(key),
        "proof": enrol_proof(key, token),
        "camera_id": "north",
        "software_version": "trafficwatch/test",
    }
    return body | overrides


def ingest(env: ApiEnv, key: Ed25519PrivateKey, device_id: str, seq: int) -> Outcome:
    """Send one packet signed by `key` through the real ingest; its outcome."""
    ingestor = Ingestor(env.db.engine, env.store, env.server_key, INGEST_LIMITS)
    header, data = make_packet(
        key=key, seq=seq, device_id=device_id, site_id=SITE_ID, packet_id=new_packet_id()
    )
    received = header.violation.occurred_at + timedelta(seconds=10)
    outcome = None
    for chunk in split_packet(header.packet_id, data, 1 << 20):
        outcome = ingest_once(ingestor, Topics().evidence(device_id), chunk, received_at=received)
    assert outcome is not None
    return outcome


def b64(data: bytes) -> str:
    """Base64 text."""
    return base64.b64encode(data).decode("ascii")
