"""The remote worker (`tw-remote`): takes config and cmd messages off the inbox, answers them,
and hands restarts and config trials to the supervisor, which owns the agent's life cycle.

It keeps running while the supervisor restarts the agent, so commands that arrive meanwhile are
answered (those needing the agent say it is restarting) and spooled replies go out through the
next connection.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from dataclasses import dataclass

from edge_agent.remote.commands import CommandRunner, CommandTools
from edge_agent.remote.config_apply import Verdict, check_push, report
from edge_agent.remote.files import ConfigFiles
from edge_agent.remote.inbox import RemoteInbox
from edge_agent.remote.replies import ReplySpool, config_reply
from edge_agent.remote.state import StateStore
from protocol.config import SignedConfig
from protocol.enums import ConfigApplyState
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

POLL_S = 0.5


@dataclass(frozen=True)
class Restart:
    """Restart the pipeline on the config in force."""

    reason: str


@dataclass(frozen=True)
class ApplyConfig:
    """Try a verified, newer config."""

    signed: SignedConfig


Action = Restart | ApplyConfig


@dataclass
class Keys:
    """The device key (signs replies) and the server's public key (checks configs, commands)."""

    device: Ed25519PrivateKey
    server: Ed25519PublicKey


class RemoteControl:
    """Config and command handling for one box; `start()` once, `stop()` once."""

    def __init__(
        self,
        files: ConfigFiles,
        device_id: str,
        keys: Keys,
        tools: CommandTools,
        command_max_age_s: float,
    ) -> None:
        self.device_id = device_id
        self.keys = keys
        self.inbox = RemoteInbox(device_id)
        self.store = StateStore(files.state)
        self.spool = ReplySpool(files.replies)
        self.runner = CommandRunner(device_id, keys.server, self.store, tools, command_max_age_s)
        self.actions: queue.Queue[Action] = queue.Queue()
        self._queued_version = 0
        self._refused: set[str] = set()  # pushes refused in this process: answered once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tw-remote", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the worker thread (spooled replies stay on disk for the next run)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def take_action(self) -> Action | None:
        """The next restart or config trial the supervisor should do, if any."""
        try:
            return self.actions.get_nowait()
        except queue.Empty:
            return None

    def report_config(
        self, state: ConfigApplyState, version: int | None, sha: str | None, message: str
    ) -> None:
        """Spool the report on a config push, with what runs now (the worker sends it)."""
        done = report(self.store.read(), state, version, sha)
        self.spool.add(config_reply(self.device_id, done, message))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                kind, payload = self.inbox.messages.get(timeout=POLL_S)
            except queue.Empty:
                pass
            else:
                self._guarded(kind, payload)
            if self.inbox.connected and self.spool.pending():
                try:
                    self.spool.flush(self.keys.device, self.inbox.publish_reply)
                except Exception:  # a full disk, say: keep the worker, try again later
                    logger.exception("cannot send the spooled replies")

    def _guarded(self, kind: TopicKind, payload: bytes) -> None:
        try:
            if kind is TopicKind.config:
                self._on_config(payload)
            else:
                self._on_command(payload)
        except Exception:  # one bad message must not end remote control
            logger.exception("failed to handle a %s message", kind.value)

    def _on_config(self, payload: bytes) -> None:
        if not payload:  # the server cleared the retained config: nothing to apply
            return
        newest = max(self.store.read().seen_version, self._queued_version)
        check = check_push(payload, self.keys.server, self.device_id, newest)
        if check.verdict is Verdict.seen:
            logger.info("config version %s is the one already acted on", check.version)
            return
        if check.verdict is Verdict.refuse:
            fingerprint = hashlib.sha256(payload).hexdigest()
            logger.warning("refused config version %s: %s", check.version, check.reason)
            if fingerprint not in self._refused:  # the retained copy comes at every connection
                self._refused.add(fingerprint)
                self.report_config(
                    ConfigApplyState.refused, check.version, check.sha256, check.reason
                )
            return
        assert check.signed is not None and check.version is not None
        logger.warning("config version %d received: trying it", check.version)
        self._queued_version = check.version
        self.actions.put(ApplyConfig(check.signed))

    def _on_command(self, payload: bytes) -> None:
        answer = self.runner.handle(payload)
        if answer is None:
            return
        self.spool.add(answer.reply)
        if answer.restart is not None:
            self.actions.put(Restart(answer.restart))
