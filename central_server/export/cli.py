"""`trafficwatch evidence verify BUNDLE`: check an evidence bundle offline and print a verdict."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from central_server.export.verify import (
    BundleError,
    Verdict,
    case_summary,
    read_zip,
    trusted_key_id,
    verify_bundle,
)
from protocol.errors import ProtocolError

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _print_report(path: Path, verdict: Verdict, files: dict[str, bytes]) -> None:
    case = case_summary(files)
    print(f"Gói bằng chứng / evidence bundle: {path}")
    if case:
        print(
            f"Vi phạm / violation #{case.get('id')}: {case.get('behaviour')} — "
            f"biển số / plate {case.get('plate_printed') or case.get('plate_text') or '?'} — "
            f"trạng thái / status {case.get('status')}"
        )
    for check in verdict.checks:
        print("  " + check.line())
    if verdict.ok:
        print("KẾT LUẬN: HỢP LỆ — bằng chứng nguyên vẹn, đúng nguồn. VERDICT: VALID.")
    else:
        print("KẾT LUẬN: KHÔNG HỢP LỆ — xem các dòng LỖI. VERDICT: INVALID (see FAIL lines).")


def main(argv: list[str]) -> int:
    """Verify an evidence bundle; exit 0 valid, 1 invalid, 2 unreadable."""
    parser = argparse.ArgumentParser(
        prog="trafficwatch evidence verify",
        description="Kiểm tra gói bằng chứng (không cần mạng) / verify an evidence bundle offline.",
    )
    parser.add_argument("bundle", type=Path, help="tệp .zip / the bundle file")
    parser.add_argument(
        "--server-key",
        default=None,
        help="mã khóa máy chủ do Trung tâm công bố (16 hex key id, or the 64-hex SHA-256 "
        "fingerprint or raw public key) / the server key the centre publishes",
    )
    parser.add_argument("--json", action="store_true", help="JSON output / kết quả dạng JSON")
    args = parser.parse_args(argv)
    if args.server_key is not None:
        try:
            args.server_key = trusted_key_id(args.server_key)
        except (OSError, ValueError, ProtocolError) as exc:
            parser.error(f"--server-key: {exc}")
    try:
        data = args.bundle.read_bytes()
        verdict = verify_bundle(data, trusted_server_key=args.server_key)
        files = read_zip(data)
    except (OSError, BundleError, ValueError) as exc:
        print(f"Không đọc được gói / cannot read the bundle: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        checks = [c.__dict__ for c in verdict.checks]
        print(json.dumps({"valid": verdict.ok, "checks": checks}, ensure_ascii=False, indent=2))
    else:
        _print_report(args.bundle, verdict, files)
    return EXIT_VALID if verdict.ok else EXIT_INVALID
