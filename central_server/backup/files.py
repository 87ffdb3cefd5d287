"""The evidence half of a backup: the content-addressed store's objects.

Objects are immutable and named by their SHA-256, so a copy is checked by hashing it against its
name, and an object an earlier run copied into a backup directory is not copied again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from central_server.backup.archive import Writer

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
PROGRESS_EVERY_S = 5.0
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_HEX2_RE = re.compile(r"[0-9a-f]{2}")


@dataclass
class EvidenceCopy:
    """What the evidence copy did."""

    objects: dict[str, int] = field(default_factory=dict)
    copied: int = 0
    reused: int = 0
    bytes: int = 0
    corrupt: list[str] = field(default_factory=list)


def iter_store(root: Path) -> Iterator[tuple[str, Path]]:
    """Every object of a filesystem evidence store (`root/ab/cd/<sha256>`), sorted."""
    if not root.is_dir():
        return
    for first in sorted(p for p in root.iterdir() if _HEX2_RE.fullmatch(p.name)):
        for second in sorted(p for p in first.iterdir() if _HEX2_RE.fullmatch(p.name)):
            for path in sorted(second.iterdir()):
                # Temporary files of a write in progress are skipped; the object appears
                # whole, under its name, or not at all.
                if _SHA256_RE.fullmatch(path.name) and path.name[:4] == first.name + second.name:
                    yield path.name, path


class _Ticker:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.last = time.monotonic()

    def tick(self, done: EvidenceCopy) -> None:
        if time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self.last = time.monotonic()
            self.progress(_copy_line(done))


def _copy_line(done: EvidenceCopy) -> str:
    return (
        f"    {len(done.objects)} tệp / objects ({done.bytes / 1e6:.1f} MB): "
        f"{done.copied} sao chép / copied, {done.reused} đã có / already in the backup"
    )


def copy_evidence(
    evidence_dir: Path, writer: Writer, progress: Progress, *, rehash: bool = False
) -> EvidenceCopy:
    """Copy every object of the store into the backup, checking each against its name."""
    done, ticker = EvidenceCopy(), _Ticker(progress)
    for sha256, path in iter_store(evidence_dir):
        try:
            size = path.stat().st_size
            if writer.has_object(sha256, size, rehash):
                done.reused += 1
            else:
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != sha256:
                    logger.error(
                        "evidence object %s is corrupt in the store: not backed up", sha256
                    )
                    done.corrupt.append(sha256)
                    continue
                writer.add_object(sha256, data)
                done.copied += 1
        except FileNotFoundError:
            continue  # deleted by retention while the store was walked
        done.objects[sha256] = size
        done.bytes += size
        ticker.tick(done)
    progress(_copy_line(done))
    return done


def store_has_objects(evidence_dir: Path) -> bool:
    """Whether an evidence directory already holds any object."""
    return next(iter_store(evidence_dir), None) is not None
