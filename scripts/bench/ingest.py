#!/usr/bin/env python3
"""Ingest benchmark: evidence packets per second through the real broker, ingest and database.

N simulated boxes (default 50; `ingest_load.py`: a few processes, each driving several device
identities with its own paho client and verifying every signed ack) send the reference packet
(`reference.py`, ~980 KB in 256 KiB chunks) through the broker to `trafficwatch server ingest`
(`--ingest-workers` processes on a shared subscription) and the database: PostgreSQL when
TEST_DATABASE_URL is set (a fresh schema, dropped afterwards), SQLite otherwise.

Three phases of `--seconds` each, the first `--warmup` seconds of each not counted:
1. broker baseline: the same boxes, client, QoS, chunks and topic layout, to subscribers that only
   count (as many as ingest workers, on a shared subscription): packets per second the broker
   alone delivers;
2. saturated: each box sends as soon as fewer than `--in-flight` of its packets lack an ack;
   packets_per_s is the rate of verified acks, mb_per_s that times the packet size (10^6 bytes);
3. latency: each box sends on a schedule at 70 % of the saturated rate; p50/p99 of publish → ack.

The boxes are light-weight (paho clients, no outbox): a full outbox per box would measure the
boxes' disks. Every packet repeats the reference media, so the content-addressed evidence store
writes only each new whole-packet blob; real traffic also writes its five parts (about twice the
bytes and six times the fsyncs per packet).

Prints readable lines, then one JSON line: {"packets_per_s", "mb_per_s", "p50_ms", "p99_ms",
"ratio_vs_broker", "db"}. Targets on a 2-core machine: packets_per_s >= 40 into PostgreSQL,
ratio_vs_broker >= 0.5 (`--check` exits 1 when missed, and refuses SQLite).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ingest_load import device_id, device_key  # noqa: E402  (imports reference first)
from reference import ROOT, reference_packet  # noqa: E402

from protocol.chunks import split_packet  # noqa: E402
from protocol.keys import public_key_to_raw  # noqa: E402

TARGET_PPS, TARGET_RATIO = 40.0, 0.5
REFUSE_SQLITE = (
    "Mục tiêu được đo trên PostgreSQL: hãy đặt TEST_DATABASE_URL. "
    "The target is measured on PostgreSQL: set TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test)."
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--boxes", type=int, default=50, help="simulated boxes (default 50)")
    p.add_argument("--drivers", type=int, default=2, help="processes driving the boxes")
    p.add_argument("--ingest-workers", type=int, default=2, help="ingest processes")
    p.add_argument("--ingest-threads", type=int, default=2, help="worker threads per ingest")
    p.add_argument("--in-flight", type=int, default=1, help="unacked packets per box")
    p.add_argument("--chunk-size", type=int, default=256 * 1024, help="default 256 KiB")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    p.add_argument("--warmup", type=float, default=4.0, help="uncounted start of each phase")
    p.add_argument("--mqtt-host", default="127.0.0.1")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--data-dir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--require-postgres", action="store_true", help="refuse to run on SQLite")
    p.add_argument("--check", action="store_true", help="exit 1 below target (needs PostgreSQL)")
    return p


class Database:
    """PostgreSQL (a fresh schema) when TEST_DATABASE_URL is set, else a SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        from sqlalchemy.engine import make_url

        base = os.environ.get("TEST_DATABASE_URL")
        self.kind = "postgresql" if base else "sqlite"
        self.schema = f"ingest_bench_{uuid.uuid4().hex[:10]}"
        if base:
            query = {"options": f"-csearch_path={self.schema}", "application_name": self.schema}
            self.url = make_url(base).update_query_dict(query).render_as_string(False)
            self._admin(f'CREATE SCHEMA "{self.schema}"')
        else:
            self.url = f"sqlite:///{data_dir / 'trafficwatch.db'}"

    def _admin(self, *statements: str) -> None:
        from sqlalchemy import text

        from central_server.db import make_engine

        engine = make_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    def drop(self) -> None:
        """Remove the benchmark's schema (PostgreSQL)."""
        if self.kind == "postgresql":
            self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE application_name = '{self.schema}' AND pid <> pg_backend_pid()",
                f'DROP SCHEMA "{self.schema}" CASCADE',
            )


def _prepare(db: Database, data_dir: Path, boxes: int) -> str:
    """Migrate, create the server key, enrol the boxes; return the server's public key (hex)."""
    from central_server import db as server_db
    from central_server.devices.service import enrol_device
    from central_server.server_keys import load_or_create_server_key

    server_db.upgrade(db.url)
    key = load_or_create_server_key(data_dir / "keys" / "server_ed25519.pem")
    engine = server_db.make_engine(db.url)
    try:
        with server_db.session_scope(engine) as session:
            for i in range(boxes):
                public_key = device_key(i).public_key()
                enrol_device(session, device_id=device_id(i), public_key=public_key, actor="bench")
    finally:
        engine.dispose()
    return public_key_to_raw(key.public_key()).hex()


class Child:
    """A child process whose stdout we read line by line (its stderr goes to a log file)."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("w") as err:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )

    def line(self) -> str:
        """The next line on stdout ('' at the end)."""
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _wait_in_log(child: Child, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in child.log.read_text(errors="replace"):
            return
        if child.process.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"{child.log} never said {text!r}:\n{child.log.read_text()[-2000:]}")


def _start_ingests(args: argparse.Namespace, db: Database, prefix: str, stack: ExitStack) -> None:
    """Start the ingest processes (`trafficwatch server ingest`) and wait for them to subscribe."""
    data_dir = args.data_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("TW_")}
    env |= {
        "TW_ENV_FILE": os.devnull,
        "TW_DATA_DIR": str(data_dir),
        "TW_DATABASE_URL": db.url,
        "TW_MQTT_HOST": args.mqtt_host,
        "TW_MQTT_PORT": str(args.mqtt_port),
        "TW_TOPIC_PREFIX": prefix,
        "TW_INGEST_SHARED_GROUP": "bench",
        "TW_INGEST_WORKERS": str(args.ingest_threads),
    }
    for n in range(args.ingest_workers):
        command = [sys.executable, "-m", "trafficwatch.cli", "server", "ingest"]
        command += ["--client-id", f"bench-ingest-{n}-{prefix.split('/')[1]}"]
        child = Child(command, data_dir / f"ingest-{n}.log", env)
        stack.callback(child.stop)
        _wait_in_log(child, "subscribed to")


@dataclass(frozen=True)
class Phase:
    """What the box drivers saw in one phase (times are CLOCK_MONOTONIC, shared by processes)."""

    started: float
    acks: list[tuple[float, float]]  # (first chunk published, verified ack received)
    bad_acks: int
    repeated_acks: int

    def window(self, args: argparse.Namespace) -> tuple[float, float]:
        """The counted part of the phase: after the warm-up, before the end."""
        return self.started + args.warmup, self.started + args.seconds


def _run_boxes(
    args: argparse.Namespace, mode: str, prefix: str, server_key: str, **extra: float
) -> Phase:
    """Run the box drivers for one phase and merge their results."""
    per = -(-args.boxes // args.drivers)
    children = []
    for first in range(0, args.boxes, per):
        command = [sys.executable, str(HERE / "ingest_load.py"), "boxes", "--mode", mode]
        command += ["--first", str(first), "--count", str(min(per, args.boxes - first))]
        command += ["--prefix", prefix, "--server-key", server_key, "--seconds", str(args.seconds)]
        command += ["--in-flight", str(args.in_flight), "--chunk-size", str(args.chunk_size)]
        command += ["--mqtt-host", args.mqtt_host, "--mqtt-port", str(args.mqtt_port)]
        for name, value in extra.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        children.append(Child(command, args.data_dir / f"boxes-{mode}-{first}.log"))
    results = []
    for child in children:
        line = child.line()
        child.stop()
        if not line:
            raise SystemExit(f"a box driver failed:\n{child.log.read_text()[-2000:]}")
        results.append(json.loads(line))
    return Phase(
        started=max(float(r["started"]) for r in results),
        acks=[(float(a), float(b)) for r in results for a, b in r["acks"]],
        bad_acks=sum(int(r["bad_acks"]) for r in results),
        repeated_acks=sum(int(r["repeated_acks"]) for r in results),
    )


def _rate(times: list[float], window: tuple[float, float]) -> float:
    return sum(1 for t in times if window[0] <= t < window[1]) / (window[1] - window[0])


def broker_baseline(args: argparse.Namespace, chunks: int) -> float:
    """Packets per second the broker alone delivers to subscribers that only count."""
    prefix = f"twbench/{uuid.uuid4().hex[:8]}/v1"
    counters = []
    for n in range(args.ingest_workers):
        command = [sys.executable, str(HERE / "ingest_load.py"), "counter"]
        command += ["--subscription", f"$share/count/{prefix}/+/evidence"]
        command += ["--mqtt-host", args.mqtt_host, "--mqtt-port", str(args.mqtt_port)]
        counters.append(Child(command, args.data_dir / f"counter-{n}.log"))
    for counter in counters:
        if counter.line() != "ready":
            raise SystemExit(f"a counter failed:\n{counter.log.read_text()[-2000:]}")
    phase = _run_boxes(args, "broker", prefix, "", seq_base=0)
    arrivals: list[float] = []
    for counter in counters:
        counter.process.terminate()
        arrivals += json.loads(counter.line())["times"]
        counter.stop()
    return _rate(arrivals, phase.window(args)) / chunks


def ingest_phases(
    args: argparse.Namespace, prefix: str, server_key: str
) -> tuple[float, list[float], Phase]:
    """The saturated ack rate, the latencies (s) at 70 % of it, and the saturated phase."""
    saturated = _run_boxes(args, "saturate", prefix, server_key, seq_base=1_000_000)
    if saturated.bad_acks:
        raise SystemExit(f"{saturated.bad_acks} acks did not verify or were not `stored`")
    pps = _rate([received for _, received in saturated.acks], saturated.window(args))
    interval = args.boxes / (0.7 * pps)
    paced = _run_boxes(
        args, "rate", prefix, server_key, seq_base=2_000_000, interval=interval, in_flight=8
    )
    window = paced.window(args)
    latencies = [got - sent for sent, got in paced.acks if window[0] <= sent < window[1]]
    return pps, latencies, saturated


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure(args: argparse.Namespace, stack: ExitStack) -> tuple[dict[str, object], float]:
    """Prepare the database, run the three phases; the figures and the broker's rate."""
    db = Database(args.data_dir)
    stack.callback(db.drop)
    server_key = _prepare(db, args.data_dir, args.boxes)
    header, data = reference_packet(device_key(0), 0, device_id(0))
    chunks = len(split_packet(header.packet_id, data, args.chunk_size))
    print(f"{args.boxes} boxes ({args.drivers} processes), {args.ingest_workers} ingest processes")
    print(f"x {args.ingest_threads} threads, database {db.kind}; {len(data)}-byte packets")
    broker_pps = broker_baseline(args, chunks)
    print(f"broker alone: {broker_pps:.1f} packets/s in {chunks} chunks of {args.chunk_size}")
    prefix = f"twbench/{uuid.uuid4().hex[:8]}/v1"
    with ExitStack() as ingests:
        _start_ingests(args, db, prefix, ingests)
        pps, latencies, saturated = ingest_phases(args, prefix, server_key)
    print(f"ingest: {pps:.1f} packets/s saturated ({saturated.repeated_acks} repeated acks);")
    print(f"latency at 70 %: {len(latencies)} packets")
    figures: dict[str, object] = {
        "packets_per_s": round(pps, 1),
        "mb_per_s": round(pps * len(data) / 1e6, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "ratio_vs_broker": round(pps / broker_pps, 3) if broker_pps else None,
        "db": db.kind,
    }
    return figures, broker_pps


def main() -> int:
    """Measure and print the figures."""
    args = _parser().parse_args()
    if (args.require_postgres or args.check) and not os.environ.get("TEST_DATABASE_URL"):
        print(REFUSE_SQLITE, file=sys.stderr)
        return 2
    with ExitStack() as stack:
        if args.data_dir is None:
            temporary = tempfile.TemporaryDirectory(prefix="twbench-")
            args.data_dir = Path(stack.enter_context(temporary))
        args.data_dir.mkdir(parents=True, exist_ok=True)
        figures, _ = measure(args, stack)
    pps, ratio = float(str(figures["packets_per_s"])), figures["ratio_vs_broker"]
    print(f"targets: packets_per_s >= {TARGET_PPS:.0f} into PostgreSQL, ratio >= {TARGET_RATIO}")
    print(json.dumps(figures))
    missed = pps < TARGET_PPS or not isinstance(ratio, float) or ratio < TARGET_RATIO
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
