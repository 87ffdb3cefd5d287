"""Content-addressed evidence storage: bytes are named by their SHA-256 and never change."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

logger = logging.getLogger(__name__)

FILE_MODE = 0o440
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX = ".tmp-"


class EvidenceStoreError(Exception):
    """Base class of evidence store errors."""


class EvidenceNotFoundError(EvidenceStoreError, LookupError):
    """No object with that SHA-256 is stored."""


class EvidenceHashError(EvidenceStoreError, ValueError):
    """Bytes do not match the SHA-256 they were given or stored under."""


def _check_digest(sha256: str) -> str:
    # Also keeps a caller-supplied name from ever reaching outside the store's root.
    if not _SHA256_RE.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256 digest: {sha256!r}")
    return sha256


@runtime_checkable
class EvidenceStore(Protocol):
    """Where evidence bytes live; the filesystem by default, S3-compatible storage later."""

    def put(self, data: bytes | memoryview) -> str:
        """Store `data` durably and return its SHA-256 hex digest (idempotent)."""
        ...

    def put_verified(self, data: bytes | memoryview, sha256: str) -> str:
        """Store `data` if it hashes to `sha256`; raise `EvidenceHashError` otherwise."""
        ...

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes; raise `EvidenceNotFoundError` or `EvidenceHashError`."""
        ...

    def exists(self, sha256: str) -> bool:
        """Return whether an object with this digest is stored."""
        ...

    def path_for(self, sha256: str) -> Path | None:
        """Return a local file path for the object, or None if the backend has none."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the object (retention); deleting a missing object is not an error."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemEvidenceStore:
    """Objects at `root/ab/cd/<sha256>`, written so that a power cut leaves whole files only."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        """Return where the object with this digest lives (whether or not it exists)."""
        digest = _check_digest(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes | memoryview) -> str:
        """Store `data` durably and return its SHA-256 hex digest (idempotent)."""
        sha256 = hashlib.sha256(data).hexdigest()
        self._write(sha256, data)
        return sha256

    def put_verified(self, data: bytes | memoryview, sha256: str) -> str:
        """Store `data` if it hashes to `sha256`; raise `EvidenceHashError` otherwise."""
        actual = hashlib.sha256(data).hexdigest()
        if actual != _check_digest(sha256):
            raise EvidenceHashError(f"bytes hash to {actual}, expected {sha256}")
        self._write(sha256, data)
        return sha256

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes, checked against their name (bit rot and tampering show)."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EvidenceNotFoundError(sha256) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            logger.error("evidence object %s is corrupt (hashes to %s)", sha256, actual)
            raise EvidenceHashError(f"stored object {sha256} hashes to {actual}")
        return data

    def exists(self, sha256: str) -> bool:
        """Return whether an object with this digest is stored."""
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove the object durably; deleting a missing object is not an error."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def _write(self, sha256: str, data: bytes | memoryview) -> None:
        path = self.path_for(sha256)
        if path.exists():
            return  # same name, same bytes: already stored
        self._make_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, FILE_MODE)
            # Atomic: a reader sees no file or the whole file. A concurrent writer of the same
            # object replaces it with identical bytes.
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)

    def _make_dirs(self, directory: Path) -> None:
        # A new directory entry is only durable once its parent is fsync'd too.
        missing = [d for d in (directory.parent, directory) if not d.is_dir()]
        for new_dir in missing:
            new_dir.mkdir(exist_ok=True)
            _fsync_dir(new_dir.parent)
