"""`trafficwatch server scheduler`: the scheduler process (daily jobs, signed audit head)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import time, timedelta
from types import FrameType

from central_server import db
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.scheduler.runner import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LOCK_TTL,
    DEFAULT_RUN_AT,
    SchedulerService,
)
from central_server.server_keys import load_or_create_server_key
from central_server.settings import get_settings

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server scheduler",
        description="Chạy các công việc định kỳ hằng ngày / run the daily jobs: overdue flags, "
        "expiry, the signed audit head. One instance runs at a time (a database lock); start "
        "a second one as a standby.",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="run today's jobs now (those not done yet) and exit / chạy một lần rồi thoát",
    )
    parser.add_argument(
        "--at",
        type=time.fromisoformat,
        default=DEFAULT_RUN_AT,
        help="daily run time, Vietnam time (default %(default)s)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=DEFAULT_HEARTBEAT.total_seconds(),
        help="seconds between lock renewals (default %(default)s)",
    )
    parser.add_argument(
        "--lock-ttl",
        type=float,
        default=DEFAULT_LOCK_TTL.total_seconds(),
        help="seconds a lost instance keeps the lock (default %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler until SIGTERM / Ctrl-C (or once, with --once)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        if not db.check_schema_current(engine):
            print(
                "Lược đồ CSDL chưa cập nhật / the database schema is not at the current "
                "migration: run `trafficwatch server migrate` first.",
                file=sys.stderr,
            )
            return 1
        service = SchedulerService(
            engine,
            load_or_create_server_key(settings.server_key_path),
            run_at=args.at,
            heartbeat=timedelta(seconds=args.heartbeat),
            lock_ttl=timedelta(seconds=args.lock_ttl),
            evidence_store=FilesystemEvidenceStore(settings.evidence_dir),
        )
        return _once(service) if args.once else _forever(service)
    finally:
        engine.dispose()


def _once(service: SchedulerService) -> int:
    outcomes = service.run_daily()
    if service.holding:
        service.lock.release()
    if not outcomes:
        print("Một tiến trình lập lịch khác đang chạy / another scheduler holds the lock.")
        return 2
    print(json.dumps(outcomes, ensure_ascii=False))
    return 1 if "failed" in outcomes.values() else 0


def _forever(service: SchedulerService) -> int:
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    service.start()
    try:
        stop.wait()
    finally:
        service.stop()
    return 0
