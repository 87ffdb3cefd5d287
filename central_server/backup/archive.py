"""Where a backup is written and read: a directory (updated incrementally) or one tar file.

A directory keeps the evidence objects of the previous run: an object already there (same name,
same size; names are hashes) is not copied again. Each run writes a new generation directory and
its manifest last; only then are older generations and objects no longer listed removed, so a
run that dies half-way leaves the previous backup whole. A tar file is written as `.partial`
and renamed into place at the end. Both hold the same tree (see `manifest`), so a tar extracted
with `tar -xf` is a directory backup.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from central_server.atomic_files import write_atomic
from central_server.backup.errors import BackupError
from central_server.backup.manifest import (
    EVIDENCE_DIR,
    GENERATION_RE,
    MANIFEST,
    MANIFEST_HASH,
    FileEntry,
    FileRole,
    ManifestError,
    file_mode,
    object_path,
)

LOCK_FILE = ".lock"
FILE_MODE = 0o600  # a backup holds personal data and private keys: the owner only
DIR_MODE = 0o700
_CHUNK = 1 << 20


class Writer(Protocol):
    """A backup being written."""

    generation: str

    def scratch(self) -> Path:
        """A directory on the backup's filesystem for the dump before it is added."""
        ...

    def add_file(self, name: str, src: Path, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Add a file (owner-only in the backup; `mode` is what a restore gives it)."""
        ...

    def add_bytes(self, name: str, data: bytes, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Add a small file from memory."""
        ...

    def has_object(self, sha256: str, size: int, rehash: bool = False) -> bool:
        """Whether an earlier run already holds this object (`rehash`: and its bytes match)."""
        ...

    def add_object(self, sha256: str, data: bytes) -> None:
        """Add one evidence object (its bytes already checked against its name)."""
        ...

    def commit(self, manifest: bytes, hash_line: bytes, objects: set[str]) -> Path:
        """Write the manifest last and make this backup the current one."""
        ...

    def abort(self) -> None:
        """Drop what this run wrote (a directory keeps its previous backup)."""
        ...


def generation_name(now: datetime, taken: set[str]) -> str:
    """`backup-YYYYmmddTHHMMSSZ`, with a suffix if that second is taken."""
    base = "backup-" + now.strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def safe_name(name: str) -> str:
    """Refuse a manifest path that could reach outside the backup."""
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ManifestError(f"unsafe path in the manifest: {name!r}")
    return name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def make_dirs(directory: Path, mode: int = DIR_MODE) -> None:
    """Create `directory` and its missing parents with `mode` (mkdir's own mode obeys the umask
    and reaches only the last one)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        os.chmod(new, mode)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    make_dirs(path.parent)
    write_atomic(path, data, mode)


class DirWriter:
    """A backup directory, updated in place."""

    def __init__(self, root: Path, now: datetime) -> None:
        self.root = root
        make_dirs(root)
        self._lock = _lock(root)
        taken = {p.name for p in root.iterdir()}
        self.generation = generation_name(now, taken)
        self._gen_dir = root / self.generation
        make_dirs(self._gen_dir)

    def scratch(self) -> Path:
        """The new generation's own directory (the dump is produced in place)."""
        return self._gen_dir

    def add_file(self, name: str, src: Path, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Copy `src` to `name` (or take the dump produced in place), fsync'd, owner-only."""
        dest = self.root / safe_name(name)
        make_dirs(dest.parent)
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        os.chmod(dest, FILE_MODE)
        with dest.open("rb+") as handle:
            os.fsync(handle.fileno())
        sha256, size = _hash_file(dest)
        return FileEntry(path=name, role=role, size=size, sha256=sha256, mode=file_mode(mode))

    def add_bytes(self, name: str, data: bytes, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Write a small file."""
        _write_atomic(self.root / safe_name(name), data, FILE_MODE)
        sha256 = hashlib.sha256(data).hexdigest()
        return FileEntry(path=name, role=role, size=len(data), sha256=sha256, mode=file_mode(mode))

    def has_object(self, sha256: str, size: int, rehash: bool = False) -> bool:
        """Whether the object is already here with the right size (names are hashes)."""
        path = self.root / object_path(sha256)
        try:
            if path.stat().st_size != size:
                return False
        except FileNotFoundError:
            return False
        # Without `rehash` a copy rotted on the backup disk is found by the restore's check.
        return not rehash or _hash_file(path)[0] == sha256

    def add_object(self, sha256: str, data: bytes) -> None:
        """Write one evidence object."""
        _write_atomic(self.root / object_path(sha256), data, FILE_MODE)

    def commit(self, manifest: bytes, hash_line: bytes, objects: set[str]) -> Path:
        """Manifest last; then drop older generations and objects no longer listed."""
        _write_atomic(self._gen_dir / MANIFEST_HASH, hash_line, FILE_MODE)
        _write_atomic(self._gen_dir / MANIFEST, manifest, FILE_MODE)
        _fsync_dir(self._gen_dir)
        _fsync_dir(self.root)
        for other in self.root.iterdir():
            if other != self._gen_dir and GENERATION_RE.fullmatch(other.name):
                shutil.rmtree(other)
        for sha256, path in _stored_objects(self.root / EVIDENCE_DIR):
            if sha256 not in objects:
                path.unlink()  # purged by retention since the last run
        self._lock.close()
        return self._gen_dir

    def abort(self) -> None:
        """Remove the unfinished generation; objects copied stay for the next run."""
        shutil.rmtree(self._gen_dir, ignore_errors=True)
        self._lock.close()


def _lock(root: Path) -> IO[bytes]:
    """Hold the directory's lock: a second backup into it would prune this one's files."""
    handle = (root / LOCK_FILE).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BackupError(f"another backup is writing to {root}") from None
    return handle


def _stored_objects(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for path in root.glob("??/??/*"):
        if path.is_file() and not path.name.startswith("."):
            yield path.name, path


class TarWriter:
    """One tar file, written as `<name>.partial` and renamed when complete."""

    def __init__(self, path: Path, now: datetime) -> None:
        self.path = path
        self.generation = generation_name(now, set())
        self._mtime = now.timestamp()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = path.with_name(path.name + ".partial")
        fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        self._file = os.fdopen(fd, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self._scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tw-backup-"))

    def scratch(self) -> Path:
        """A temporary directory beside the tar file."""
        return self._scratch

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(safe_name(name))
        info.size, info.mode, info.mtime = size, FILE_MODE, self._mtime
        return info

    def add_file(self, name: str, src: Path, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Hash `src`, then stream it into the tar."""
        sha256, size = _hash_file(src)
        with src.open("rb") as handle:
            self._tar.addfile(self._info(name, size), handle)
        if src.is_relative_to(self._scratch):
            src.unlink()
        return FileEntry(path=name, role=role, size=size, sha256=sha256, mode=file_mode(mode))

    def _add(self, name: str, data: bytes) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_bytes(self, name: str, data: bytes, role: FileRole, mode: int = FILE_MODE) -> FileEntry:
        """Add a small file from memory."""
        self._add(name, data)
        sha256 = hashlib.sha256(data).hexdigest()
        return FileEntry(path=name, role=role, size=len(data), sha256=sha256, mode=file_mode(mode))

    def has_object(self, sha256: str, size: int, rehash: bool = False) -> bool:
        """A tar file is always a full backup."""
        return False

    def add_object(self, sha256: str, data: bytes) -> None:
        """Add one evidence object."""
        self._add(object_path(sha256), data)

    def commit(self, manifest: bytes, hash_line: bytes, objects: set[str]) -> Path:
        """Manifest last, fsync, rename into place."""
        self._add(f"{self.generation}/{MANIFEST}", manifest)
        self._add(f"{self.generation}/{MANIFEST_HASH}", hash_line)
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self.path)
        _fsync_dir(self.path.parent)
        shutil.rmtree(self._scratch, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Remove the partial file and the scratch directory."""
        with contextlib.suppress(OSError):
            self._tar.close()
        with contextlib.suppress(OSError):
            self._file.close()
        self._partial.unlink(missing_ok=True)
        shutil.rmtree(self._scratch, ignore_errors=True)


def open_writer(out: Path, now: datetime) -> Writer:
    """A tar writer for `*.tar`, else a directory writer."""
    if out.suffix == ".tar":
        return TarWriter(out, now)
    if out.exists() and not out.is_dir():
        raise BackupError(f"{out} exists and is not a directory")
    return DirWriter(out, now)
