#!/usr/bin/env python3
"""Web UI benchmark: the operator's case page and "next case" with 100,000 violations in
PostgreSQL.

Loads a fresh schema the way `workflow.py` does (COPY, a year of cases over 20 sites, 40 %
waiting for review, the oldest 200 held by another reviewer), then gives every case the facts a
real packet carries (signal, clock, model, location, track), the box's plate candidates and its
five media parts (rows only: the page links the media, it does not embed them). The whole app
(`create_app`) is driven in-process by an operator logged in with a session cookie, as the
browser does after every decision:
- next case: `POST /api/v1/review/next` (claims the oldest case nobody holds; with and without
  filters) — what `review.js` calls after each decision;
- the case page: `GET /review/case/{id}` (HTML without its media);
- then the case is approved (`POST .../transitions`, timed but not a headline figure).

Times are server times (an ASGI wrapper around the app, from request to the last body byte),
each request in its own transaction as in production. Prints readable lines, then one JSON line:
{"case_page_p95_ms": ..., "next_case_p95_ms": ..., "case_page_kb": ...}. Targets: both p95
≤ 100 ms and the page ≤ 150 KB (reported, never asserted). Refuses SQLite. The URL comes from
--url, else TEST_DATABASE_URL, else TW_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from central_server.accounts.models import User  # noqa: E402
from central_server.accounts.settings import AuthSettings  # noqa: E402
from central_server.app import create_app  # noqa: E402
from central_server.db import make_engine, session_scope  # noqa: E402
from central_server.settings import Settings  # noqa: E402
from protocol.enums import MediaRole  # noqa: E402


def _workflow_bench() -> Any:
    # scripts/bench/workflow.py loads the cases; loaded by path (scripts/ is not a package).
    spec = importlib.util.spec_from_file_location(
        "bench_workflow", ROOT / "scripts/bench/workflow.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wf = _workflow_bench()
PASSWORD = "bench: một mật khẩu đủ dài"
PAGE_TARGET_KB = 150
Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]

FACTS = {
    "packet_id": "00000000-0000-7000-8000-000000000000",
    "seq": 1,
    "device_id": "dev-00-0",
    "site_id": "site-00",
    "camera_id": "cam-1",
    "key_id": "0" * 16,
    "software_version": "0.1.0",
    "created_at": "2026-11-20T01:30:03+00:00",
    "location": {"lat": 17.4689, "lon": 106.6223, "accuracy_m": 5.0, "heading_deg": 180.0},
    "clock": {"synced": True, "source": "ntp", "offset_ms": 1.5, "last_sync_at": None},
    "model": {"name": "ssd_mobilenet_v2", "version": "1", "sha256": "ab" * 32},
    "config_sha256": "cd" * 32,
    "calibration_sha256": "ef" * 32,
    "frame": {"width": 1920, "height": 1080, "fps": 25.0},
    "violation": {
        "behaviour": "red_light",
        "experimental": False,
        "rule_version": "red_light/1.0",
        "occurred_at": "2026-11-20T01:30:00+00:00",
        "vehicle_class": "car",
        "track_id": 42,
        "confidence": 0.875,
        "track": [
            {
                "t": "2026-11-20T01:29:59.9+00:00",
                "frame_seq": 1001 + i,
                "box": [100, 400, 160, 520],
                "score": 0.8,
            }
            for i in range(25)
        ],
        "signal": {
            "phase": "red",
            "source": "classifier",
            "red_onset_at": None,
            "amber_duration_s": 3.0,
            "time_into_red_s": 2.4,
            "grace_s": 0.5,
        },
        "lane": None,
        "helmet": None,
        "speed_kmh": None,
    },
}
CANDIDATES = [
    {
        "text": "73A12345",
        "printed": "73A-123.45",
        "lines": 1,
        "colour": "white",
        "confidence": 0.91,
        "box": [1, 2, 3, 4],
        "reader_name": "edge-ocr",
        "reader_version": "0.1",
    },
    {
        "text": "73A12348",
        "printed": "73A-123.48",
        "lines": 1,
        "colour": "white",
        "confidence": 0.42,
        "box": [1, 2, 3, 4],
        "reader_name": "edge-ocr",
        "reader_version": "0.1",
    },
]
PART_SIZES = {
    MediaRole.scene_before: 60_000,
    MediaRole.scene_at: 250_000,
    MediaRole.scene_after: 60_000,
    MediaRole.plate_crop: 8_000,
    MediaRole.clip: 900_000,
}


def enrich(engine: Engine) -> float:
    """Give every case a real packet's facts, plate candidates and media part rows."""
    start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE violation SET facts = %s::json, plate_candidates = %s::json, "
                "plate_confidence = 0.91",
                (json.dumps(FACTS), json.dumps(CANDIDATES)),
            )
            for role, size in PART_SIZES.items():
                cur.execute(
                    "INSERT INTO evidence_part (packet_id, role, mime, sha256, size, dropped) "
                    "SELECT packet_id, %s, %s, md5(packet_id::text || %s) || "
                    "md5(%s || packet_id::text), %s, false FROM packet",
                    (role.value, role.mime, role.value, role.value, size),
                )
        conn.commit()
        # What autovacuum does after such an update in production: without it every count and
        # index-only scan reads the dead row versions too.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE violation")
            cur.execute("VACUUM ANALYZE evidence_part")
    finally:
        raw.close()
    return time.perf_counter() - start


def operator(engine: Engine) -> str:
    """A reviewer who can log in; returns the user name."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with session_scope(engine) as session:
        session.add(
            User(
                username="bench-operator",
                full_name="Người đo hiệu năng",
                password_hash=hasher.hash(PASSWORD),
                roles=["operator"],
                scopes=[],
            )
        )
    return "bench-operator"


class ServerTimer:
    """ASGI wrapper: milliseconds from a request's arrival to its last body byte, by path kind."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.samples: dict[str, list[float]] = {}
        self.kind = ""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Time one request."""
        if scope["type"] != "http" or not self.kind:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        kind = self.kind

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.setdefault(kind, []).append((time.perf_counter() - start) * 1000)

        await self.app(scope, receive, timed_send)


def app_for(url: str, data_dir: Path) -> Any:
    """The whole application on the bench schema."""
    settings = Settings(
        _env_file=None,
        environment="development",
        data_dir=data_dir,
        database_url=url,
        secret_key="bench-secret-key-" + "x" * 40,
    )
    auth = AuthSettings(
        _env_file=None, argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1
    )
    return create_app(settings, auth_settings=auth)


QUERIES = ["", "site_id=site-03", "behaviour=no_helmet", "ward=Phường 1&behaviour=red_light"]
PAGE_QUERIES = ["", "site=site-03", "behaviour=no_helmet", "ward=Phường 1&behaviour=red_light"]


def run(client: TestClient, timer: ServerTimer, rounds: int) -> list[int]:
    """Next case, its page, approve; `rounds` times. Returns the page sizes in bytes."""
    sizes = []
    for i in range(rounds):
        query, page_query = QUERIES[i % len(QUERIES)], PAGE_QUERIES[i % len(PAGE_QUERIES)]
        timer.kind = "next_case"
        taken = client.post(f"/api/v1/review/next?{query}")
        if taken.status_code == 204:
            continue
        assert taken.status_code == 200, taken.text
        case = taken.json()
        timer.kind = "case_page"
        page = client.get(f"/review/case/{case['id']}?{page_query}")
        assert page.status_code == 200, page.text[:500]
        sizes.append(len(page.content))
        timer.kind = "approve"
        body = {"action": "approve", "expected_version": case["version"]}
        done = client.post(f"/api/v1/violations/{case['id']}/transitions", json=body)
        assert done.status_code == 200, done.text
        if i % 10 == 0:
            timer.kind = "queue_page"
            assert client.get(f"/review?{page_query}").status_code == 200
        timer.kind = ""
    return sizes


def p95(samples: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def measure(url: str, rounds: int) -> tuple[dict[str, list[float]], list[int]]:
    """Log in, warm up, then time `rounds` review cycles."""
    with tempfile.TemporaryDirectory() as tmp:
        app = app_for(url, Path(tmp))
        timer = ServerTimer(app)
        with TestClient(timer, base_url="http://bench") as client:
            engine: Engine = app.state.engine
            name = operator(engine)
            login = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            run(client, timer, 20)  # warm-up: connections, caches, plans, templates
            timer.samples.clear()
            sizes = run(client, timer, rounds)
        return timer.samples, sizes


def main(argv: list[str] | None = None) -> int:
    """Load, measure, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="PostgreSQL URL (default TEST_DATABASE_URL, TW_DATABASE_URL)")
    parser.add_argument("--violations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300, help="review cycles (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the bench schema afterwards")
    args = parser.parse_args(argv)
    url = wf.database_url(args.url)
    with wf.fresh_schema(url, args.keep) as scoped_url:
        engine = make_engine(scoped_url)
        try:
            devices, staff = wf.master_data(engine)
            load_s = wf.bulk_load(engine, args.violations, devices, staff)
            enrich_s = enrich(engine)
        finally:
            engine.dispose()
        print(
            f"loaded {args.violations} violations in {load_s:.1f} s, facts and parts in "
            f"{enrich_s:.1f} s"
        )
        samples, sizes = measure(scoped_url, args.rounds)
    for name, values in sorted(samples.items()):
        print(
            f"{name}: n={len(values)} p50={statistics.median(values):.1f} ms "
            f"p95={p95(values):.1f} ms max={max(values):.1f} ms"
        )
    page_kb = max(sizes) / 1024
    print(f"case page: {page_kb:.1f} KB without media (target ≤ {PAGE_TARGET_KB} KB)")
    print(
        json.dumps(
            {
                "case_page_p95_ms": round(p95(samples["case_page"]), 2),
                "next_case_p95_ms": round(p95(samples["next_case"]), 2),
                "case_page_kb": round(page_kb, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
