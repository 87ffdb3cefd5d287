"""After a restore: does the restored installation hold what the backup says, and does it verify?

Row counts against the manifest, every evidence object the database references (present, and
its bytes hashing to its name), the audit chain and its signed heads (`server audit verify`'s
logic), and the server key registered. Each result is a `Check` line of the report.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select

from central_server import db
from central_server.audit import verify_chain
from central_server.audit_cli import check_signed_heads
from central_server.backup.manifest import Manifest
from central_server.backup.references import referenced_media, row_counts
from central_server.evidence_store import (
    EvidenceHashError,
    EvidenceNotFoundError,
    EvidenceStore,
)
from central_server.export.checks import Check, fail, ok, warn
from central_server.models import ServerKey

MAX_LISTED = 5


def _listed(items: list[str]) -> str:
    more = f" (+{len(items) - MAX_LISTED})" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def check_counts(engine: Engine, manifest: Manifest) -> Check:
    """Rows per table equal the snapshot's."""
    with engine.connect() as conn:
        counts = row_counts(conn)
    wrong = [
        f"{name}: {counts.get(name)} ≠ {expected}"
        for name, expected in sorted(manifest.tables.items())
        if counts.get(name) != expected
    ]
    if wrong:
        return fail("Số dòng khác bản sao lưu", "row counts differ from the backup", _listed(wrong))
    total = sum(counts.values())
    return ok("Số dòng khớp", "row counts match", f"{total} rows in {len(counts)} tables")


def check_media(engine: Engine, store: EvidenceStore, manifest: Manifest) -> list[Check]:
    """Every referenced evidence object is present and hashes to its name."""
    with engine.connect() as conn:
        referenced = referenced_media(conn)
    known_missing = set(manifest.evidence.missing)
    absent: list[str] = []
    corrupt: list[str] = []
    expected_absent: list[str] = []
    for sha256, where in sorted(referenced.items()):
        try:
            store.get(sha256)  # reads and hashes the bytes
        except EvidenceNotFoundError:
            (expected_absent if sha256 in known_missing else absent).append(f"{sha256} ({where})")
        except EvidenceHashError:
            corrupt.append(f"{sha256} ({where})")
    checks = []
    if absent or corrupt:
        detail = _listed([f"missing {a}" for a in absent] + [f"corrupt {c}" for c in corrupt])
        checks.append(fail("Thiếu hoặc hỏng tệp bằng chứng", "evidence missing or corrupt", detail))
    else:
        present = len(referenced) - len(expected_absent)
        checks.append(
            ok(
                "Tệp bằng chứng đủ và đúng",
                "every referenced media hash present and correct",
                f"{present} objects",
            )
        )
    if expected_absent:
        checks.append(
            warn(
                "Tệp đã thiếu từ lúc sao lưu",
                "already missing when the backup was made (see its warnings)",
                _listed(expected_absent),
            )
        )
    return checks


def check_audit(engine: Engine, trusted: set[str]) -> list[Check]:
    """The audit chain and its signed heads, as `server audit verify` checks them."""
    with db.session_scope(engine, read_only=True) as session:
        chain = verify_chain(session)
        heads = check_signed_heads(session, trusted)
        registered = {row.key_id for row in session.exec(select(ServerKey)).all()}
    checks = []
    if chain.ok:
        checks.append(
            ok("Chuỗi nhật ký nguyên vẹn", "audit chain intact", f"{chain.events_checked} events")
        )
    else:
        detail = f"event {chain.first_broken_event_id} ({chain.field}): {chain.reason}"
        checks.append(fail("Chuỗi nhật ký bị đứt", "audit chain broken", detail))
    if heads.problem is not None:
        detail = f"#{heads.first_bad_signature_id}: {heads.problem}"
        checks.append(fail("Chữ ký đầu chuỗi sai", "a signed chain head fails", detail))
    elif heads.checked:
        checks.append(ok("Chữ ký đầu chuỗi hợp lệ", "signed chain heads valid", f"{heads.checked}"))
    else:
        checks.append(warn("Chưa có chữ ký đầu chuỗi", "no signed chain head yet"))
    unregistered = sorted(trusted - registered)
    if unregistered:
        checks.append(
            warn(
                "Khóa máy chủ chưa đăng ký trong CSDL",
                "server key not yet in server_key (registered at the server's next start)",
                _listed(unregistered),
            )
        )
    return checks
