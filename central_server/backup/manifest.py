"""The backup's manifest: what a backup holds, every file's size and SHA-256, itself hashed.

A backup is a tree (a directory, or the same tree in a tar file):

    backup-20250301T013015Z/manifest.json      this manifest
    backup-20250301T013015Z/manifest.sha256    its SHA-256, in `sha256sum -c` format
    backup-20250301T013015Z/database.pgdump    pg_dump custom format (or database.sqlite3)
    backup-20250301T013015Z/evidence-index.txt one "<sha256> <size>" line per evidence object
    backup-20250301T013015Z/server_public_keys.json, keys/, config/, broker/
    evidence/ab/cd/<sha256>                    the content-addressed evidence objects

The evidence objects are listed in the index rather than in the manifest (a city's store holds
millions); the index itself is a file of the manifest, so every byte is covered by one hash chain:
manifest.sha256 → manifest.json → each file → the index → each object (named by its hash).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from central_server.backup.errors import BackupDamagedError

FORMAT_NAME = "trafficwatch-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.sha256"
EVIDENCE_DIR = "evidence"
GENERATION_RE = re.compile(r"backup-\d{8}T\d{6}Z(-\d+)?")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

FileRole = Literal["database", "evidence_index", "public_keys", "key", "env", "broker"]
DatabaseKind = Literal["sqlite", "postgresql"]


class ManifestError(BackupDamagedError):
    """The manifest is missing, altered or not one this version reads."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileEntry(_Strict):
    """One file of the backup (evidence objects excepted: see the index)."""

    path: str
    role: FileRole
    size: int = Field(ge=0)
    sha256: str = Field(pattern=_SHA256_RE.pattern)
    mode: str = Field(pattern=r"^0[0-7]{3}$", description="permission bits to restore it with")

    @property
    def mode_bits(self) -> int:
        """The mode as a number."""
        return int(self.mode, 8)


class DatabaseInfo(_Strict):
    """The dump and where it came from."""

    kind: DatabaseKind
    path: str
    tool: str = Field(description="`pg_dump --version`, or the SQLite library version")
    server_version: str
    schema_name: str | None = Field(
        default=None, description="PostgreSQL schema dumped alone (`--schema`); None: all"
    )


class EvidenceInfo(_Strict):
    """The evidence objects and how they relate to what the database references."""

    index_path: str
    objects: int
    bytes: int
    referenced: int = Field(description="distinct objects the database snapshot references")
    missing: list[str] = Field(
        default_factory=list,
        description="referenced but absent from the store when copied (already lost, or "
        "purged by retention after the snapshot): listed so a restore can tell them apart "
        "from damage",
    )
    corrupt_skipped: list[str] = Field(
        default_factory=list, description="objects whose bytes no longer match their name"
    )


class Manifest(_Strict):
    """Everything a restore checks before it writes a byte."""

    format: Literal["trafficwatch-backup"] = "trafficwatch-backup"
    version: Literal[1] = 1
    generation: str
    created_at: datetime
    software_version: str
    schema_revision: str | None
    database: DatabaseInfo
    tables: dict[str, int] = Field(description="rows per table in the snapshot")
    evidence: EvidenceInfo
    server_key_ids: list[str] = Field(description="private keys in keys/, by key id")
    files: list[FileEntry]
    warnings: list[str] = Field(default_factory=list)

    def file(self, role: FileRole) -> FileEntry | None:
        """The first file with `role`, if any."""
        return next((entry for entry in self.files if entry.role == role), None)


def file_mode(bits: int) -> str:
    """A mode as the manifest writes it: `0600`."""
    return f"0{bits & 0o777:03o}"


def object_path(sha256: str) -> str:
    """Where an evidence object sits in a backup (the store's own layout)."""
    if not _SHA256_RE.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return f"{EVIDENCE_DIR}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def encode_manifest(manifest: Manifest) -> tuple[bytes, bytes]:
    """The manifest's bytes and its `sha256sum`-style hash line."""
    data = (
        json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True)
        + "\n"
    ).encode("utf-8")
    return data, f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n".encode("ascii")


def decode_manifest(data: bytes, hash_line: bytes) -> Manifest:
    """Check the manifest against its hash line and parse it (ManifestError otherwise)."""
    expected = hash_line.decode("ascii", "replace").split(maxsplit=1)[:1]
    actual = hashlib.sha256(data).hexdigest()
    if expected != [actual]:
        raise ManifestError(
            f"manifest.json hashes to {actual}, manifest.sha256 says {expected or 'nothing'}"
        )
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise ManifestError("not a trafficwatch backup manifest")
    if raw.get("version") != FORMAT_VERSION:
        raise ManifestError(f"backup format version {raw.get('version')} is not supported")
    try:
        return Manifest.model_validate(raw)
    except ValueError as exc:
        raise ManifestError(f"manifest.json is malformed: {exc}") from None


def encode_index(objects: dict[str, int]) -> bytes:
    """The evidence index: one "<sha256> <size>" line per object, sorted."""
    return "".join(f"{sha} {objects[sha]}\n" for sha in sorted(objects)).encode("ascii")


def decode_index(data: bytes) -> dict[str, int]:
    """Parse the evidence index (ManifestError on a malformed line)."""
    return dict(_index_lines(data.decode("ascii", "replace").splitlines()))


def _index_lines(lines: Iterable[str]) -> Iterator[tuple[str, int]]:
    for number, line in enumerate(lines, 1):
        sha, _, size = line.partition(" ")
        if not _SHA256_RE.fullmatch(sha) or not size.isdigit():
            raise ManifestError(f"evidence-index.txt line {number} is malformed: {line[:80]!r}")
        yield sha, int(size)
