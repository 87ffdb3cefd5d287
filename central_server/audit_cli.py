"""`trafficwatch server audit verify`: check the audit chain and its signed heads, name the first
broken link.

The chain is recomputed from its rules (central_server.audit); each daily head signature is
checked against the server's public key and against the chain as it is now (a rewritten history
no longer hashes to what was signed). Keys are trusted when they are the server key file's or
given with `--server-key`: a key someone added to the database alone vouches for nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from central_server import db
from central_server.audit import verify_chain
from central_server.export.verify import trusted_key_id
from central_server.models import AuditEvent, AuditHeadSignature, ServerKey, utcnow
from central_server.scheduler.audit_head import verify_head_signature
from central_server.settings import get_settings
from protocol.keys import key_id

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_BROKEN, EXIT_ERROR = 0, 1, 2
STALE_AFTER = timedelta(days=2)  # heads are signed daily


def _say(line: str) -> None:
    # A command's report goes to stdout (T201 keeps print() out of library code).
    sys.stdout.write(line + "\n")


@dataclass
class HeadReport:
    """What the signed heads say."""

    checked: int = 0
    first_bad_signature_id: int | None = None
    problem: str | None = None
    last_signed_event_id: int | None = None
    last_signed_at: datetime | None = None
    untrusted_keys: list[str] = field(default_factory=list)


def _head_problem(session: Session, row: AuditHeadSignature, keys: dict[str, bytes]) -> str | None:
    raw = keys.get(row.key_id)
    if raw is None:
        return f"key {row.key_id} is not in server_key"
    if not verify_head_signature(row, raw):
        return "the signature does not verify"
    event = session.get(AuditEvent, row.event_id)
    if event is None or event.hash != row.head_hash:
        return f"event {row.event_id} no longer has the hash that was signed (history rewritten)"
    return None


def check_signed_heads(session: Session, trusted: set[str]) -> HeadReport:
    """Verify every head signature, oldest first; report the first bad one."""
    keys = {row.key_id: bytes(row.public_key) for row in session.exec(select(ServerKey)).all()}
    report = HeadReport()
    rows = session.exec(select(AuditHeadSignature).order_by(col(AuditHeadSignature.id))).all()
    for row in rows:
        report.checked += 1
        problem = _head_problem(session, row, keys)
        if problem is None and trusted and row.key_id not in trusted:
            problem = f"signed by key {row.key_id}, which is not a trusted server key"
        if problem is not None:
            report.first_bad_signature_id, report.problem = row.id, problem
            return report
        report.last_signed_event_id, report.last_signed_at = row.event_id, row.signed_at
    report.untrusted_keys = sorted({r.key_id for r in rows} - trusted) if trusted else []
    return report


def _trusted(args: argparse.Namespace) -> set[str]:
    trusted = {trusted_key_id(value) for value in args.server_key}
    path = get_settings().server_key_path if args.database_url is None else None
    if path is not None and path.exists():
        from central_server.server_keys import load_or_create_server_key

        trusted.add(key_id(load_or_create_server_key(path)))
    return trusted


def _print_human(
    chain: dict[str, object], heads: HeadReport, trusted: set[str], now: datetime
) -> None:
    if chain["ok"]:
        count = chain["events_checked"]
        _say(
            f"[ĐẠT / OK]   Chuỗi nhật ký nguyên vẹn / audit chain intact: {count} sự kiện / events"
        )
    else:
        _say(
            f"[LỖI / FAIL] Chuỗi bị đứt tại sự kiện / chain broken at event "
            f"{chain['first_broken_event_id']} ({chain['field']}): {chain['reason']}"
        )
    if heads.problem is not None:
        _say(
            f"[LỖI / FAIL] Chữ ký đầu chuỗi #{heads.first_bad_signature_id} / head signature: "
            f"{heads.problem}"
        )
    elif heads.checked == 0:
        _say("[LƯU Ý / NOTE] Chưa có chữ ký đầu chuỗi / no signed head yet")
    else:
        _say(
            f"[ĐẠT / OK]   {heads.checked} chữ ký đầu chuỗi hợp lệ / head signatures valid; "
            f"mới nhất / latest: event {heads.last_signed_event_id} at {heads.last_signed_at}"
        )
        if heads.last_signed_at is not None and now - heads.last_signed_at > STALE_AFTER:
            _say("[LƯU Ý / NOTE] Chữ ký mới nhất đã cũ / the latest signature is over 2 days old")
    if not trusted:
        _say(
            "[LƯU Ý / NOTE] Không có khóa tin cậy (--server-key) / no trusted key: signatures are "
            "checked against the keys in the database only"
        )


def main(argv: list[str]) -> int:
    """Verify the audit chain and the signed heads; exit 0 intact, 1 broken, 2 error."""
    parser = argparse.ArgumentParser(
        prog="trafficwatch server audit verify",
        description="Kiểm tra chuỗi nhật ký / verify the audit chain and its signed heads.",
    )
    parser.add_argument("--database-url", default=None, help="default: TW_DATABASE_URL")
    parser.add_argument(
        "--server-key",
        action="append",
        default=[],
        help="a trusted server key id or SHA-256 fingerprint (repeat for rotated keys); the "
        "server key file's own key is trusted too",
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    args = parser.parse_args(argv)
    try:
        trusted = _trusted(args)
        engine = db.make_engine(args.database_url or get_settings().database_url)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"Lỗi / error: {exc}\n")
        return EXIT_ERROR
    try:
        with db.session_scope(engine, read_only=True) as session:
            chain = asdict(verify_chain(session))
            heads = check_signed_heads(session, trusted)
    finally:
        engine.dispose()
    if args.json:
        _say(json.dumps({"chain": chain, "heads": asdict(heads)}, default=str, indent=2))
    else:
        _print_human(chain, heads, trusted, utcnow())
    return EXIT_OK if chain["ok"] and heads.problem is None else EXIT_BROKEN
