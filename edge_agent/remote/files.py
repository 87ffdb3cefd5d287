"""The files remote control keeps beside the running config, all replaced atomically.

    site.yaml            the config in force (the technician's, or the last pushed one)
    site.previous.yaml   the config before the last push: what a rollback restores
    site.remote.json     what the box remembers (`state.RemoteState`)
    site.replies/        replies waiting to be published (`replies.ReplySpool`)

A file is written to a temporary name in the same folder, fsynced, renamed over the old one and
the folder fsynced, so a power cut leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` (all or nothing); keeps the old file's mode unless given."""
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o640
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
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


class ConfigFiles:
    """Where the running config, the previous one, the state and the reply spool live."""

    def __init__(self, config_path: Path | str) -> None:
        self.path = Path(config_path)
        stem, suffix = self.path.stem, self.path.suffix or ".yaml"
        self.previous = self.path.with_name(f"{stem}.previous{suffix}")
        self.state = self.path.with_name(f"{stem}.remote.json")
        self.replies = self.path.with_name(f"{stem}.replies")

    def install(self, text: str) -> None:
        """Keep the running config as the previous one, then put `text` in its place."""
        write_atomic(self.previous, self.path.read_bytes())
        write_atomic(self.path, text.encode("utf-8"))

    def restore_previous(self) -> bool:
        """Put the previous config back in force; False when there is none."""
        try:
            data = self.previous.read_bytes()
        except FileNotFoundError:
            return False
        write_atomic(self.path, data)
        return True
