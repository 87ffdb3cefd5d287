"""Installing model files: copy from a folder or download, verify, then move into place.

Every file is first written to a staging folder inside the models directory (same filesystem, so
the final rename is atomic) while its sha256 is computed; only when every requested file has the
manifest's size and hash are they renamed into place. One bad file and nothing is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from edge_agent.models_store import (
    MODELS_DIR_ENV,
    Manifest,
    ModelEntry,
    ModelError,
    ModelHashError,
    ModelMissingError,
    default_models_dir,
    load_manifest,
    model_paths,
    sha256_file,
    verify_installed,
)

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 60.0
_BLOCK = 1 << 16


@dataclass(frozen=True)
class FileSpec:
    """One file to install: where it goes and what it must hash to."""

    model: str
    dest: Path
    sha256: str
    size: int
    url: str | None
    content: bytes | None  # inline bytes (labels with no pinned upstream copy)


def file_specs(entry: ModelEntry, models_dir: Path) -> list[FileSpec]:
    """The model file and its labels file."""
    path, labels_path = model_paths(entry, models_dir)
    labels = entry.labels
    return [
        FileSpec(entry.name, path, entry.sha256, entry.size, entry.url, None),
        FileSpec(entry.name, labels_path, labels.sha256, labels.size, labels.url, labels.content()),
    ]


def find_in(source_dir: Path, model: str, file_name: str) -> Path | None:
    """`DIR/<model>/<file>`, `DIR/<file>`, else the first match anywhere below DIR."""
    for candidate in (source_dir / model / file_name, source_dir / file_name):
        if candidate.is_file():
            return candidate
    return next((p for p in sorted(source_dir.rglob(file_name)) if p.is_file()), None)


def _human(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.1f} kB"


class Progress:
    """A one-line progress bar on a terminal; a single final line elsewhere (CI logs)."""

    def __init__(self, label: str, total: int, stream: TextIO | None) -> None:
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done = 0
        self._tty = stream is not None and stream.isatty()

    def advance(self, count: int) -> None:
        """Record `count` more bytes."""
        self.done += count
        if self._tty:
            self._draw("\r")

    def finish(self) -> None:
        """End the line."""
        if self.stream is not None:
            self._draw("\r" if self._tty else "")
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, prefix: str) -> None:
        assert self.stream is not None
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        size = f"{_human(self.done)}/{_human(self.total)}"
        self.stream.write(f"{prefix}  {self.label:<48} [{bar:<30}] {share:4.0%} {size}")
        self.stream.flush()


@contextmanager
def _open_source(spec: FileSpec, source_dir: Path | None) -> Iterator[tuple[BinaryIO, int, str]]:
    """A readable stream of the file's bytes, its expected length, and where it comes from."""
    found = find_in(source_dir, spec.model, spec.dest.name) if source_dir else None
    if found is not None:
        with found.open("rb") as fh:
            yield fh, found.stat().st_size, str(found)
    elif spec.content is not None:
        yield io.BytesIO(spec.content), len(spec.content), "manifest"
    elif source_dir is not None or spec.url is None:
        where = source_dir or "manifest"
        raise ModelMissingError(f"không tìm thấy / not found: {spec.dest.name} in {where}")
    else:
        logger.info("downloading %s", spec.url)
        request = urllib.request.Request(spec.url, headers={"User-Agent": "trafficwatch"})
        try:
            response = urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S)
        except OSError as exc:  # URLError, HTTPError, timeouts
            raise ModelError(f"tải thất bại / download failed: {spec.url}: {exc}") from exc
        with response:
            length = int(response.headers.get("Content-Length") or spec.size)
            yield response, length, spec.url


def stage(spec: FileSpec, staging: Path, source_dir: Path | None, stream: TextIO | None) -> Path:
    """Write the file into `staging`, hashing as it goes; raise ModelHashError on a mismatch."""
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(dir=staging, prefix=spec.dest.name + ".", suffix=".part")
    with os.fdopen(fd, "wb") as out, _open_source(spec, source_dir) as (src, total, origin):
        progress = Progress(spec.dest.name, total, stream)
        while block := src.read(_BLOCK):
            out.write(block)
            digest.update(block)
            progress.advance(len(block))
        out.flush()
        os.fchmod(out.fileno(), 0o644)  # mkstemp makes 0600; the agent may run as another user
        os.fsync(out.fileno())
        progress.finish()
    actual = digest.hexdigest()
    if actual != spec.sha256:
        raise ModelHashError(origin, spec.sha256, actual)
    return Path(name)


def install(
    manifest: Manifest,
    models_dir: Path,
    names: Sequence[str] = (),
    *,
    source_dir: Path | None = None,
    stream: TextIO | None = sys.stderr,
) -> list[Path]:
    """Install the named models (default: all); all or nothing; return the paths now in place."""
    entries = [manifest.get(n) for n in names] if names else list(manifest.models)
    specs = [s for e in entries for s in file_specs(e, models_dir)]
    todo = [s for s in specs if not (s.dest.is_file() and sha256_file(s.dest) == s.sha256)]
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=".staging-"))
    try:
        staged = [(stage(s, staging, source_dir, stream), s.dest) for s in todo]
        for temp, dest in staged:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, dest)
            logger.info("installed %s", dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [s.dest for s in specs]


def _say(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)  # noqa: T201 (the CLI's output)


def _parser(prog: str, with_source: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    if with_source:
        parser.add_argument(
            "--from", dest="source", type=Path, metavar="DIR", help="chép từ / copy from"
        )
    parser.add_argument(
        "--dest", type=Path, metavar="DIR", help=f"thư mục mô hình / models dir (${MODELS_DIR_ENV})"
    )
    parser.add_argument(
        "--manifest", type=Path, metavar="FILE", help="manifest (models/manifest.yaml)"
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="tên mô hình / model names")
    return parser


def cli_install(argv: Sequence[str]) -> int:
    """`trafficwatch models install [--from DIR] [--dest DIR] [NAME...]`."""
    args = _parser("trafficwatch models install", True).parse_args(list(argv))
    dest = args.dest or default_models_dir()
    try:
        manifest = load_manifest(args.manifest)
        paths = install(manifest, dest, args.names, source_dir=args.source)
    except ModelHashError as exc:
        _say(f"{exc}\nKhông cài gì / nothing installed.", err=True)
        return 1
    except (ModelError, OSError, ValueError) as exc:  # ValueError: a malformed manifest
        _say(f"lỗi / error: {exc}\nKhông cài gì / nothing installed.", err=True)
        return 1
    for path in paths:
        _say(f"đã cài / installed: {path}")
    return 0


def cli_verify(argv: Sequence[str]) -> int:
    """`trafficwatch models verify [--dest DIR] [NAME...]`: non-zero when a file is bad."""
    args = _parser("trafficwatch models verify", False).parse_args(list(argv))
    dest = args.dest or default_models_dir()
    try:
        good, problems = verify_installed(load_manifest(args.manifest), dest, args.names)
    except (ModelError, ValueError) as exc:
        _say(f"lỗi / error: {exc}", err=True)
        return 2
    for name in good:
        _say(f"tốt / ok: {name}")
    for problem in problems:
        _say(f"HỎNG / BAD: {problem.model}: {problem.path}: {problem.detail}", err=True)
    if not good and not problems:
        _say(f"chưa cài mô hình nào / no model installed in {dest}", err=True)
        return 1
    return 1 if problems else 0
