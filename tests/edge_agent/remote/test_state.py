"""The box's remote-control memory and its reply spool survive restarts and stay bounded."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from edge_agent.remote import replies
from edge_agent.remote.replies import ReplySpool
from edge_agent.remote.state import MAX_REMEMBERED_COMMANDS, StateStore, Trial
from protocol.commands import CommandReply, open_reply
from protocol.enums import CommandName, CommandResult
from tests.factories import fixed_device_key


def reply(n: int) -> CommandReply:
    return CommandReply(
        command_id=uuid.UUID(int=n),
        device_id="cam-01",
        name=CommandName.restart,
        result=CommandResult.ok,
        replied_at=datetime.now(timezone.utc),
    )


def test_state_is_saved_atomically_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "site.remote.json"
    store = StateStore(path)
    with store.update() as state:
        state.seen_version, state.trial = 4, Trial(4, "ab" * 32, 1.0)
        state.commands["x"] = time.time() + 60
    again = StateStore(path).read()
    assert (again.seen_version, again.trial, list(again.commands)) == (
        4,
        Trial(4, "ab" * 32, 1.0),
        ["x"],
    )
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_failed_update_changes_nothing(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    with pytest.raises(RuntimeError), store.update() as state:
        state.seen_version = 9
        raise RuntimeError("mid-way")
    assert store.read().seen_version == 0
    assert not (tmp_path / "s.json").exists()


def test_expired_and_surplus_command_ids_are_forgotten(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    now = time.time()
    with store.update() as state:
        state.commands = {str(i): now + 100 + i for i in range(MAX_REMEMBERED_COMMANDS + 5)}
        state.commands["old"] = now - 1
    kept = store.read().commands
    assert len(kept) == MAX_REMEMBERED_COMMANDS and "old" not in kept and "0" not in kept


def test_a_corrupt_state_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json", encoding="utf-8")
    assert StateStore(path).read().seen_version == 0


def test_the_spool_sends_in_order_signed_and_keeps_what_did_not_go(tmp_path: Path) -> None:
    spool = ReplySpool(tmp_path / "replies")
    for n in (1, 2, 3):
        spool.add(reply(n))
    sent: list[bytes] = []

    def publish(data: bytes) -> bool:
        sent.append(data)
        return len(sent) < 2  # the broker goes away at the second

    assert spool.flush(fixed_device_key(), publish) == 1
    assert [p.name.split("-", 1)[1] for p in spool.pending()] == [
        f"{uuid.UUID(int=n)}.json" for n in (2, 3)
    ]

    def publish_all(data: bytes) -> bool:
        sent.append(data)
        return True

    assert spool.flush(fixed_device_key(), publish_all) == 2
    opened = [open_reply(d, fixed_device_key().public_key()).command_id.int for d in sent]
    assert opened == [1, 2, 2, 3]


def test_the_spool_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "MAX_SPOOLED", 3)
    spool = ReplySpool(tmp_path / "replies")
    for n in range(5):
        spool.add(reply(n))
    assert [p.name.split("-", 1)[1] for p in spool.pending()] == [
        f"{uuid.UUID(int=n)}.json" for n in (2, 3, 4)
    ]
