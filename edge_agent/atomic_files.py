"""Replacing a file on the box so that a power cut leaves the old or the new one, never half.

A file is written to a temporary name in the same folder (created 0600, so a secret is never
readable by others, not even for a moment), fsynced, given its mode (and, as root, the old file's
owner), renamed over the old one, and the folder fsynced. Used for the config and what remote
control keeps beside it, and by the technician's CLI (`provisioning/files.py`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(
    path: Path, data: bytes, mode: int | None = None, *, new_mode: int = 0o640
) -> None:
    """Replace `path` with `data`; an existing file keeps its mode and owner unless `mode` is
    given, a new one gets `mode` or `new_mode`. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old: os.stat_result | None = path.stat()
    except FileNotFoundError:
        old = None
    final_mode = mode if mode is not None else (stat.S_IMODE(old.st_mode) if old else new_mode)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, final_mode)
        if old is not None and os.geteuid() == 0:
            os.fchown(fd, old.st_uid, old.st_gid)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
