"""Server → box commands and the box's replies, both sealed (signed) messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from protocol.enums import CommandName, CommandResult, ConfigApplyState
from protocol.fields import Blob, DeviceId, Sha256Hex, ShortText, UtcDatetime, WireModel
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from protocol.sealed import KIND_COMMAND, KIND_REPLY, seal, unseal

__all__ = [
    "Command",
    "CommandArgs",
    "CommandReply",
    "ConfigReport",
    "DeadLetterResendArgs",
    "LogFile",
    "LogUploadArgs",
    "RestartArgs",
    "SnapshotArgs",
    "SnapshotImage",
    "config_report_id",
    "open_command",
    "open_reply",
    "seal_command",
    "seal_reply",
]

MAX_REPLY_DATA = 6 * 1024 * 1024  # leaves room for base64 inside the 8 MiB sealed limit
# Names the reply to a config push: uuid5(this, "<device_id>/<version>") (`config_report_id`).
CONFIG_REPORT_NAMESPACE = uuid.UUID("5b0f4a52-7c1e-4d59-9a57-0c6f2f1e7d21")


class SnapshotArgs(WireModel):
    """Take a full-resolution still for calibration."""

    name: Literal[CommandName.snapshot] = Field(
        default=CommandName.snapshot, description="Command."
    )
    max_width: int | None = Field(default=None, gt=0, description="Downscale wider frames to this.")
    jpeg_quality: int = Field(default=90, ge=1, le=100, description="JPEG quality, 1..100.")


class RestartArgs(WireModel):
    """Restart the edge agent."""

    name: Literal[CommandName.restart] = Field(default=CommandName.restart, description="Command.")
    reason: ShortText = Field(default="", description="Why; written to the box's log.")


class LogUploadArgs(WireModel):
    """Send the agent's recent log."""

    name: Literal[CommandName.log_upload] = Field(
        default=CommandName.log_upload, description="Command."
    )
    since: UtcDatetime | None = Field(default=None, description="Oldest log record wanted (UTC).")
    max_bytes: int = Field(
        default=1024 * 1024, gt=0, le=MAX_REPLY_DATA, description="Cap on the uploaded log size."
    )


class DeadLetterResendArgs(WireModel):
    """Publish dead letters again (after the server was fixed or a key registered)."""

    name: Literal[CommandName.dead_letter_resend] = Field(
        default=CommandName.dead_letter_resend, description="Command."
    )
    packet_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000, description="Packets to resend; empty means all."
    )


CommandArgs = Annotated[
    SnapshotArgs | RestartArgs | LogUploadArgs | DeadLetterResendArgs,
    Field(discriminator="name"),
]


class Command(WireModel):
    """One command for one box; the box refuses it once expired."""

    command_id: uuid.UUID = Field(description="Id the reply refers to.")
    device_id: DeviceId = Field(description="Box the command is for.")
    issued_at: UtcDatetime = Field(description="When the server issued it (UTC).")
    expires_at: UtcDatetime | None = Field(default=None, description="Refuse after this (UTC).")
    args: CommandArgs = Field(description="The command and its arguments.")

    @property
    def name(self) -> CommandName:
        """The command's name."""
        return self.args.name

    def expired(self, now: datetime) -> bool:
        """True when `now` is past the command's expiry."""
        return self.expires_at is not None and now > self.expires_at


class SnapshotImage(WireModel):
    """A still taken for calibration."""

    mime: Literal["image/jpeg"] = Field(default="image/jpeg", description="Image type.")
    width: int = Field(gt=0, description="Width, pixels.")
    height: int = Field(gt=0, description="Height, pixels.")
    captured_at: UtcDatetime = Field(description="Capture time (UTC).")
    data: Blob = Field(max_length=MAX_REPLY_DATA, description="JPEG bytes (base64 in JSON).")


class LogFile(WireModel):
    """An uploaded log."""

    filename: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="File name.")
    mime: Literal["text/plain", "application/gzip"] = Field(description="Log encoding.")
    data: Blob = Field(max_length=MAX_REPLY_DATA, description="Log bytes (base64 in JSON).")
    truncated: bool = Field(default=False, description="True when cut to max_bytes.")


class ConfigReport(WireModel):
    """What the box did with a pushed config: the payload of a reply named `config`."""

    version: int | None = Field(
        default=None, ge=1, description="Version pushed; None when the push could not be read."
    )
    config_sha256: Sha256Hex | None = Field(
        default=None, description="Hash of the pushed config, when it could be read."
    )
    state: ConfigApplyState = Field(description="applied, rolled_back or refused.")
    running_sha256: Sha256Hex | None = Field(
        default=None, description="Hash of the config the box runs after this."
    )
    running_version: int | None = Field(
        default=None, ge=1, description="Pushed version the box runs; None: its local file."
    )


def config_report_id(device_id: str, version: int | None) -> uuid.UUID:
    """The `command_id` of the reply that reports on config `version` pushed to `device_id`."""
    return uuid.uuid5(CONFIG_REPORT_NAMESPACE, f"{device_id}/{version}")


class CommandReply(WireModel):
    """The box's answer to a command, signed with the device key."""

    command_id: uuid.UUID = Field(description="Command answered.")
    device_id: DeviceId = Field(description="Box answering.")
    name: CommandName = Field(description="Command answered.")
    result: CommandResult = Field(description="ok, failed, expired or unsupported.")
    message: str = Field(default="", max_length=1000, description="Detail, Vietnamese first.")
    replied_at: UtcDatetime = Field(description="When the box answered (UTC).")
    snapshot: SnapshotImage | None = Field(default=None, description="Snapshot result.")
    log: LogFile | None = Field(default=None, description="Log upload result.")
    resent: list[uuid.UUID] = Field(
        default_factory=list, description="Dead letters queued again for publishing."
    )
    config: ConfigReport | None = Field(
        default=None, description="Config push report (answers name=config)."
    )

    @model_validator(mode="after")
    def _payload_fits_command(self) -> CommandReply:
        if self.snapshot is not None and self.name is not CommandName.snapshot:
            raise ValueError("a snapshot only answers the snapshot command")
        if self.log is not None and self.name is not CommandName.log_upload:
            raise ValueError("a log only answers the log_upload command")
        if self.resent and self.name is not CommandName.dead_letter_resend:
            raise ValueError("resent ids only answer the dead_letter_resend command")
        if (self.config is not None) != (self.name is CommandName.config):
            raise ValueError("a config report answers a config push, and only it")
        return self


def seal_command(command: Command, server_key: Ed25519PrivateKey) -> bytes:
    """Sign a command with the server (control) key."""
    return seal(KIND_COMMAND, command, server_key)


def open_command(
    data: bytes | bytearray | memoryview, server_public_key: Ed25519PublicKey
) -> Command:
    """Verify and decode a command on the box."""
    return unseal(KIND_COMMAND, data, Command, server_public_key)


def seal_reply(reply: CommandReply, device_key: Ed25519PrivateKey) -> bytes:
    """Sign a reply with the device key."""
    return seal(KIND_REPLY, reply, device_key)


def open_reply(
    data: bytes | bytearray | memoryview, device_public_key: Ed25519PublicKey
) -> CommandReply:
    """Verify and decode a reply on the server."""
    return unseal(KIND_REPLY, data, CommandReply, device_public_key)
