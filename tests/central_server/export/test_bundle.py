from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from central_server.export import format as fmt
from central_server.export.cli import main as verify_main
from central_server.export.verify import BundleError, verify_bundle
from central_server.models import AuditEvent
from protocol.keys import key_id, public_key_to_raw
from tests.central_server.export.conftest import Case


def _files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _fail_labels(bundle: bytes, **kwargs: str) -> list[str]:
    verdict = verify_bundle(bundle, **kwargs)
    return [c.label_en for c in verdict.checks if c.status == "fail"]


def test_a_confirmed_case_exports_a_bundle_that_verifies(case: Case) -> None:
    case.work_through()
    case.sign_head()
    bundle = case.export()
    files = _files(bundle)
    assert files[fmt.PACKET] == case.packet
    assert {fmt.MANIFEST, fmt.MANIFEST_SIG, fmt.ACK, fmt.AUDIT, fmt.CASE} <= set(files)
    assert any(name.startswith("media/") and name.endswith(".jpg") for name in files)
    server_kid = key_id(case.env.server_key)
    verdict = verify_bundle(bundle, trusted_server_key=server_kid)
    assert verdict.ok, [c.line() for c in verdict.checks]
    assert all(c.status == "ok" for c in verdict.checks), [c.line() for c in verdict.checks]
    audit = json.loads(files[fmt.AUDIT])
    actions = [e["action"] for e in audit["events"] if e["id"] in audit["case_event_ids"]]
    assert actions == [
        "violation.ingested",
        "violation.approve",
        "violation.claim",
        "violation.confirm",
    ]
    case_file = json.loads(files[fmt.CASE])
    assert case_file["status"] == "confirmed"


def test_the_export_is_audited(case: Case) -> None:
    digest = hashlib.sha256(case.export()).hexdigest()
    with case.env.db.session() as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "evidence.exported")
        ).one()
    assert event.entity_id == str(case.violation_id)
    assert event.actor.startswith("user:")
    assert digest  # the bundle's hash is in the event's values (checked by the chain)


def test_without_a_signed_head_the_verdict_warns_but_holds(case: Case) -> None:
    verdict = verify_bundle(case.export())
    warnings = [c.label_en for c in verdict.checks if c.status == "warn"]
    assert verdict.ok
    assert any("--server-key" in w for w in warnings)
    assert any("signed chain head" in w for w in warnings)


def test_a_sha256_fingerprint_of_the_server_key_is_accepted(case: Case) -> None:
    raw = public_key_to_raw(case.env.server_key.public_key())
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(raw).digest())
    assert verify_bundle(case.export(), trusted_server_key=fingerprint).ok


def test_the_wrong_server_key_fails(case: Case) -> None:
    assert _fail_labels(case.export(), trusted_server_key="0123456789abcdef") == [
        "Server key does NOT match"
    ]


def _tamper_media(files: dict[str, bytes]) -> None:
    name = next(n for n in files if n.startswith("media/"))
    files[name] = files[name][:-1] + bytes([files[name][-1] ^ 1])


def _tamper_packet(files: dict[str, bytes]) -> None:
    files[fmt.PACKET] = files[fmt.PACKET][:-1] + bytes([files[fmt.PACKET][-1] ^ 1])


def _tamper_case_status(files: dict[str, bytes]) -> None:
    case = json.loads(files[fmt.CASE])
    case["status"] = "dismissed"
    files[fmt.CASE] = json.dumps(case).encode()


def _tamper_audit_actor(files: dict[str, bytes]) -> None:
    audit = json.loads(files[fmt.AUDIT])
    audit["events"][-1]["actor"] = "user:999"
    files[fmt.AUDIT] = json.dumps(audit).encode()


def _drop_file(files: dict[str, bytes]) -> None:
    del files[fmt.ACK]


def _add_file(files: dict[str, bytes]) -> None:
    files["media/extra.jpg"] = b"\xff\xd8 planted"


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_media,
        _tamper_packet,
        _tamper_case_status,
        _tamper_audit_actor,
        _drop_file,
        _add_file,
    ],
)
def test_a_tampered_bundle_is_caught(
    case: Case, tamper: Callable[[dict[str, bytes]], None]
) -> None:
    case.work_through()
    files = _files(case.export())
    tamper(files)
    failures = _fail_labels(_rezip(files), trusted_server_key=key_id(case.env.server_key))
    assert failures, "tampering went unnoticed"


def test_a_bundle_resigned_by_a_forger_fails_on_the_trusted_key(case: Case) -> None:
    """Rewriting a file and re-signing the manifest with a key of one's own does not pass."""
    from protocol.keys import generate_private_key

    files = _files(case.export())
    forger = generate_private_key()
    _tamper_case_status(files)
    keys = json.loads(files[fmt.SERVER_KEYS])
    raw = public_key_to_raw(forger.public_key())
    keys["keys"].append(
        {
            "key_id": key_id(forger),
            "public_key": raw.hex(),
            "created_at": "2025-03-01T00:00:00Z",
            "retired_at": None,
        }
    )
    files[fmt.SERVER_KEYS] = json.dumps(keys).encode()
    manifest = json.loads(files[fmt.MANIFEST])
    manifest["signing_key_id"] = key_id(forger)
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256(files[entry["name"]]).hexdigest()
        entry["size"] = len(files[entry["name"]])
    files[fmt.MANIFEST] = json.dumps(manifest).encode()
    files[fmt.MANIFEST_SIG] = forger.sign(fmt.MANIFEST_DOMAIN + files[fmt.MANIFEST])
    failures = _fail_labels(_rezip(files), trusted_server_key=key_id(case.env.server_key))
    assert failures == ["Server key does NOT match"]


def test_what_is_not_a_bundle_is_refused() -> None:
    with pytest.raises(BundleError):
        verify_bundle(b"PK\x03\x04 not really a zip")
    with pytest.raises(BundleError, match="manifest"):
        verify_bundle(_rezip({"hello.txt": b"hi"}))


def test_the_command_prints_a_bilingual_verdict(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(case.export())
    assert verify_main([str(path), "--server-key", key_id(case.env.server_key)]) == 0
    out = capsys.readouterr().out
    assert "HỢP LỆ" in out and "VALID" in out
    files = _files(path.read_bytes())
    _tamper_media(files)
    path.write_bytes(_rezip(files))
    assert verify_main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "KHÔNG HỢP LỆ" in out and "INVALID" in out and "[LỖI / FAIL]" in out
    path.write_bytes(b"garbage")
    assert verify_main([str(path)]) == 2
