#!/usr/bin/env python3
"""Benchmark: the monthly report for a month of 100,000 violations in PostgreSQL.

Builds a throw-away schema in the database of `--database-url` (default `TEST_DATABASE_URL`),
fills it with a month of cases and their audit chain (bulk inserts, hashes computed as
`audit.append` would), makes the report (figures, PDF, XLSX, CSV) and ends with one JSON line:
{"report_s": ..., "rows": ...}. Refuses SQLite: the figure is for the production database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# scripts/bench/protocol.py would shadow the protocol package: the project root comes first.
_ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [
    str(_ROOT),
    *(p for p in sys.path if Path(p or ".").resolve() != _ROOT / "scripts" / "bench"),
]

from sqlalchemy import Engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from central_server.audit import event_hash  # noqa: E402
from central_server.db import make_engine, session_scope, upgrade  # noqa: E402
from central_server.evidence_store import FilesystemEvidenceStore  # noqa: E402
from central_server.models import (  # noqa: E402
    GENESIS_HASH,
    AuditEvent,
    AuditHead,
    Device,
    Packet,
    Site,
    Unit,
    Violation,
)
from central_server.reports.jobs import make_report  # noqa: E402
from central_server.reports.period import period_for  # noqa: E402

PERIOD = "2026-10"
BATCH = 5000
SITES = 40
OUTCOMES = ["approve", "approve", "approve", "reject", None]  # what review did, roughly


def _rows_for(n: int, start: datetime, span_s: float, rng: random.Random) -> dict[str, list[Any]]:
    packets, violations, events = [], [], []
    for i in range(1, n + 1):
        at = start + timedelta(seconds=rng.uniform(0, span_s))
        pid = uuid.uuid4()
        digest = f"{i:064x}"
        packets.append(
            {
                "packet_id": pid,
                "device_id": f"dev-{i % SITES:03d}",
                "seq": i,
                "sha256": digest,
                "size": 1,
                "key_id": "0" * 16,
                "blob_sha256": digest,
                "received_at": at,
                "created_at": at,
                "clock_skew_s": 0.0,
                "skew_flagged": False,
            }
        )
        outcome = rng.choice(OUTCOMES)
        status = {"approve": "approved", "reject": "rejected", None: "pending_review"}[outcome]
        violations.append(
            {
                "id": i,
                "packet_id": pid,
                "device_id": f"dev-{i % SITES:03d}",
                "site_id": f"site-{i % SITES:03d}",
                "camera_id": "c",
                "behaviour": rng.choice(["red_light", "wrong_lane", "no_helmet"]),
                "experimental": False,
                "rule_version": "1",
                "vehicle_class": "car",
                "occurred_at": at,
                "detected_at": at,
                "status": status,
                "version": 1,
                "facts": {},
                "created_at": at,
                "updated_at": at,
                "approved_at": at if outcome == "approve" else None,
                "reason_code": "unreadable_plate" if outcome == "reject" else None,
                "overdue_notice": False,
                "overdue_escalation": False,
                "overdue_record": False,
                "clock_flagged": False,
            }
        )
        events.append((at, "violation.ingested", i))
        if outcome is not None:
            events.append((at + timedelta(hours=rng.uniform(1, 48)), f"violation.{outcome}", i))
    return {"packet": packets, "violation": violations, "events": events}


def _chain(events: list[tuple[datetime, str, int]]) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS_HASH
    for event_id, (at, action, vid) in enumerate(sorted(events), start=1):
        fields = {
            "id": event_id,
            "at": at,
            "actor": "bench",
            "action": action,
            "entity_type": "violation",
            "entity_id": str(vid),
            "before_sha256": None,
            "after_sha256": None,
        }
        digest = event_hash(
            event_id=event_id,
            at=at,
            actor="bench",
            action=action,
            entity_type="violation",
            entity_id=str(vid),
            before_sha256=None,
            after_sha256=None,
            prev_hash=prev,
        )
        rows.append(fields | {"prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def _fill(engine: Engine, n: int) -> int:
    period = period_for(PERIOD)
    rows = _rows_for(
        n, period.start, (period.end - period.start).total_seconds() - 3 * 86400, random.Random(11)
    )
    chain = _chain(rows["events"])
    with session_scope(engine) as session:
        unit = Unit(name="Đội CSGT", kind="police")
        session.add(unit)
        session.flush()
        for s in range(SITES):
            session.add(
                Site(
                    id=f"site-{s:03d}",
                    name=f"Nút giao {s}",
                    ward=f"Phường {s % 8}",
                    handling_unit_id=unit.id,
                )
            )
            session.flush()
            session.add(Device(id=f"dev-{s:03d}", site_id=f"site-{s:03d}"))
        session.flush()
        for table, data in (
            (Packet, rows["packet"]),
            (Violation, rows["violation"]),
            (AuditEvent, chain),
        ):
            for i in range(0, len(data), BATCH):
                session.execute(insert(table), data[i : i + BATCH])
        session.execute(
            text("UPDATE audit_head SET last_event_id = :i, last_hash = :h"),
            {"i": chain[-1]["id"], "h": chain[-1]["hash"]},
        )
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('violation', 'id'), :n)"), {"n": n}
        )
    _ = AuditHead
    return len(chain)


def main() -> int:
    """Fill a throw-away schema, time the report, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--violations", type=int, default=100_000)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        print("refusing: needs PostgreSQL (--database-url or TEST_DATABASE_URL)", file=sys.stderr)
        return 2
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    try:
        upgrade(url_text)
        engine = make_engine(url_text)
        events = _fill(engine, args.violations)
        print(f"filled {args.violations} violations, {events} audit events", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp, session_scope(engine) as session:
            started = time.perf_counter()
            report = make_report(
                session,
                FilesystemEvidenceStore(Path(tmp)),
                period_for(PERIOD),
                actor="bench",
                now=datetime.now(timezone.utc),
            )
            elapsed = time.perf_counter() - started
        print(f"totals {report.totals}", file=sys.stderr)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(json.dumps({"report_s": round(elapsed, 2), "rows": args.violations}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
