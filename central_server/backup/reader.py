"""Reading a backup (a directory or a tar file) without trusting it: names are checked, and
nothing is extracted except what the manifest lists, by the restore's own paths."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from central_server.backup.archive import safe_name
from central_server.backup.errors import BackupError
from central_server.backup.manifest import (
    GENERATION_RE,
    MANIFEST,
    MANIFEST_HASH,
    Manifest,
    ManifestError,
    decode_manifest,
)

_CHUNK = 1 << 20


class Reader(Protocol):
    """A backup opened for reading."""

    generation: str

    def exists(self, name: str) -> bool:
        """Whether the backup holds a regular file `name`."""
        ...

    def read(self, name: str) -> bytes:
        """The whole file (small files and evidence objects)."""
        ...

    def open(self, name: str) -> IO[bytes]:
        """A stream of the file (the database dump)."""
        ...

    def close(self) -> None:
        """Release the file handles."""
        ...


def _missing(name: str) -> ManifestError:
    return ManifestError(f"{name} is missing from the backup")


def _newest(generations: set[str], source: Path) -> str:
    if not generations:
        raise ManifestError(f"no complete backup (…/{MANIFEST}) in {source}")
    return max(generations)


class DirReader:
    """A backup directory, or one generation directory inside it."""

    def __init__(self, path: Path) -> None:
        if GENERATION_RE.fullmatch(path.name) and (path / MANIFEST).is_file():
            self.root, self.generation = path.parent, path.name
            return
        self.root = path
        complete = {
            p.name
            for p in path.iterdir()
            if GENERATION_RE.fullmatch(p.name) and (p / MANIFEST).is_file()
        }
        self.generation = _newest(complete, path)

    def _path(self, name: str) -> Path:
        return self.root / safe_name(name)

    def exists(self, name: str) -> bool:
        """Whether the file is there."""
        return self._path(name).is_file()

    def read(self, name: str) -> bytes:
        """The file's bytes."""
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise _missing(name) from None

    def open(self, name: str) -> IO[bytes]:
        """The file, opened for reading."""
        try:
            return self._path(name).open("rb")
        except FileNotFoundError:
            raise _missing(name) from None

    def close(self) -> None:
        """Nothing to release."""


class TarReader:
    """A backup tar file (plain tar: JPEG and MP4 do not compress, and seeking must be cheap)."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, mode="r:")
        except (tarfile.TarError, OSError) as exc:
            raise ManifestError(f"{path} is not a readable tar file: {exc}") from None
        self._members = {m.name: m for m in self._tar.getmembers() if m.isreg()}
        complete = {
            name.partition("/")[0]
            for name in self._members
            if name.endswith("/" + MANIFEST) and GENERATION_RE.fullmatch(name.partition("/")[0])
        }
        self.generation = _newest(complete, path)

    def exists(self, name: str) -> bool:
        """Whether the tar holds a regular file `name`."""
        return safe_name(name) in self._members

    def open(self, name: str) -> IO[bytes]:
        """A stream of the member."""
        member = self._members.get(safe_name(name))
        handle = None if member is None else self._tar.extractfile(member)
        if handle is None:
            raise _missing(name)
        return handle

    def read(self, name: str) -> bytes:
        """The member's bytes."""
        with self.open(name) as handle:
            return handle.read()

    def close(self) -> None:
        """Close the tar file."""
        self._tar.close()


def open_reader(source: Path) -> Reader:
    """Open a backup directory or tar file."""
    if source.is_dir():
        return DirReader(source)
    if source.is_file():
        return TarReader(source)
    raise BackupError(f"Không tìm thấy bản sao lưu / no backup at {source}")


def read_manifest(reader: Reader) -> tuple[Manifest, str]:
    """The manifest, checked against its hash file; and that hash."""
    data = reader.read(f"{reader.generation}/{MANIFEST}")
    hash_line = reader.read(f"{reader.generation}/{MANIFEST_HASH}")
    manifest = decode_manifest(data, hash_line)
    if manifest.generation != reader.generation:
        raise ManifestError(
            f"the manifest names generation {manifest.generation}, found in {reader.generation}"
        )
    return manifest, hash_line.split()[0].decode("ascii")


def chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """Read a stream in 1 MiB pieces."""
    while chunk := handle.read(_CHUNK):
        yield chunk
