"""The ingest in a process of its own, that the fault suite kills with SIGKILL.

Child: `python -m tests.reliability.ingest_proc --client-id ID [--crash-at POINT --crash-on N]`
runs the real `trafficwatch server ingest` (settings from the `TW_*` environment). With
`--crash-at`, the process SIGKILLs itself while handling the N-th packet it stores, at a point
chosen to be the worst for exactly-once delivery:

- `before_commit`: the packet's rows and audit event are written, the transaction not committed;
- `after_commit`: committed, no ack sent, nothing PUBACKed (the broker will redeliver);
- `after_ack`: the signed ack is at the broker, the message still un-PUBACKed.

Parent: `IngestProcess` starts such children and waits for their subscription.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CRASH_POINTS = ("before_commit", "after_commit", "after_ack")
START_TIMEOUT_S = 30.0


class IngestProcess:
    """Starts, kills and restarts ingest processes sharing one broker session (client id)."""

    def __init__(self, env: Mapping[str, str], client_id: str, log_dir: Path) -> None:
        self.env = dict(env)
        self.client_id = client_id
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[str] | None = None
        self.incarnations = 0
        self._lines: queue.Queue[str] = queue.Queue()
        self._pump: threading.Thread | None = None

    def start(self, crash_at: str | None = None, crash_on: int = 1) -> None:
        """Start a child and wait until it has subscribed."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the ingest is already running")
        self.incarnations += 1
        command = [sys.executable, "-m", "tests.reliability.ingest_proc"]
        command += ["--client-id", self.client_id]
        if crash_at is not None:
            command += ["--crash-at", crash_at, "--crash-on", str(crash_on)]
        self._lines = queue.Queue()
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stderr=subprocess.PIPE, text=True
        )
        log = self.log_dir / f"ingest-{self.incarnations}.log"
        self._pump = threading.Thread(
            target=_pump, args=(self.process, log, self._lines), name="ingest-log", daemon=True
        )
        self._pump.start()
        if not self.wait_for("subscribed to", START_TIMEOUT_S):
            self.kill()
            raise RuntimeError(f"the ingest did not subscribe: see {log}")

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait for a log line containing `text` from the current child."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if text in self._lines.get(timeout=min(left, 0.2)):
                    return True
            except queue.Empty:
                if self.process is None or self.process.poll() is not None:
                    return False
        return False

    def wait_exit(self, timeout: float) -> int | None:
        """The child's exit code once it ended (None if still running after `timeout`)."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._join_pump()
        return code

    def kill(self) -> None:
        """SIGKILL the child."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._join_pump()

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(10)  # it closes the pipe at EOF
            self._pump = None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the child (a clean stop) and return its exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.terminate()
        code = self.process.wait(timeout)
        self._join_pump()
        return code


def _pump(process: subprocess.Popen[str], log: Path, lines: queue.Queue[str]) -> None:
    assert process.stderr is not None
    with process.stderr, log.open("w") as out:
        for line in process.stderr:
            out.write(line)
            out.flush()
            lines.put(line)


def ingest_env(settings: Mapping[str, object]) -> dict[str, str]:
    """The environment for a child ingest: TW_* from `settings`, no other TW_* nor .env file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TW_")}
    env["TW_ENV_FILE"] = str(Path(os.devnull))
    for name, value in settings.items():
        if value is not None:
            env[f"TW_{name.upper()}"] = str(value)
    return env


# ------------------------------------------------------------------------------------ the child


def _crash() -> None:
    # What a power cut or the OOM killer does: no finally blocks, no goodbye to the broker.
    os.kill(os.getpid(), signal.SIGKILL)


def _counting(crash_on: int, original: Callable[..., Any]) -> Any:
    """`original`, made to crash the process right after its `crash_on`-th counted call."""
    calls = {"n": 0}
    lock = threading.Lock()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if result is False:
            return None  # the call does not count (see publish_and_wait)
        with lock:
            calls["n"] += 1
            hit = calls["n"] == crash_on
        if hit:
            _crash()
        return result

    return wrapper


def install_crash(point: str, crash_on: int) -> None:
    """Make the ingest kill itself at `point` on the `crash_on`-th packet."""
    from central_server.ingest import consumer, service

    if point == "before_commit":
        service.audit_ingested = _counting(crash_on, service.audit_ingested)  # type: ignore[attr-defined]
    elif point == "after_commit":
        service.Ingestor._store = _counting(crash_on, service.Ingestor._store)  # type: ignore[method-assign]
    elif point == "after_ack":
        seen: set[bytes] = set()

        def publish_and_wait(self: Any, device_id: str, ack: bytes) -> bool:
            info = self.client.publish(self.topics.ack(device_id), ack, qos=1)
            info.wait_for_publish(10)  # the broker has it: the box will get it
            new = ack not in seen  # a re-sent ack (duplicate delivery) does not count
            seen.add(ack)
            return new

        consumer.EvidenceConsumer.publish_ack = _counting(crash_on, publish_and_wait)  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown crash point {point!r}")


def main(argv: Sequence[str]) -> int:
    """Run the ingest, with a crash installed if asked."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--crash-at", choices=CRASH_POINTS, default=None)
    parser.add_argument("--crash-on", type=int, default=1)
    args = parser.parse_args(argv)
    if args.crash_at is not None:
        install_crash(args.crash_at, args.crash_on)
    from central_server.ingest.runner import main as ingest_main

    return ingest_main(["--client-id", args.client_id])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
