#!/usr/bin/env python3
"""Public search benchmark: open-loop load on `/api/public/v1/violations` over PostgreSQL.

- 1,000,000 rows bulk-loaded (COPY) into `published_violation` of a fresh PostgreSQL schema
  (200,000 plates, five cases each; the benchmark drops that table's foreign key to `violation`,
  which the read path never touches, instead of loading a million cases behind it).
- The API runs under uvicorn (`--workers`, 2 by default: the machine has 2 cores), started after
  the load so its caches are cold; PostgreSQL's own buffers are whatever the load left.
- A separate process sends an open-loop load on loopback: requests are scheduled at a constant
  rate, latency counts from each request's scheduled send time, at most 50 connections (raw
  HTTP/1.1 keep-alive, so the client costs little CPU), the city app's API key on each request,
  plates drawn from 100,000 distinct values of which 20 % are published.
- Any non-200 answer fails the step. Steps from 300 req/s upward; req_per_s is the highest rate
  whose p99 ≤ 50 ms with no failure (if 300 fails, halving rates find what still passes);
  p50/p99/hit_miss_gap are those of the first (300 req/s) step.

Ends with one JSON line: {"req_per_s", "p50_ms", "p99_ms", "hit_miss_gap_ms"} (+ details).
Timing on a shared machine varies: figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

P99_TARGET_MS = 50.0
PROVINCES = ["73", "74", "29", "30", "43", "51", "75", "92"]
LETTERS = "ABCDEFGHKLMNPSTUVXYZ"
CLASSES = ["car", "motorbike", "truck"]
TYPES = {"car": "oto", "truck": "oto", "motorbike": "xemay"}
COLUMNS = (
    "violation_id plate plate_printed plate_colour plate_colour_vi vehicle_class vehicle_type_vi "
    "occurred_at place behaviour behaviour_vi legal_ref status_vi penalized detecting_unit "
    "handling_unit handling_unit_address handling_unit_phone published_at updated_at"
).split()


def _class(plate: str) -> str:
    """The vehicle class every case of `plate` has (stable across processes, unlike hash())."""
    return CLASSES[zlib.crc32(plate.encode()) % len(CLASSES)]


def _plate(rng: random.Random) -> str:
    return rng.choice(PROVINCES) + rng.choice(LETTERS) + f"{rng.randrange(100000):05d}"


def _plates(rng: random.Random, stored: int, misses: int) -> tuple[list[str], list[str]]:
    """`stored` distinct plates to publish and `misses` distinct plates never published."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < stored + misses:
        plate = _plate(rng)
        if plate not in seen:
            seen.add(plate)
            out.append(plate)
    return out[:stored], out[stored:]


def _rows(plates: list[str], per_plate: int, rng: random.Random) -> Any:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    vid = 0
    for plate in plates:
        vclass = _class(plate)
        for _ in range(per_plate):
            vid += 1
            when = start + timedelta(seconds=rng.randrange(300 * 86400))
            printed = f"{plate[:3]}-{plate[3:6]}.{plate[6:]}"
            yield (
                vid, plate, printed, "white", "Nền trắng, chữ đen", vclass,
                "Ô tô" if vclass != "motorbike" else "Xe máy", when,
                "Ngã tư Hùng Vương - Lý Thường Kiệt, Phường Đồng Hới, Quảng Trị", "red_light",
                "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông", "168/2024 6.9.b",
                "Chưa xử phạt", False, "Trung tâm Giám sát giao thông",
                "Phòng CSGT Công an tỉnh Quảng Trị", "Số 1 Hùng Vương, Đồng Hới", "0232 3822 111",
                when, when,
            )  # fmt: skip


def _load(url: str, plates: list[str], per_plate: int) -> float:
    """COPY the rows in; returns seconds taken."""
    import psycopg

    from central_server.db import normalise_url

    dsn = normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    began = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "ALTER TABLE published_violation DROP CONSTRAINT IF EXISTS "
            "fk_published_violation_violation_id_violation"
        )
        with conn.cursor() as cur:
            with cur.copy(f"COPY published_violation ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in _rows(plates, per_plate, random.Random(2)):
                    copy.write_row(row)
        conn.commit()
    # As a table in service would be: vacuumed and its pages written out, so neither autovacuum
    # nor the checkpoint after a million-row load runs during the measurement.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) published_violation")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - began


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(url: str, port: int, workers: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "TW_DATABASE_URL": url,
        "TW_DATA_DIR": data_dir,
        "TW_SECRET_KEY": "bench-" + "k" * 40,
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "uvicorn", "central_server.app:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env, cwd=data_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _ready(port):
            _wait_idle(server.pid, deadline)
            return server
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the API server did not start")


def _ready(port: int) -> bool:
    """`/readyz` answers 200 (the socket accepts before the workers have loaded the app)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _wait_idle(pid: int, deadline: float) -> None:
    """Until every worker has finished starting (the server's CPU time stops growing): the
    figures are the search's, not a worker's start-up (a balancer routes to ready workers)."""
    before = _cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _cpu_s(pid)
        if now - before < 0.05:
            return
        before = now


# ---------------------------------------------------------------- the load (its own process)


async def _connection(port: int, queue: asyncio.Queue[Any], out: list[Any]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while True:
        item = await queue.get()
        if item is None:
            writer.close()
            return
        scheduled, request, hit = item
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append((time.perf_counter() - scheduled, hit, status, scheduled))


async def _run_load(args: argparse.Namespace) -> dict[str, Any]:
    spec = json.loads(Path(args.load_spec).read_text())
    pool: list[list[Any]] = spec["pool"]
    rng = random.Random(args.rate)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    out: list[Any] = []
    workers = [asyncio.create_task(_connection(args.port, queue, out)) for _ in range(50)]
    total = int(args.rate * args.duration)
    start = time.perf_counter() + 0.2
    for i in range(total):
        scheduled = start + i / args.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        plate, vtype, hit = rng.choice(pool)
        request = (
            f"GET /api/public/v1/violations?plate={plate}&vehicle_type={vtype} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nX-API-Key: {spec['key']}\r\n\r\n"
        ).encode()
        queue.put_nowait((scheduled, request, hit))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=120)
    return _summary(out, args.rate, start)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def _summary(out: list[Any], rate: float, start: float) -> dict[str, Any]:
    latencies = [lat for lat, _, _, _ in out]
    hits = [lat for lat, hit, _, _ in out if hit]
    misses = [lat for lat, hit, _, _ in out if not hit]
    # Where the tail is: p99 of each second of the step (a cold start shows in the first ones).
    by_second: dict[int, list[float]] = {}
    for lat, _, _, scheduled in out:
        by_second.setdefault(int(scheduled - start), []).append(lat)
    return {
        "rate": rate,
        "requests": len(out),
        "failures": sum(1 for _, _, status, _ in out if status != 200),
        "p99_ms_by_second": [round(_pct(by_second[k], 0.99), 1) for k in sorted(by_second)],
        "p50_ms": round(_pct(latencies, 0.50), 2),
        "p99_ms": round(_pct(latencies, 0.99), 2),
        "hit_p50_ms": round(statistics.median(hits) * 1000, 3) if hits else None,
        "miss_p50_ms": round(statistics.median(misses) * 1000, 3) if misses else None,
        "hit_share": round(len(hits) / max(1, len(out)), 3),
    }


def _step(port: int, spec_path: str, rate: float, duration: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--load-spec", spec_path, "--port", str(port)]
    cmd += ["--rate", str(rate), "--duration", str(duration)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- the driver


def _schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    schema = f"bench_public_{uuid.uuid4().hex[:8]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _prepare(args: argparse.Namespace, url: str, spec_path: str) -> dict[str, Any]:
    from central_server.db import make_engine, session_scope, upgrade
    from central_server.public.apikeys import create_key

    upgrade(url)
    rng = random.Random(1)
    stored, misses = _plates(rng, args.rows // 5, int(args.distinct * (1 - args.hit_ratio)))
    load_s = _load(url, stored, 5)
    hits = rng.sample(stored, int(args.distinct * args.hit_ratio))
    engine = make_engine(url)
    with session_scope(engine) as session:
        _, key = create_key(session, "SmartCity (bench)", 10_000_000, created_by="bench")
    engine.dispose()

    pool = [[p, TYPES[_class(p)], True] for p in hits]
    pool += [[p, rng.choice(["oto", "xemay"]), False] for p in misses]
    Path(spec_path).write_text(json.dumps({"key": key, "pool": pool}))
    return {"rows": len(stored) * 5, "load_s": round(load_s, 1), "distinct_queries": len(pool)}


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children (uvicorn's workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _passed(step: dict[str, Any]) -> bool:
    return not step["failures"] and step["p99_ms"] <= P99_TARGET_MS


def _search_rates(
    server: int, port: int, spec: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    steps = []
    rate = args.rate
    while args.min_rate <= rate <= args.max_rate:
        cpu_before = _cpu_s(server)
        result = _step(port, spec, rate, args.duration)
        result["server_cpu_ms_per_req"] = round(
            (_cpu_s(server) - cpu_before) * 1000 / max(1, result["requests"]), 2
        )
        result["load_avg"] = os.getloadavg()[0]
        print(json.dumps(result), file=sys.stderr)
        steps.append(result)
        ok = not result["failures"] and result["p99_ms"] <= P99_TARGET_MS
        if ok and rate >= args.rate:
            rate += args.step  # upward from the target rate until the target breaks
        elif not ok and rate <= args.rate and not any(_passed(s) for s in steps):
            rate /= 2  # the target rate failed (a busy machine): find what still passes
        else:
            break
    return steps


def main() -> int:
    """Load the data, start the server, run the steps, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=100_000)
    parser.add_argument("--hit-ratio", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--step", type=float, default=100)
    parser.add_argument("--max-rate", type=float, default=1500)
    parser.add_argument("--min-rate", type=float, default=30)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--load-spec", help=argparse.SUPPRESS)  # set: be the load process
    args = parser.parse_args()
    if args.load_spec:
        print(json.dumps(asyncio.run(_run_load(args))))
        return 0
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: the figures are about the production database")
    return _drive(args)


def _drive(args: argparse.Namespace) -> int:
    import psycopg

    schema, url = _schema_url(args.database_url)
    admin = psycopg.connect(args.database_url, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = str(Path(tmp) / "load.json")
            info = _prepare(args, url, spec)
            port = args.port or _free_port()
            server = _start_server(url, port, args.workers, tmp)
            steps = _search_rates(server.pid, port, spec, args)
            server.terminate()
            server.wait(timeout=30)
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
    first = steps[0]
    passing = [s["rate"] for s in steps if _passed(s)]
    gap = None
    if first["hit_p50_ms"] is not None and first["miss_p50_ms"] is not None:
        gap = round(first["hit_p50_ms"] - first["miss_p50_ms"], 3)
    figures = {
        "req_per_s": max(passing) if passing else 0,
        "p50_ms": first["p50_ms"],
        "p99_ms": first["p99_ms"],
        "hit_miss_gap_ms": gap,
        "failures_at_300": first["failures"],
        "workers": args.workers,
        "steps": steps,
        **info,
    }
    print(json.dumps(figures))
    return 0 if passing else 1


if __name__ == "__main__":
    sys.exit(main())
