"""`trafficwatch server backup` and `trafficwatch server restore`.

Progress goes to stderr, the result to stdout (`--json` for scripts). Exit codes are in
`backup.errors`: 0 done, 1 done with warnings (backup) or a failed check (restore), 2 nothing
done (an error), 3 the backup is damaged, 4 the restore target is not empty.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from central_server.backup.create import BackupOptions, BackupResult, create_backup
from central_server.backup.errors import (
    EXIT_ERROR,
    EXIT_INCOMPLETE,
    EXIT_OK,
    BackupDamagedError,
    BackupError,
    TargetNotEmptyError,
)
from central_server.backup.restore import RestoreOptions, RestoreReport, restore_backup
from central_server.settings import Settings, env_file, get_settings


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _env_file_default() -> Path | None:
    path = Path(env_file())
    return path if path.is_file() else None


def _backup_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server backup",
        description="Sao lưu CSDL, kho bằng chứng và khóa cùng lúc, nhất quán / back up the "
        "database, the evidence store and the keys together, consistently (the server may "
        "keep running).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="a directory (updated incrementally: only new evidence is copied) or FILE.tar",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="env file to include (TW_SECRET_KEY, passwords); default: TW_ENV_FILE or ./.env",
    )
    parser.add_argument("--no-env-file", action="store_true", help="do not include an env file")
    parser.add_argument(
        "--broker-dir", type=Path, default=None, help="the `server broker-acl --out` directory"
    )
    parser.add_argument("--pg-bin", type=Path, default=None, help="where pg_dump is")
    parser.add_argument(
        "--rehash", action="store_true", help="re-read evidence an earlier run already copied"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _backup_summary(result: BackupResult) -> dict[str, Any]:
    manifest = result.manifest
    return {
        "path": str(result.path),
        "generation": manifest.generation,
        "manifest_sha256": result.manifest_sha256,
        "database": manifest.database.kind,
        "schema_revision": manifest.schema_revision,
        "rows": sum(manifest.tables.values()),
        "evidence_objects": manifest.evidence.objects,
        "evidence_bytes": manifest.evidence.bytes,
        "copied": result.evidence.copied,
        "reused": result.evidence.reused,
        "server_key_ids": manifest.server_key_ids,
        "warnings": manifest.warnings,
        "notes": result.notes,
    }


def backup(argv: list[str]) -> int:
    """Back up the database and the evidence store; exit 0 complete, 1 with warnings, 2 failed."""
    args = _backup_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    env_file = None if args.no_env_file else (args.env_file or _env_file_default())
    options = BackupOptions(env_file, args.broker_dir, args.pg_bin, args.rehash)
    try:
        result = create_backup(get_settings(), args.out, options, _progress)
    except (BackupError, OSError) as exc:
        print(f"Lỗi, chưa sao lưu / error, nothing backed up: {exc}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, BackupError) else EXIT_ERROR
    summary = _backup_summary(result)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_backup(summary)
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


def _print_backup(summary: dict[str, Any]) -> None:
    print(f"Đã sao lưu / backed up: {summary['path']} ({summary['generation']})")
    print(f"  bản kê / manifest sha256: {summary['manifest_sha256']}")
    print(
        f"  CSDL / database: {summary['database']}, lược đồ / schema {summary['schema_revision']}, "
        f"{summary['rows']} dòng / rows"
    )
    print(
        f"  bằng chứng / evidence: {summary['evidence_objects']} tệp / objects, "
        f"{summary['evidence_bytes'] / 1e6:.1f} MB ({summary['copied']} mới / new, "
        f"{summary['reused']} đã có / already there)"
    )
    print(f"  khóa máy chủ / server keys: {', '.join(summary['server_key_ids']) or '—'}")
    for note in summary["notes"]:
        print(f"[LƯU Ý / NOTE] {note}")
    for warning in summary["warnings"]:
        print(f"[CẢNH BÁO / WARNING] {warning}")


def _restore_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server restore",
        description="Khôi phục bản sao lưu vào một hệ thống trống / restore a backup into an empty "
        "installation (stop the server first), then verify it.",
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, help="DIR or FILE.tar")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: TW_DATA_DIR")
    parser.add_argument("--database-url", default=None, help="default: TW_DATABASE_URL")
    parser.add_argument(
        "--force", action="store_true", help="restore over existing data (replaced files kept)"
    )
    parser.add_argument("--check", action="store_true", help="only verify the backup")
    parser.add_argument("--env-file", type=Path, default=None, help="write the env file here")
    parser.add_argument("--broker-dir", type=Path, default=None, help="write broker files here")
    parser.add_argument("--pg-bin", type=Path, default=None, help="where pg_restore is")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _restore_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.database_url is not None:
        overrides["database_url"] = args.database_url
    if not overrides:
        return get_settings()
    return Settings(_env_file=env_file(), **overrides)


def restore(argv: list[str]) -> int:
    """Restore a backup and verify it; exit 0 verified, 1 a check failed, 2-4 refused."""
    args = _restore_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = RestoreOptions(args.force, args.env_file, args.broker_dir, args.pg_bin, args.check)
    try:
        settings = _restore_settings(args)
        if not args.check:
            _progress(_targets(settings))
        report = restore_backup(settings, args.source, options, _progress)
    except TargetNotEmptyError as exc:
        print(
            "Từ chối: nơi khôi phục không trống / refused: the target is not empty", file=sys.stderr
        )
        for found in exc.found:
            print(f"  - {found}", file=sys.stderr)
        print("  (--force: khôi phục đè / restore over it)", file=sys.stderr)
        return exc.exit_code
    except BackupDamagedError as exc:
        print(
            "Từ chối: bản sao lưu bị hỏng, chưa ghi gì / refused: the backup is damaged, "
            "nothing was written",
            file=sys.stderr,
        )
        for problem in exc.problems[:20]:
            print(f"  - {problem}", file=sys.stderr)
        return exc.exit_code
    except (BackupError, OSError, ValueError) as exc:
        print(f"Lỗi / error: {exc}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, BackupError) else EXIT_ERROR
    _print_restore(report, args.json)
    return EXIT_OK if report.ok else EXIT_INCOMPLETE


def _targets(settings: Settings) -> str:
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    return (
        f"Khôi phục vào / restoring into: {url}, bằng chứng / evidence {settings.evidence_dir}, "
        f"khóa / key {settings.server_key_path}"
    )


def _print_restore(report: RestoreReport, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "generation": report.manifest.generation,
                    "manifest_sha256": report.manifest_sha256,
                    "restored": report.restored,
                    "ok": report.ok,
                    "checks": [
                        {"status": c.status, "check": c.label_en, "detail": c.detail}
                        for c in report.checks
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print(f"Bản sao lưu / backup {report.manifest.generation} ({report.manifest.created_at})")
    for check in report.checks:
        print("  " + check.line())
    if not report.restored:
        verdict = "NGUYÊN VẸN / INTACT" if report.ok else "HỎNG / DAMAGED"
    else:
        verdict = (
            "ĐÃ KHÔI PHỤC, KIỂM TRA ĐẠT / RESTORED AND VERIFIED"
            if report.ok
            else "ĐÃ KHÔI PHỤC NHƯNG CÓ LỖI / RESTORED, BUT A CHECK FAILED (see FAIL lines)"
        )
    print(f"KẾT QUẢ / RESULT: {verdict}")
