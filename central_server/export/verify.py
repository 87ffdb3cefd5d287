"""Verify an evidence bundle offline, from its bytes alone: no database, no network.

Checks, in order: the ZIP and its manifest (every file's hash), the server key against the
fingerprint the user trusts, the manifest's signature, the device key record, the packet's
signature and part hashes, the media files, the server's signed ack, and the audit excerpt's
chain (links, hashes, values, the signed head). Each check is reported; any failure fails the
bundle.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from central_server.export import format as fmt
from central_server.export.audit_check import check_audit
from central_server.export.checks import Check, fail, ok, warn
from central_server.export.packet_check import (
    check_ack,
    check_enrolment,
    check_media,
    check_packet,
    load_device,
)
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PublicKey, key_id, public_key_from_pem, public_key_from_raw

MAX_FILES = 64


class BundleError(Exception):
    """The bundle cannot be read at all (not a ZIP, no manifest, a file too big)."""


@dataclass
class Verdict:
    """Every check made, and whether the bundle holds."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)


@dataclass
class _Ctx:
    files: dict[str, bytes]
    manifest: fmt.Manifest
    server_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)


def read_zip(data: bytes) -> dict[str, bytes]:
    """The bundle's files by name, refusing anything a bundle never contains."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BundleError(f"không phải tệp ZIP / not a ZIP file: {exc}") from None
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise BundleError(f"quá nhiều tệp / too many files ({len(infos)})")
    files: dict[str, bytes] = {}
    for info in infos:
        if info.file_size > fmt.MAX_BUNDLE_FILE_BYTES or info.filename in files:
            raise BundleError(f"tệp bất thường / unexpected entry {info.filename!r}")
        try:
            files[info.filename] = archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BundleError(f"tệp hỏng / corrupt entry {info.filename!r}: {exc}") from None
    return files


def _parse(model: type[fmt._Strict], data: bytes, name: str) -> Any:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise BundleError(f"{name} không hợp lệ / is malformed: {exc.errors()[0]['msg']}") from None


def _check_files(ctx: _Ctx) -> None:
    listed = {entry.name: entry for entry in ctx.manifest.files}
    for name, entry in sorted(listed.items()):
        data = ctx.files.get(name)
        if data is None:
            ctx.checks.append(fail("Thiếu tệp", "File missing", name))
        elif hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.size:
            ctx.checks.append(fail("Tệp bị thay đổi", "File altered (hash mismatch)", name))
    extra = set(ctx.files) - set(listed) - {fmt.MANIFEST, fmt.MANIFEST_SIG}
    for name in sorted(extra):
        ctx.checks.append(fail("Tệp lạ không có trong danh mục", "File not in the manifest", name))
    if not any(c.status == "fail" for c in ctx.checks):
        ctx.checks.append(ok("Mọi tệp khớp danh mục", "Every file matches the manifest"))


def _load_server_keys(ctx: _Ctx) -> None:
    parsed: fmt.ServerKeysFile = _parse(
        fmt.ServerKeysFile, ctx.files.get(fmt.SERVER_KEYS, b"{}"), fmt.SERVER_KEYS
    )
    for record in parsed.keys:
        try:
            public = public_key_from_raw(bytes.fromhex(record.public_key))
        except (ValueError, ProtocolError):
            ctx.checks.append(fail("Khóa máy chủ hỏng", "Malformed server key", record.key_id))
            continue
        if key_id(public) != record.key_id:
            ctx.checks.append(fail("Mã khóa máy chủ sai", "Server key id mismatch", record.key_id))
            continue
        ctx.server_keys[record.key_id] = public


def trusted_key_id(value: str) -> str:
    """The key id in what the user trusts: a 16-hex key id, a 64-hex SHA-256 fingerprint of the
    raw public key (the key id is its start), or a PEM public key file."""
    text = value.strip()
    if text.endswith(".pem") or "/" in text:
        with open(text, "rb") as pem:
            return key_id(public_key_from_pem(pem.read()))
    text = text.lower().replace(":", "").replace(" ", "")
    if len(text) in (16, 64) and all(c in "0123456789abcdef" for c in text):
        return text[:16]
    raise ValueError(f"không phải mã khóa / not a key id or fingerprint: {value!r}")


def _check_trust(ctx: _Ctx, trusted: str | None) -> None:
    signer = ctx.manifest.signing_key_id
    if trusted is None:
        ctx.checks.append(
            warn(
                "Chưa đối chiếu khóa máy chủ với mã do Trung tâm công bố (--server-key)",
                "Server key not compared with the fingerprint the centre publishes (--server-key)",
                f"signing key id {signer}",
            )
        )
        return
    if trusted_key_id(trusted) == signer:
        ctx.checks.append(
            ok("Khóa máy chủ đúng mã đã tin cậy", "Server key matches the trusted id")
        )
    else:
        ctx.checks.append(
            fail("Khóa máy chủ KHÔNG khớp mã tin cậy", "Server key does NOT match", signer)
        )


def _check_manifest_signature(ctx: _Ctx) -> None:
    public = ctx.server_keys.get(ctx.manifest.signing_key_id)
    signature = ctx.files.get(fmt.MANIFEST_SIG, b"")
    try:
        if public is None:
            raise ValueError("unknown key")
        public.verify(signature, fmt.MANIFEST_DOMAIN + ctx.files[fmt.MANIFEST])
    except (InvalidSignature, ValueError):
        ctx.checks.append(fail("Chữ ký danh mục sai", "Manifest signature invalid"))
        return
    ctx.checks.append(ok("Chữ ký máy chủ trên danh mục hợp lệ", "Manifest signed by the server"))


def _check_manifest_header(ctx: _Ctx) -> bool:
    manifest = ctx.manifest
    if (manifest.format, manifest.version) != (fmt.FORMAT_NAME, fmt.FORMAT_VERSION):
        ctx.checks.append(
            fail("Định dạng gói không hỗ trợ", "Unsupported bundle format", manifest.format)
        )
        return False
    return True


def _device_side(ctx: _Ctx) -> None:
    device, problems = load_device(ctx.files)
    ctx.checks += problems
    if device is None:
        return
    ctx.checks += check_enrolment(device)
    packet, checks = check_packet(ctx.files, ctx.manifest, device)
    ctx.checks += checks
    if packet is None:
        return
    ctx.checks += check_media(ctx.files, packet)
    ctx.checks += check_ack(ctx.files, packet, ctx.server_keys)


def verify_bundle(data: bytes, *, trusted_server_key: str | None = None) -> Verdict:
    """Run every check on a bundle's bytes; raises BundleError only if it cannot be read."""
    files = read_zip(data)
    if fmt.MANIFEST not in files:
        raise BundleError("thiếu manifest.json / manifest.json missing")
    manifest: fmt.Manifest = _parse(fmt.Manifest, files[fmt.MANIFEST], fmt.MANIFEST)
    ctx = _Ctx(files=files, manifest=manifest)
    if not _check_manifest_header(ctx):
        return Verdict(ctx.checks)
    _check_files(ctx)
    _load_server_keys(ctx)
    _check_trust(ctx, trusted_server_key)
    _check_manifest_signature(ctx)
    _device_side(ctx)
    ctx.checks += check_audit(ctx.files, manifest, ctx.server_keys)
    return Verdict(ctx.checks)


def case_summary(files: dict[str, bytes]) -> dict[str, Any]:
    """The case's decisions from `case.json`, for the report (empty if unreadable)."""
    try:
        value = json.loads(files.get(fmt.CASE, b"{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
