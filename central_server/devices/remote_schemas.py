"""Request and response bodies of the remote configuration and command API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central_server.devices.models_remote import (
    CommandState,
    DeviceCommand,
    DeviceConfigPush,
    PushState,
)
from protocol.enums import CommandName, CommandResult

MAX_TTL_S = 7 * 86400


class ConfigPushIn(BaseModel):
    """A new config for a box: the whole `DeviceConfig`, as JSON or as the YAML a technician
    writes (exactly one). It is validated with the box's own schema before it is signed."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = Field(default=None, description="The config as JSON.")
    yaml: str | None = Field(default=None, max_length=1_000_000, description="Or as YAML text.")


class ConfigPushPublic(BaseModel):
    """One signed config push and what the box did with it."""

    id: uuid.UUID
    device_id: str
    version: int
    config_sha256: str
    key_id: str
    state: PushState
    created_at: datetime
    created_by: str
    published_at: datetime | None
    answered_at: datetime | None
    message: str
    running_sha256: str | None

    @classmethod
    def of(cls, push: DeviceConfigPush) -> ConfigPushPublic:
        """From the table row."""
        return cls.model_validate(push, from_attributes=True)


class DeviceConfigView(BaseModel):
    """A box's config as the server sees it: desired (newest push), applied, and running."""

    device_id: str
    desired: ConfigPushPublic | None = Field(description="The newest push, whatever its state.")
    desired_config: dict[str, Any] | None = Field(description="Its config (camera password ***).")
    applied: ConfigPushPublic | None = Field(description="The newest push the box applied.")
    running_sha256: str | None = Field(description="Config hash of the box's latest heartbeat.")
    running_reported_at: datetime | None = Field(description="When that heartbeat came.")
    in_sync: bool = Field(description="The box runs the desired config and said it applied it.")
    pushes: list[ConfigPushPublic] = Field(description="Recent pushes, newest first.")


class CommandIn(BaseModel):
    """A command for a box: `args` as the protocol defines them, e.g. `{"name": "snapshot",
    "max_width": 1280}`, `{"name": "restart", "reason": "..."}`, `{"name": "log_upload"}`,
    `{"name": "dead_letter_resend", "packet_ids": []}`."""

    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(description="The command and its arguments (`name` first).")
    ttl_s: float | None = Field(
        default=None, gt=0, le=MAX_TTL_S, description="Lifetime; default TW_COMMAND_TTL_S."
    )


class CommandPublic(BaseModel):
    """A command, its state and the box's reply (bytes by hash: download them separately)."""

    id: uuid.UUID
    device_id: str
    name: CommandName
    args: dict[str, Any]
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    state: CommandState
    sent_at: datetime | None
    answered_at: datetime | None
    result: CommandResult | None
    message: str
    reply: dict[str, Any] | None
    reply_sha256: str | None

    @classmethod
    def of(cls, row: DeviceCommand) -> CommandPublic:
        """From the table row."""
        return cls.model_validate(row, from_attributes=True)
