from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from central_server.evidence_store import (
    EvidenceHashError,
    EvidenceNotFoundError,
    EvidenceStore,
    FilesystemEvidenceStore,
)

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
JPEG_SHA = hashlib.sha256(JPEG).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FilesystemEvidenceStore:
    return FilesystemEvidenceStore(tmp_path / "evidence")


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_objects_are_named_by_their_sha256(store: FilesystemEvidenceStore) -> None:
    assert store.put(JPEG) == JPEG_SHA
    path = store.root / JPEG_SHA[:2] / JPEG_SHA[2:4] / JPEG_SHA
    assert store.path_for(JPEG_SHA) == path
    assert path.read_bytes() == JPEG
    assert store.get(JPEG_SHA) == JPEG
    assert store.exists(JPEG_SHA)


def test_stored_files_are_read_only_and_no_temp_files_remain(
    store: FilesystemEvidenceStore,
) -> None:
    store.put(memoryview(JPEG))
    files = _all_files(store.root)
    assert files == [store.path_for(JPEG_SHA)]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o440


def test_putting_the_same_bytes_twice_is_harmless(store: FilesystemEvidenceStore) -> None:
    store.put(JPEG)
    assert store.put_verified(JPEG, JPEG_SHA) == JPEG_SHA
    assert _all_files(store.root) == [store.path_for(JPEG_SHA)]


def test_bytes_that_do_not_match_their_hash_are_not_stored(store: FilesystemEvidenceStore) -> None:
    with pytest.raises(EvidenceHashError):
        store.put_verified(JPEG + b"x", JPEG_SHA)
    assert _all_files(store.root) == []


def test_a_missing_object_is_reported(store: FilesystemEvidenceStore) -> None:
    with pytest.raises(EvidenceNotFoundError):
        store.get("0" * 64)
    assert not store.exists("0" * 64)


def test_a_corrupted_object_is_detected_on_read(store: FilesystemEvidenceStore) -> None:
    path = store.path_for(store.put(JPEG))
    os.chmod(path, 0o640)
    path.write_bytes(JPEG[:-1] + b"\x00")
    with pytest.raises(EvidenceHashError):
        store.get(JPEG_SHA)


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABCDEF" + "0" * 58, "0" * 63, ""])
def test_only_sha256_names_are_accepted(store: FilesystemEvidenceStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.get(name)


def test_delete_removes_the_object_and_tolerates_a_second_call(
    store: FilesystemEvidenceStore,
) -> None:
    store.put(JPEG)
    store.delete(JPEG_SHA)
    store.delete(JPEG_SHA)
    assert not store.exists(JPEG_SHA)


def test_the_filesystem_store_satisfies_the_protocol(store: FilesystemEvidenceStore) -> None:
    assert isinstance(store, EvidenceStore)
