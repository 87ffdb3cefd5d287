"""`trafficwatch server retention [--dry-run]`: purge what the retention periods no longer keep."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone

from central_server import db
from central_server.errors import AppError
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.retention.holds import place_hold, release_hold
from central_server.retention.service import apply_retention
from central_server.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server retention",
        description="Áp dụng thời hạn lưu trữ / apply the retention periods (TW_RETENTION_*): "
        "media deleted and personal fields blanked, hashes and the audit chain kept.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="chỉ liệt kê / only list what would go"
    )
    parser.add_argument("--hold", type=int, metavar="ID", help="phong tỏa vụ việc / hold a case")
    parser.add_argument("--release", type=int, metavar="ID", help="gỡ phong tỏa / release a hold")
    parser.add_argument("--reason", default="", help="lý do phong tỏa / reason for the hold")
    parser.add_argument("--actor", default="cli:retention", help="who acts (for the audit log)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Apply retention (or list it, or place / release a legal hold); print JSON."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.hold is not None and not args.reason.strip():
        print("Cần --reason / a hold needs --reason", file=sys.stderr)
        return 2
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    now = datetime.now(timezone.utc)
    try:
        with db.session_scope(engine) as session:
            if args.hold is not None:
                hold = place_hold(session, args.hold, reason=args.reason, actor=args.actor, now=now)
                result: dict[str, object] = {"held": hold.violation_id}
            elif args.release is not None:
                release_hold(session, args.release, actor=args.actor, now=now)
                result = {"released": args.release}
            else:
                store = FilesystemEvidenceStore(settings.evidence_dir)
                result = apply_retention(session, store, now, dry_run=args.dry_run)
    except AppError as exc:
        print(f"{exc.message_vi} / {exc.message_en}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0
