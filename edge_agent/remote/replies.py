"""Replies waiting to go out: spooled as files, sealed with the device key when published.

A reply is written to the spool first and deleted only after the broker's PUBACK, so an answer
survives the pipeline restart it announces (a restart, a config trial) and a broker outage.
They are kept unsigned (plain JSON) so that the start-up recovery, which runs before any key is
loaded, can leave a report too; `flush` seals each one as it goes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from edge_agent.remote.files import fsync_dir, write_atomic
from protocol.commands import CommandReply, ConfigReport, config_report_id, seal_reply
from protocol.enums import CommandName, CommandResult, ConfigApplyState
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PrivateKey

logger = logging.getLogger(__name__)

MAX_SPOOLED = 200  # a box cut off for weeks keeps its newest answers, not an ever-growing folder
_RESULT_OF = {
    ConfigApplyState.applied: CommandResult.ok,
    ConfigApplyState.rolled_back: CommandResult.failed,
    ConfigApplyState.refused: CommandResult.refused,
}


def config_reply(device_id: str, report: ConfigReport, message: str) -> CommandReply:
    """The reply that reports on a config push."""
    return CommandReply(
        command_id=config_report_id(device_id, report.version),
        device_id=device_id,
        name=CommandName.config,
        result=_RESULT_OF[report.state],
        message=message[:1000],
        replied_at=datetime.now(timezone.utc),
        config=report,
    )


class ReplySpool:
    """A folder of replies waiting for the broker."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, reply: CommandReply) -> None:
        """Keep `reply` until it is published."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{reply.command_id}.json"
        write_atomic(self.directory / name, reply.model_dump_json().encode("utf-8"), mode=0o600)
        self._bound()

    def pending(self) -> list[Path]:
        """Spooled replies, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def _bound(self) -> None:
        files = self.pending()
        for path in files[: max(len(files) - MAX_SPOOLED, 0)]:
            logger.warning("reply spool full: dropping the oldest reply %s", path.name)
            path.unlink(missing_ok=True)

    def flush(self, key: Ed25519PrivateKey, publish: Callable[[bytes], bool]) -> int:
        """Seal and publish spooled replies in order until one fails; returns how many went."""
        sent = 0
        for path in self.pending():
            try:
                reply = CommandReply.model_validate_json(path.read_bytes())
                data = seal_reply(reply, key)
            except (OSError, ValidationError, ProtocolError) as exc:
                logger.error("dropping unusable spooled reply %s: %s", path.name, exc)
                path.unlink(missing_ok=True)
                continue
            if not publish(data):
                break
            path.unlink(missing_ok=True)
            sent += 1
            logger.info(
                "reply %s (%s: %s) sent", reply.command_id, reply.name.value, reply.result.value
            )
        if sent:
            fsync_dir(self.directory)
        return sent
