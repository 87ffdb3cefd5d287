"""The manifest and the evidence index: hashed, strict, and no path that leaves the backup."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from central_server.backup.archive import DirWriter, generation_name, safe_name
from central_server.backup.errors import BackupError
from central_server.backup.manifest import (
    DatabaseInfo,
    EvidenceInfo,
    FileEntry,
    Manifest,
    ManifestError,
    decode_index,
    decode_manifest,
    encode_index,
    encode_manifest,
    object_path,
)
from central_server.backup.restore import check_revision

WHEN = datetime(2026, 3, 30, 17, 0, tzinfo=timezone.utc)
SHA = hashlib.sha256(b"x").hexdigest()


def _manifest() -> Manifest:
    return Manifest(
        generation="backup-20260330T170000Z",
        created_at=WHEN,
        software_version="0.1.0",
        schema_revision="0008",
        database=DatabaseInfo(
            kind="sqlite",
            path="backup-20260330T170000Z/database.sqlite3",
            tool="t",
            server_version="3",
        ),
        tables={"violation": 3},
        evidence=EvidenceInfo(index_path="i", objects=1, bytes=1, referenced=1),
        server_key_ids=["0123456789abcdef"],
        files=[FileEntry(path="p", role="database", size=1, sha256=SHA, mode="0600")],
    )


def test_round_trip_and_sha256sum_format() -> None:
    data, hash_line = encode_manifest(_manifest())
    assert hash_line.decode() == f"{hashlib.sha256(data).hexdigest()}  manifest.json\n"
    assert decode_manifest(data, hash_line) == _manifest()


def test_a_changed_manifest_is_refused() -> None:
    data, hash_line = encode_manifest(_manifest())
    changed = data.replace(b'"violation": 3', b'"violation": 4')
    with pytest.raises(ManifestError, match="manifest.json hashes to"):
        decode_manifest(changed, hash_line)


def test_an_unknown_version_or_field_is_refused() -> None:
    raw = json.loads(encode_manifest(_manifest())[0])
    for change in ({"version": 2}, {"surprise": True}, {"format": "zip"}):
        data = json.dumps(raw | change).encode()
        with pytest.raises(ManifestError):
            decode_manifest(data, f"{hashlib.sha256(data).hexdigest()}  manifest.json\n".encode())


def test_index_round_trip_and_malformed_lines() -> None:
    objects = {SHA: 1, "ab" * 32: 2048}
    assert decode_index(encode_index(objects)) == objects
    with pytest.raises(ManifestError, match="line 1"):
        decode_index(b"../../etc/passwd 12\n")


@pytest.mark.parametrize("name", ["/etc/passwd", "a/../../b", "evidence//x", "./x", ""])
def test_paths_that_leave_the_backup_are_refused(name: str) -> None:
    with pytest.raises(ManifestError):
        safe_name(name)


def test_object_paths_follow_the_store_layout() -> None:
    assert object_path(SHA) == f"evidence/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    with pytest.raises(ValueError):
        object_path("../x")


def test_generation_names_never_collide() -> None:
    first = generation_name(WHEN, set())
    assert first == "backup-20260330T170000Z"
    assert generation_name(WHEN, {first}) == first + "-1"


def test_a_backup_from_a_newer_schema_is_refused() -> None:
    check_revision(_manifest())  # a revision this version knows
    newer = _manifest().model_copy(update={"schema_revision": "0999"})
    with pytest.raises(BackupError, match="newer than this software") as caught:
        check_revision(newer)
    assert caught.value.exit_code == 2


def test_one_backup_at_a_time_per_directory(tmp_path: Path) -> None:
    first = DirWriter(tmp_path, WHEN)
    with pytest.raises(BackupError, match="another backup is writing"):
        DirWriter(tmp_path, WHEN)
    first.abort()
    DirWriter(tmp_path, WHEN).abort()
    assert not list(tmp_path.glob("backup-*"))
