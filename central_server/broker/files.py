"""Writing generated broker files: atomically, with their mode, and only when they change.

A broker reloading its password or ACL file (Mosquitto on SIGHUP) must never read half a file,
so each is written to a temporary file beside it and renamed over it. Secrets are created with
their final mode (never briefly world-readable); an unchanged file is left alone, so running the
generator again is a no-op the caller can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from central_server.atomic_files import write_atomic

SECRET = 0o600  # private keys no broker needs (the CA key)
BROKER_READS = 0o640  # what the broker's group must read: hashes, ACL, its TLS key, config
PUBLIC = 0o644  # certificates


@dataclass(frozen=True)
class Written:
    """A generated file and whether this run changed it."""

    path: Path
    mode: int
    changed: bool


def write_file(path: Path, data: bytes, mode: int) -> Written:
    """Write `data` to `path` with `mode` unless it already holds exactly that."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
            return Written(path, mode, True)
        return Written(path, mode, False)
    write_atomic(path, data, mode)
    return Written(path, mode, True)


def write_text(path: Path, text: str, mode: int) -> Written:
    """`write_file` for UTF-8 text."""
    return write_file(path, text.encode("utf-8"), mode)
