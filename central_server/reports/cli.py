"""`trafficwatch server report run --period YYYY-MM`: make (or remake) a period's report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone

from central_server import db
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.reports.jobs import make_report
from central_server.reports.period import period_for
from central_server.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server report run",
        description="Lập báo cáo tháng / make a period's report (PDF, XLSX, CSV). A rerun adds "
        "a new revision and keeps the earlier files.",
    )
    parser.add_argument("--period", required=True, help="kỳ báo cáo / the period, YYYY-MM")
    parser.add_argument("--actor", default="cli:report", help="who acts (for the audit log)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Make the report; print its id, revision and file hashes as JSON."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        period = period_for(args.period)
    except ValueError as exc:
        print(f"Kỳ không hợp lệ / bad period: {exc}", file=sys.stderr)
        return 2
    now = datetime.now(timezone.utc)
    if period.end > now:
        print("Kỳ báo cáo chưa kết thúc / the period has not ended yet", file=sys.stderr)
        return 2
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            store = FilesystemEvidenceStore(settings.evidence_dir)
            report = make_report(session, store, period, actor=args.actor, now=now)
            out = report.model_dump(mode="json", exclude={"totals"}) | {"totals": report.totals}
    finally:
        engine.dispose()
    print(json.dumps(out, ensure_ascii=False))
    return 0
