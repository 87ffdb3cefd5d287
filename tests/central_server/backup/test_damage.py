"""A damaged backup is refused before anything is written: a flipped byte in a media object or in
the dump, a missing object, an edited manifest; in a directory and in a tar file."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from central_server.backup.cli import backup, restore
from central_server.backup.load import check_target_database
from central_server.backup.manifest import decode_manifest
from central_server.backup.reader import DirReader, read_manifest
from tests.central_server.backup.conftest import System, Target

# End to end through real processes and brokers: in the slow suite (.ci/run runs it).
pytestmark = pytest.mark.slow


def _flip(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _generation(root: Path) -> Path:
    return next(root.glob("backup-*"))


def _media_object(root: Path) -> Path:
    """A JPEG of a case (a media part, not the packet itself)."""
    for path in sorted((root / "evidence").glob("??/??/*")):
        if path.read_bytes()[:2] == b"\xff\xd8":
            return path
    raise AssertionError("no JPEG in the backup")


def _flip_media_byte(root: Path) -> None:
    _flip(_media_object(root), 100)


def _remove_object(root: Path) -> None:
    _media_object(root).unlink()


def _flip_dump_byte(root: Path) -> None:
    dump = next(p for p in _generation(root).iterdir() if p.name.startswith("database."))
    _flip(dump, dump.stat().st_size // 2)


def _edit_manifest(root: Path) -> None:
    path = _generation(root) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"]["violation"] += 1
    path.write_text(json.dumps(manifest))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "a media byte flipped": _flip_media_byte,
    "an evidence object missing": _remove_object,
    "a dump byte flipped": _flip_dump_byte,
    "the manifest edited": _edit_manifest,
}


def test_a_damaged_backup_is_refused_before_anything_is_written(
    server_env: System, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good"
    assert backup(["--out", str(good)]) == 0
    reader = DirReader(good)
    manifest, _ = read_manifest(reader)
    for name, damage in DAMAGE.items():
        copy = tmp_path / name.replace(" ", "-")
        shutil.copytree(good, copy)
        damage(copy)
        capsys.readouterr()
        assert restore(["--from", str(copy), "--check"]) == 3, name
        assert restore(["--from", str(copy), *target.args()]) == 3, name
        err = capsys.readouterr().err
        assert "the backup is damaged, nothing was written" in err, (name, err)
        assert not target.data_dir.exists(), name
        assert check_target_database(target.database_url, manifest) == [], name
    assert restore(["--from", str(good), "--check"]) == 0


def test_a_damaged_tar_backup_is_refused(
    server_env: System, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "backup.tar"
    assert backup(["--out", str(out)]) == 0
    with tarfile.open(out) as archive:
        members = archive.getmembers()
        manifest_member = next(m for m in members if m.name.endswith("/manifest.json"))
        hash_member = next(m for m in members if m.name.endswith("/manifest.sha256"))
        manifest = decode_manifest(
            archive.extractfile(manifest_member).read(),  # type: ignore[union-attr]
            archive.extractfile(hash_member).read(),  # type: ignore[union-attr]
        )
        jpeg = next(
            m
            for m in members
            if m.name.startswith("evidence/") and archive.extractfile(m).read(2) == b"\xff\xd8"  # type: ignore[union-attr]
        )
    assert all(m.mode == 0o600 for m in members)
    _flip(out, jpeg.offset_data + 50)
    assert restore(["--from", str(out), *target.args()]) == 3
    assert "is damaged" in capsys.readouterr().err
    assert not target.data_dir.exists()
    assert check_target_database(target.database_url, manifest) == []
