"""Commands from the server: verify, refuse what is not ours, stale or already run; run; answer.

A command must verify against the server's key and name this box; past its `expires_at` (or an
hour after `issued_at` when it has none) it is answered `expired`; its id is recorded before it
runs, so a redelivered or replayed command is refused rather than run twice (at most once).
Every outcome, refusals included, is logged and answered on the reply topic.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edge_agent.capture.base import Frame
from edge_agent.dead_letter import DeadLetterStore
from edge_agent.outbox import Outbox
from edge_agent.remote.frames import SnapshotError, snapshot
from edge_agent.remote.logs import RecentLog
from edge_agent.remote.state import StateStore
from protocol.canonical import loads_canonical
from protocol.commands import (
    Command,
    CommandReply,
    DeadLetterResendArgs,
    LogUploadArgs,
    RestartArgs,
    SnapshotArgs,
    open_command,
)
from protocol.enums import CommandName, CommandResult
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PublicKey

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_S = 3600.0  # a command without an expiry is refused an hour after it was issued
SNAPSHOT_MAX_AGE_S = 10.0  # a calibration snapshot must show the scene as it is now


@dataclass(frozen=True)
class CommandTools:
    """What running a command needs from the live agent (replaced at every restart)."""

    latest_frame: Callable[[], Frame | None]
    outbox: Callable[[], Outbox | None]
    log: RecentLog | None = None
    snapshot_max_age_s: float = SNAPSHOT_MAX_AGE_S


@dataclass(frozen=True)
class Answer:
    """A reply to send, and the restart to do once it is safely spooled."""

    reply: CommandReply
    restart: str | None = None  # the reason, when the agent must restart


def _claimed(data: bytes) -> tuple[uuid.UUID, CommandName] | None:
    """Id and name an unverified command claims: only to address the refusal."""
    try:
        envelope = loads_canonical(data, "command", require_canonical=False)
        body = loads_canonical(envelope["body"], "command body", require_canonical=False)
        name = CommandName(body["args"]["name"])
        return uuid.UUID(str(body["command_id"])), name
    except Exception:
        return None


class CommandRunner:
    """Checks and runs the commands of one box."""

    def __init__(
        self,
        device_id: str,
        server_key: Ed25519PublicKey,
        store: StateStore,
        tools: CommandTools,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        self.device_id = device_id
        self.server_key = server_key
        self.store = store
        self.tools = tools
        self.max_age_s = max_age_s

    def handle(self, data: bytes, now: datetime | None = None) -> Answer | None:
        """The answer to one sealed command; None when it cannot even be addressed."""
        now = now or datetime.now(timezone.utc)
        try:
            command = open_command(data, self.server_key)
        except ProtocolError as exc:
            claimed = _claimed(data)
            logger.warning(
                "refused command %s: it does not verify: %s", claimed[0] if claimed else "?", exc
            )
            if claimed is None:
                return None
            message = f"lệnh không hợp lệ hoặc không do máy chủ ký / not accepted: {exc}"
            return Answer(self._reply(*claimed, CommandResult.refused, message, now))
        refusal = self._refusal(command, now)
        if refusal is not None:
            result, message = refusal
            logger.warning("command %s (%s): %s", command.command_id, command.name.value, message)
            return Answer(self._reply(command.command_id, command.name, result, message, now))
        logger.info("running command %s (%s)", command.command_id, command.name.value)
        return self._run(command, now)

    def _refusal(self, command: Command, now: datetime) -> tuple[CommandResult, str] | None:
        if command.device_id != self.device_id:
            return CommandResult.refused, (
                f"lệnh dành cho thiết bị {command.device_id} / the command is for device "
                f"{command.device_id}, not {self.device_id}"
            )
        expires = command.expires_at or command.issued_at + timedelta(seconds=self.max_age_s)
        if now > expires:
            return CommandResult.expired, (
                f"lệnh hết hạn lúc {expires.isoformat()} (giờ thiết bị {now.isoformat()}) / "
                f"expired at {expires.isoformat()} (box clock {now.isoformat()})"
            )
        key = str(command.command_id)
        with self.store.update() as state:
            replay = key in state.commands
            state.commands[key] = expires.timestamp()
        if replay:
            return CommandResult.refused, "lệnh đã được thực hiện / already run (a replay)"
        return None

    def _run(self, command: Command, now: datetime) -> Answer:
        args, name, cid = command.args, command.name, command.command_id
        try:
            if isinstance(args, RestartArgs):
                message = f"đang khởi động lại / restarting: {args.reason}".rstrip(": ")
                return Answer(self._reply(cid, name, CommandResult.ok, message, now), args.reason)
            if isinstance(args, SnapshotArgs):
                frame = self.tools.latest_frame()
                image = snapshot(frame, args, self.tools.snapshot_max_age_s)
                return Answer(self._reply(cid, name, CommandResult.ok, "", now, snapshot=image))
            if isinstance(args, LogUploadArgs):
                return Answer(self._log(command, args, now))
            return Answer(self._resend(command, args, now))
        except SnapshotError as exc:
            return Answer(self._reply(cid, name, CommandResult.failed, str(exc), now))
        except Exception as exc:  # a failed command is answered, never fatal to the agent
            logger.exception("command %s (%s) failed", cid, name.value)
            message = f"lỗi khi thực hiện / failed: {type(exc).__name__}: {exc}"
            return Answer(self._reply(cid, name, CommandResult.failed, message, now))

    def _log(self, command: Command, args: LogUploadArgs, now: datetime) -> CommandReply:
        cid, name = command.command_id, command.name
        if self.tools.log is None:
            message = "không lưu nhật ký trong bộ nhớ / no in-memory log on this box"
            return self._reply(cid, name, CommandResult.failed, message, now)
        log = self.tools.log.upload(args, self.device_id, now)
        note = " (cắt bớt / truncated)" if log.truncated else ""
        message = f"{len(log.data)} byte{note}"
        return self._reply(cid, name, CommandResult.ok, message, now, log=log)

    def _resend(self, command: Command, args: DeadLetterResendArgs, now: datetime) -> CommandReply:
        cid, name = command.command_id, command.name
        outbox = self.tools.outbox()
        if outbox is None:
            message = "tác tử đang khởi động lại, hãy thử lại / the agent is restarting: retry"
            return self._reply(cid, name, CommandResult.failed, message, now)
        moved = DeadLetterStore(outbox).resend(args.packet_ids or None)
        missing = [str(p) for p in args.packet_ids if p not in moved]
        message = f"đã gửi lại {len(moved)} gói / requeued {len(moved)} packets"
        if missing:
            message += f"; không tìm thấy / not found: {', '.join(missing)}"
        return self._reply(cid, name, CommandResult.ok, message[:1000], now, resent=moved)

    def _reply(
        self,
        command_id: uuid.UUID,
        name: CommandName,
        result: CommandResult,
        message: str,
        now: datetime,
        **payload: object,
    ) -> CommandReply:
        return CommandReply.model_validate(
            {
                "command_id": command_id,
                "device_id": self.device_id,
                "name": name,
                "result": result,
                "message": message[:1000],
                "replied_at": now,
                **payload,
            }
        )
