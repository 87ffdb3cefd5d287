"""The box's report on a config push, as the wire carries it (`CommandReply` named `config`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from edge_agent.remote.replies import config_reply
from protocol.commands import CommandReply, ConfigReport, config_report_id, open_reply, seal_reply
from protocol.enums import CommandName, CommandResult, ConfigApplyState
from tests.factories import fixed_device_key


def test_a_report_names_the_push_by_device_and_version_and_round_trips() -> None:
    report = ConfigReport(
        version=3, config_sha256="ab" * 32, state=ConfigApplyState.rolled_back, running_version=2
    )
    reply = config_reply("cam-01", report, "đã quay về / rolled back")
    opened = open_reply(seal_reply(reply, fixed_device_key()), fixed_device_key().public_key())

    assert opened == reply
    assert (opened.name, opened.result) == (CommandName.config, CommandResult.failed)
    assert opened.command_id == config_report_id("cam-01", 3)
    assert config_report_id("cam-01", 3) == uuid.uuid5(
        uuid.UUID("5b0f4a52-7c1e-4d59-9a57-0c6f2f1e7d21"), "cam-01/3"
    )
    assert config_report_id("cam-01", 3) != config_report_id("cam-02", 3)


def test_a_config_report_answers_only_a_push() -> None:
    base = {
        "command_id": uuid.UUID(int=1),
        "device_id": "cam-01",
        "result": "ok",
        "replied_at": datetime.now(timezone.utc),
    }
    report = {"version": 1, "state": "applied"}
    with pytest.raises(ValueError, match="config report"):
        CommandReply.model_validate(base | {"name": "restart", "config": report})
    with pytest.raises(ValueError, match="config report"):
        CommandReply.model_validate(base | {"name": "config"})
    assert CommandReply.model_validate(base | {"name": "config", "config": report}).config
