from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from central_server.server_keys import (
    load_or_create_server_key,
    public_key_pem,
    register_server_key,
    server_key_id,
)
from protocol.keys import public_key_from_pem, public_key_to_raw
from tests.fixtures.db import Database


def test_the_key_is_created_private_on_first_start(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "server_ed25519.pem"
    load_or_create_server_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["server_ed25519.pem"]


def test_later_starts_load_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "server_ed25519.pem"
    first = load_or_create_server_key(path)
    again = load_or_create_server_key(str(path))
    assert public_key_pem(first) == public_key_pem(again)
    assert again.sign(b"ack") == first.sign(b"ack")  # Ed25519 signatures are deterministic


def test_public_pem_and_key_id_follow_the_contract(tmp_path: Path) -> None:
    key = load_or_create_server_key(tmp_path / "k.pem")
    pem = public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    raw = public_key_to_raw(public_key_from_pem(pem.encode("ascii")))
    assert server_key_id(key) == hashlib.sha256(raw).hexdigest()[:16]


def test_the_public_key_is_registered_once(db: Database, tmp_path: Path) -> None:
    key = load_or_create_server_key(tmp_path / "k.pem")
    with db.session() as session:
        first = register_server_key(session, key)
    with db.session() as session:
        again = register_server_key(session, key)
    assert (again.key_id, again.public_key) == (first.key_id, public_key_to_raw(key.public_key()))
