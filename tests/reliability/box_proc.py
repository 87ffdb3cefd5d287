"""A box in a process of its own, so that the fault suite's `kill -9` is a real one.

Child: `python -m tests.reliability.box_proc --config JSON --log-dir DIR --key-file PEM
--server-key HEX --seq-start N --count N [--interval S] [--drain]` starts the box, prints `ready`,
hands `count` packets to the outbox (sequence numbers from `seq-start`: the parent gives every
incarnation its own range, as a box reserves sequence numbers before using them), then either
drains (prints `done` and exits 0 once the outbox is empty) or publishes until SIGTERM.

Parent: `BoxProcess` starts, kills and waits for such children.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from protocol.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_raw,
    public_key_to_raw,
)
from tests.reliability.box import Box, BoxConfig
from tests.reliability.oracle import BoxPaths

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class BoxProcess:
    """The parent's handle on one box directory, run by a series of child processes."""

    def __init__(
        self,
        log_dir: Path,
        config: BoxConfig,
        key: Ed25519PrivateKey,
        server_public_key: Ed25519PublicKey,
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.config = config
        self.paths = BoxPaths(log_dir, log_dir / "outbox.db")
        self.key_file = log_dir / "device.pem"
        self.key_file.write_bytes(private_key_to_pem(key))
        self._server_key = public_key_to_raw(server_public_key).hex()
        self.process: subprocess.Popen[str] | None = None
        self.incarnations = 0

    def start(
        self, *, seq_start: int, count: int, interval: float = 0.02, drain: bool = False
    ) -> None:
        """Start a child and wait until its publisher runs."""
        if self.running():
            raise RuntimeError("the box is already running")
        self.incarnations += 1
        stderr = (self.log_dir / f"box-{self.incarnations}.log").open("w")
        command = [sys.executable, "-m", "tests.reliability.box_proc"]
        command += ["--config", json.dumps(dataclasses.asdict(self.config))]
        command += ["--log-dir", str(self.log_dir), "--key-file", str(self.key_file)]
        command += ["--server-key", self._server_key, "--seq-start", str(seq_start)]
        command += ["--count", str(count), "--interval", str(interval)]
        command += ["--drain"] if drain else []
        with stderr:
            self.process = subprocess.Popen(
                command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        if self.next_line(START_TIMEOUT_S) != "ready":
            self.kill()
            raise RuntimeError(f"box did not start: see {self.log_dir}")

    def next_line(self, timeout: float) -> str | None:
        """The child's next line on stdout, or None on timeout or exit."""
        assert self.process is not None and self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not readable:
            return None
        line = self.process.stdout.readline()
        return line.strip() or None

    def running(self) -> bool:
        """Whether a child is alive."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the child: no goodbye, nothing flushed that was not already durable."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._close()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the child (a clean stop) and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout)
        self._close()
        return code

    def wait_done(self, timeout: float) -> bool:
        """Wait for a draining child to report an empty outbox and exit."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            line = self.next_line(left)
            if line == "done":
                assert self.process is not None
                self.process.wait(timeout)
                self._close()
                return True
            if line is None and not self.running():
                return False
        return False

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


# ------------------------------------------------------------------------------------ the child


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="BoxConfig as JSON")
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--server-key", required=True, help="raw server public key, hex")
    parser.add_argument("--seq-start", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--drain", action="store_true")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run one incarnation of the box."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(message)s")
    stop = threading.Event()

    def _on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_term)
    box = Box(
        args.log_dir,
        BoxConfig(**json.loads(args.config)),
        private_key_from_pem(args.key_file.read_bytes()),
        public_key_from_raw(bytes.fromhex(args.server_key)),
    )
    box.start()
    print("ready", flush=True)
    for seq in range(args.seq_start, args.seq_start + args.count):
        if stop.wait(args.interval):
            break
        box.produce(seq)
    while not stop.is_set():
        if args.drain and box.depth() == 0:
            print("done", flush=True)
            break
        stop.wait(0.05)
    box.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
