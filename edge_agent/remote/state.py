"""What the box remembers about remote control across restarts (`site.remote.json`).

`seen_version` is the newest pushed config the box has acted on (applied, rolled back or refused
as invalid): a push not newer than it is a replay or the retained copy seen again, never applied
twice. `trial` is set while a new config is on probation; finding it set at start means the agent
died trying, and the previous config is put back (`config_apply.recover_interrupted_trial`).
`commands` remembers the ids of commands already run until they expire, so a redelivered or
replayed command never runs twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_agent.remote.files import write_atomic

logger = logging.getLogger(__name__)

MAX_REMEMBERED_COMMANDS = 1000


@dataclass
class Trial:
    """A pushed config on probation."""

    version: int
    sha256: str
    started_at: float  # Unix time


@dataclass
class RemoteState:
    """The remembered facts; see the module docstring."""

    seen_version: int = 0
    running_version: int | None = None  # None: the technician's own file runs
    running_sha256: str | None = None
    trial: Trial | None = None
    commands: dict[str, float] = field(default_factory=dict)  # command id -> forget after (Unix)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RemoteState:
        """Read the JSON form; raises on anything malformed."""
        trial = value.get("trial")
        return cls(
            seen_version=int(value.get("seen_version", 0)),
            running_version=_opt_int(value.get("running_version")),
            running_sha256=value.get("running_sha256"),
            trial=None if trial is None else Trial(**trial),
            commands={str(k): float(v) for k, v in value.get("commands", {}).items()},
        )

    def forget_old_commands(self, now: float) -> None:
        """Drop command ids past their expiry, and the oldest beyond the bound."""
        live = {k: v for k, v in self.commands.items() if v >= now}
        if len(live) > MAX_REMEMBERED_COMMANDS:
            newest = sorted(live.items(), key=lambda kv: kv[1])[-MAX_REMEMBERED_COMMANDS:]
            live = dict(newest)
        self.commands = live


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


class StateStore:
    """The state file, read once and rewritten atomically on every change (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state = self._load()

    def _load(self) -> RemoteState:
        try:
            return RemoteState.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return RemoteState()
        except (OSError, ValueError, TypeError) as exc:
            # Written atomically, so only a hand edit gets here: start afresh, loudly.
            logger.error("remote state %s unreadable (%s): starting from scratch", self.path, exc)
            return RemoteState()

    def read(self) -> RemoteState:
        """A copy of the state now."""
        with self._lock:
            return RemoteState.from_json(asdict(self._state))

    @contextmanager
    def update(self) -> Iterator[RemoteState]:
        """Change the state inside the block; it is saved when the block ends without error."""
        with self._lock:
            draft = RemoteState.from_json(asdict(self._state))
            yield draft
            draft.forget_old_commands(time.time())
            text = json.dumps(asdict(draft), indent=2, sort_keys=True) + "\n"
            write_atomic(self.path, text.encode("utf-8"), mode=0o600)
            self._state = draft
