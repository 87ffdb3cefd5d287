"""`create_backup`: the database snapshot first, then the evidence it references, the keys and
secrets, and the manifest last.

The order is what makes the pair consistent while ingest keeps writing: an object is stored
before the row that references it is committed, so every object the snapshot references is
already in the store when the store is copied. Objects stored after the snapshot are copied too
and are harmless (nothing in the dump references them). The one race left is retention deleting
an object after the snapshot: such an object is listed as purged, and the restored system's next
retention run finishes the purge, as it does after an interrupted run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from central_server.backup.archive import Writer, open_writer
from central_server.backup.dump import Snapshot, dump_database
from central_server.backup.files import EvidenceCopy, Progress, copy_evidence
from central_server.backup.keys import add_secrets
from central_server.backup.manifest import (
    DatabaseInfo,
    EvidenceInfo,
    FileEntry,
    Manifest,
    encode_index,
    encode_manifest,
)
from central_server.backup.references import referenced_media
from central_server.db import make_engine
from central_server.models import utcnow
from central_server.settings import Settings

logger = logging.getLogger(__name__)

INDEX_FILE = "evidence-index.txt"


@dataclass(frozen=True)
class BackupOptions:
    """What to back up besides the database, the evidence and the server's keys."""

    env_file: Path | None = None  # holds TW_SECRET_KEY (TOTP seeds are encrypted with it)
    broker_dir: Path | None = None  # `server broker-acl --out`: CA key, certificates, passwords
    pg_bin: Path | None = None
    rehash: bool = False  # re-read objects an earlier run copied


@dataclass(frozen=True)
class BackupResult:
    """A finished backup."""

    path: Path
    manifest: Manifest
    manifest_sha256: str
    evidence: EvidenceCopy
    notes: list[str]

    @property
    def complete(self) -> bool:
        """True when the backup holds everything the database needs."""
        return not self.manifest.warnings


def software_version() -> str:
    """The installed trafficwatch version."""
    try:
        return version("trafficwatch")
    except PackageNotFoundError:
        return "unknown"


def create_backup(
    settings: Settings, out: Path, options: BackupOptions, progress: Progress
) -> BackupResult:
    """Back up the database and the evidence store together into `out` (a directory or .tar)."""
    now = utcnow()
    writer = open_writer(out, now)
    try:
        return _write(writer, settings, options, progress, now)
    except BaseException:
        writer.abort()
        raise


def _write(
    writer: Writer, settings: Settings, options: BackupOptions, progress: Progress, now: datetime
) -> BackupResult:
    gen = writer.generation
    progress("[1/4] Chụp cơ sở dữ liệu / database snapshot …")
    snap = dump_database(settings.database_url, writer.scratch(), options.pg_bin)
    files = [writer.add_file(f"{gen}/{snap.path.name}", snap.path, "database")]
    progress(
        f"    {snap.tool}: {sum(snap.tables.values())} dòng / rows, {len(snap.tables)} bảng / "
        f"tables; {len(snap.references)} tệp bằng chứng được tham chiếu / objects referenced"
    )
    progress("[2/4] Kho bằng chứng / evidence store …")
    copied = copy_evidence(settings.evidence_dir, writer, progress, rehash=options.rehash)
    missing = sorted(set(snap.references) - set(copied.objects))
    warnings = _missing_warnings(settings, snap, missing)
    warnings += [f"evidence object {sha} is corrupt in the store" for sha in copied.corrupt]
    index = encode_index(copied.objects)
    files.append(writer.add_bytes(f"{gen}/{INDEX_FILE}", index, "evidence_index"))
    progress("[3/4] Khóa và bí mật / keys and secrets …")
    key_entries, key_ids, notes = add_secrets(
        writer, settings, snap, env_file=options.env_file, broker_dir=options.broker_dir
    )
    files += key_entries
    if not settings.server_key_path.is_file():
        warnings.append(f"no server signing key at {settings.server_key_path}")
    progress("[4/4] Bản kê / manifest …")
    manifest = _manifest(gen, now, snap, copied, missing, key_ids, files, warnings)
    data, hash_line = encode_manifest(manifest)
    path = writer.commit(data, hash_line, set(copied.objects))
    digest = hash_line.split()[0].decode("ascii")
    logger.info("backup %s written to %s (manifest %s)", gen, path, digest)
    return BackupResult(path, manifest, digest, copied, notes)


def _manifest(
    gen: str,
    now: datetime,
    snap: Snapshot,
    copied: EvidenceCopy,
    missing: list[str],
    key_ids: list[str],
    files: list[FileEntry],
    warnings: list[str],
) -> Manifest:
    database = DatabaseInfo(
        kind=snap.kind,
        path=f"{gen}/{snap.path.name}",
        tool=snap.tool,
        server_version=snap.server_version,
        schema_name=snap.schema_name,
    )
    evidence = EvidenceInfo(
        index_path=f"{gen}/{INDEX_FILE}",
        objects=len(copied.objects),
        bytes=copied.bytes,
        referenced=len(snap.references),
        missing=missing,
        corrupt_skipped=copied.corrupt,
    )
    return Manifest(
        generation=gen,
        created_at=now,
        software_version=software_version(),
        schema_revision=snap.revision,
        database=database,
        tables=snap.tables,
        evidence=evidence,
        server_key_ids=key_ids,
        files=files,
        warnings=warnings,
    )


def _missing_warnings(settings: Settings, snap: Snapshot, missing: list[str]) -> list[str]:
    """Referenced objects not in the store: purged since the snapshot (fine), or lost."""
    if not missing:
        return []
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            still = referenced_media(conn)
    finally:
        engine.dispose()
    lost = [sha for sha in missing if sha in still]
    for sha in set(missing) - set(lost):
        logger.info("evidence object %s was purged by retention during the backup", sha)
    return [f"referenced evidence object {sha} ({snap.references[sha]}) is missing" for sha in lost]
