#!/usr/bin/env python3
"""Workflow benchmark: the review queue and transitions with 100,000 violations in PostgreSQL.

Loads a fresh schema with 100,000 violations (COPY, a realistic mix of states over 20 sites and a
year of dates; 40 % waiting for review, some of them held by other reviewers), then times, each
in its own committed transaction as a request would run them:
- queue: `next_for_review` (claim the oldest case nobody holds), with and without filters (site,
  behaviour), alternating with a page of 50 of `review_queue` with filters;
- transitions: `transition()` approving the claimed cases, police claiming and confirming them.

Prints readable lines, then one JSON line: {"queue_p95_ms": ..., "transition_p95_ms": ...}.
Target: both p95 <= 50 ms (reported, never asserted). Refuses SQLite: the figure is for the
production database. The URL comes from --url, else TEST_DATABASE_URL, else TW_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from central_server.accounts.models import User  # noqa: E402
from central_server.db import make_engine, session_scope, upgrade  # noqa: E402
from central_server.models import Device, Site, Unit, UnitKind, ViolationStatus  # noqa: E402
from central_server.roles import Actor, Role  # noqa: E402
from central_server.workflow import deadlines  # noqa: E402
from central_server.workflow.filters import QueueFilters  # noqa: E402
from central_server.workflow.service import (  # noqa: E402
    Action,
    next_for_review,
    review_queue,
    transition,
)
from protocol.enums import BehaviourCode, VehicleClass  # noqa: E402

S = ViolationStatus
SITES, DEVICES_PER_SITE = 20, 2
STATE_MIX = [  # (state, share): a centre some months into operation
    (S.pending_review, 0.40),
    (S.approved, 0.08),
    (S.verifying, 0.04),
    (S.confirmed, 0.06),
    (S.notified, 0.08),
    (S.penalized, 0.05),
    (S.paid, 0.08),
    (S.closed, 0.03),
    (S.rejected, 0.15),
    (S.dismissed, 0.03),
]
BEHAVIOUR_MIX = [(BehaviourCode.red_light, 0.66), (BehaviourCode.no_helmet, 0.32)]


def database_url(arg: str | None) -> str:
    """The PostgreSQL URL to use; exits on SQLite."""
    url = arg or os.environ.get("TEST_DATABASE_URL") or os.environ.get("TW_DATABASE_URL")
    if not url or make_url(url).get_backend_name() != "postgresql":
        sys.exit("workflow bench: needs PostgreSQL (--url or TEST_DATABASE_URL); SQLite refused")
    return url


@contextmanager
def fresh_schema(url: str, keep: bool) -> Iterator[str]:
    """A new schema migrated to head; yields a URL that lands in it; dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    scoped_url = scoped.render_as_string(hide_password=False)
    try:
        upgrade(scoped_url)
        yield scoped_url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _pick(rng: random.Random, mix: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in mix], weights=[w for _, w in mix])[0]


def master_data(engine: Engine) -> tuple[list[str], dict[str, list[Actor]]]:
    """Units, sites, devices and staff; returns device ids and actors by role."""
    with session_scope(engine) as session:
        police = Unit(name="Phòng CSGT", kind=UnitKind.police, address="1 Hùng Vương", phone="0233")
        centre = Unit(name="Trung tâm Giám sát", kind=UnitKind.detecting)
        session.add_all([police, centre])
        session.flush()
        devices = []
        for n in range(SITES):
            site = Site(
                id=f"site-{n:02d}",
                name=f"Nút giao {n}",
                ward=f"Phường {n % 3}",
                province="Quảng Trị",
                detecting_unit_id=centre.id,
                handling_unit_id=police.id,
            )
            session.add(site)
            for d in range(DEVICES_PER_SITE):
                devices.append(Device(id=f"dev-{n:02d}-{d}", site_id=site.id, camera_id="cam-1"))
        session.flush()  # the sites first: devices refer to them
        session.add_all(devices)
        staff = {
            "operator": _users(session, Role.operator, 20),
            "officer": _users(session, Role.police_officer, 20),
            "lead": _users(session, Role.police_lead, 2),
            "other": _users(session, Role.operator, 1, prefix="other-"),
        }
    return [d.id for d in devices], staff


def _users(session: Session, role: Role, count: int, prefix: str = "") -> list[Actor]:
    users = [
        User(username=f"{prefix}{role.value}{i}", password_hash="!", roles=[role.value], scopes=[])
        for i in range(count)
    ]
    session.add_all(users)
    session.flush()
    return [Actor(u.id, u.username, frozenset({role})) for u in users if u.id is not None]


def _rows(
    count: int, devices: list[str], staff: dict[str, list[Actor]], book: deadlines.DeadlineBook
) -> Iterator[tuple[Any, ...]]:
    """(packet row, violation row) pairs for COPY (due dates computed here: COPY skips the ORM)."""
    rng, now = random.Random(8), datetime.now(timezone.utc)
    facts = json.dumps({"signal_phase": "red", "time_into_red_s": 1.2})
    for n in range(count):
        device = devices[n % len(devices)]
        occurred = now - timedelta(seconds=rng.uniform(60, 330 * 86400))
        state = _pick(rng, STATE_MIX)
        vehicle = VehicleClass.motorbike if rng.random() < 0.7 else VehicleClass.car
        behaviour = (
            _pick(rng, BEHAVIOUR_MIX)
            if vehicle is VehicleClass.motorbike
            else BehaviourCode.red_light
        )
        notice_due, expires = deadlines.initial_due_dates(
            book, occurred, deadlines.HolidayCalendar()
        )
        approved = state not in (S.pending_review, S.rejected)
        claimed = state not in (S.pending_review, S.rejected, S.approved)
        packet_id, digest = uuid.uuid4(), hashlib.sha256(str(n).encode()).hexdigest()
        yield (
            (packet_id, device, n, digest, 4096, "0" * 16, digest, occurred, occurred, 0.0, False),
            (
                packet_id,
                device,
                f"site-{device[4:6]}",
                "cam-1",
                behaviour.value,
                False,
                "1",
                vehicle.value,
                occurred,
                occurred,
                state.value,
                1,
                facts,
                f"73A{n:05d}",
                f"73A-{n:05d}",
                rng.choice(staff["operator"]).user_id if approved else None,
                rng.choice(staff["officer"]).user_id if claimed else None,
                notice_due,
                expires,
                occurred,
                occurred,
                False,
            ),
        )


PACKET_COLUMNS = (
    "packet_id, device_id, seq, sha256, size, key_id, blob_sha256, received_at, created_at, "
    "clock_skew_s, skew_flagged"
)
VIOLATION_COLUMNS = (
    "packet_id, device_id, site_id, camera_id, behaviour, experimental, rule_version, "
    "vehicle_class, occurred_at, detected_at, status, version, facts, plate_text, plate_printed, "
    "approved_by_user_id, claimed_by_user_id, notice_due_at, expires_at, created_at, updated_at, "
    "clock_flagged"
)


def bulk_load(
    engine: Engine, count: int, devices: list[str], staff: dict[str, list[Actor]]
) -> float:
    """COPY `count` packets and violations in; returns the seconds it took."""
    start = time.perf_counter()
    with session_scope(engine, read_only=True) as session:
        book = deadlines.load_book(session)
    rows = list(_rows(count, devices, staff, book))
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy(f"COPY packet ({PACKET_COLUMNS}) FROM STDIN") as copy:
                for packet, _ in rows:
                    copy.write_row(packet)
            with cur.copy(f"COPY violation ({VIOLATION_COLUMNS}) FROM STDIN") as copy:
                for _, violation in rows:
                    copy.write_row(violation)
            # Other reviewers at work: the oldest pending cases are held by someone else.
            cur.execute(
                "INSERT INTO review_claim (violation_id, user_id, claimed_at, renewed_at, "
                "expires_at) SELECT id, %s, now(), now(), now() + interval '1 hour' "
                "FROM violation WHERE status = 'pending_review' ORDER BY occurred_at LIMIT 200",
                (staff["other"][0].user_id,),
            )
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        raw.close()
    return time.perf_counter() - start


def timed(
    samples: list[float], engine: Engine, operation: Callable[..., Any], **kwargs: Any
) -> Any:
    """Run `operation(session, **kwargs)` in its own committed transaction, timing it (ms)."""
    start = time.perf_counter()
    with session_scope(engine) as session:
        result = operation(session, **kwargs)
    samples.append((time.perf_counter() - start) * 1000)
    return result


def p95(samples: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


FILTERS = [
    QueueFilters(),
    QueueFilters(site_ids=frozenset({"site-03"})),
    QueueFilters(behaviours=frozenset({BehaviourCode.no_helmet})),
    QueueFilters(wards=frozenset({"Phường 1"}), behaviours=frozenset({BehaviourCode.red_light})),
]


def measure(engine: Engine, staff: dict[str, list[Actor]], rounds: int) -> dict[str, list[float]]:
    """Time queue fetches and transitions; milliseconds by operation."""
    samples: dict[str, list[float]] = {
        name: [] for name in ("next_for_review", "review_queue", "approve", "claim", "confirm")
    }
    operators, officers = staff["operator"], staff["officer"]
    for i in range(rounds):
        operator, officer = operators[i % len(operators)], officers[i % len(officers)]
        filters = FILTERS[i % len(FILTERS)]
        case = timed(
            samples["next_for_review"], engine, next_for_review, actor=operator, filters=filters
        )
        page_filters = FILTERS[(i + 1) % len(FILTERS)]
        timed(
            samples["review_queue"],
            engine,
            review_queue,
            actor=operator,
            filters=page_filters,
            limit=50,
        )
        if case is None:
            continue
        for action, actor in (
            (Action.approve, operator),
            (Action.claim, officer),
            (Action.confirm, officer),
        ):
            timed(
                samples[action.value],
                engine,
                transition,
                violation_id=case.id,
                action=action,
                actor=actor,
            )
    return samples


def main(argv: list[str] | None = None) -> int:
    """Load, measure, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="PostgreSQL URL (default TEST_DATABASE_URL, TW_DATABASE_URL)")
    parser.add_argument("--violations", type=int, default=100_000)
    parser.add_argument(
        "--rounds", type=int, default=300, help="queue fetches per kind (default 300)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench schema afterwards")
    args = parser.parse_args(argv)
    url = database_url(args.url)
    with fresh_schema(url, args.keep) as scoped_url:
        engine = make_engine(scoped_url)
        try:
            devices, staff = master_data(engine)
            load_s = bulk_load(engine, args.violations, devices, staff)
            print(f"loaded {args.violations} violations in {load_s:.1f} s (COPY)")
            measure(engine, staff, 20)  # warm-up: connections, caches, plans
            samples = measure(engine, staff, args.rounds)
        finally:
            engine.dispose()
    queue_ms = samples["next_for_review"] + samples["review_queue"]
    transition_ms = samples["approve"] + samples["claim"] + samples["confirm"]
    for name, values in [*samples.items(), ("queue", queue_ms), ("transition", transition_ms)]:
        print(
            f"{name}: n={len(values)} p50={statistics.median(values):.1f} ms "
            f"p95={p95(values):.1f} ms max={max(values):.1f} ms"
        )
    print(
        json.dumps(
            {
                "queue_p95_ms": round(p95(queue_ms), 2),
                "transition_p95_ms": round(p95(transition_ms), 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
