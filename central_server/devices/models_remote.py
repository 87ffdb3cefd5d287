"""Remote configuration and command tables: what the server pushed or asked, and what the box said.

`device_config_push` holds every signed config push (the sealed bytes exactly as published) and
its fate; `device_command` every command and the box's reply. Both are written by the staff API
as `pending` and published by the control client (`devices.control`), so a push survives a broker
outage and the API never waits for MQTT.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from central_server.models import KEY_ID_LEN, SHA256_HEX_LEN, UtcDateTime, _str_enum, utcnow
from protocol.enums import CommandName, CommandResult


class PushState(str, Enum):
    """A config push's life: published, then applied, rolled back or refused by the box."""

    pending = "pending"  # signed and stored; the control client has not published it yet
    published = "published"  # retained on the box's config topic; no answer yet
    applied = "applied"
    rolled_back = "rolled_back"
    refused = "refused"
    superseded = "superseded"  # a newer push replaced it before the box answered


class CommandState(str, Enum):
    """A command's life."""

    pending = "pending"  # stored; not yet published
    sent = "sent"  # published to the box; no reply yet
    answered = "answered"  # the box replied (see `result`)
    expired = "expired"  # no reply before `expires_at`


class DeviceConfigPush(SQLModel, table=True):
    """One signed config for one box; `id` is the id the box's report carries."""

    __tablename__ = "device_config_push"
    __table_args__ = (
        UniqueConstraint("device_id", "version"),
        Index("ix_device_config_push_state", "state"),
    )
    id: uuid.UUID = Field(primary_key=True)  # protocol.commands.config_report_id(device, version)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    version: int
    config_sha256: str = Field(max_length=SHA256_HEX_LEN)
    key_id: str = Field(max_length=KEY_ID_LEN)
    sealed: bytes = Field(sa_type=LargeBinary)
    state: PushState = Field(default=PushState.pending, sa_type=_str_enum(PushState))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(max_length=128)
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    message: str = Field(default="", sa_type=Text)
    running_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)


class DeviceCommand(SQLModel, table=True):
    """One command for one box and its reply (binary payloads in the evidence store)."""

    __tablename__ = "device_command"
    __table_args__ = (Index("ix_device_command_state", "state"),)
    id: uuid.UUID = Field(primary_key=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    name: CommandName = Field(sa_type=_str_enum(CommandName))
    args: dict[str, Any] = Field(sa_type=JSON)
    issued_at: datetime = Field(sa_type=UtcDateTime)
    issued_by: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    sealed: bytes = Field(sa_type=LargeBinary)
    state: CommandState = Field(default=CommandState.pending, sa_type=_str_enum(CommandState))
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    result: CommandResult | None = Field(default=None, sa_type=_str_enum(CommandResult, 16))
    message: str = Field(default="", sa_type=Text)
    # The reply without its bytes: snapshot/log described by sha256 (bytes in the evidence
    # store), resent packet ids; `reply_sha256` names the signed reply as received.
    reply: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reply_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
