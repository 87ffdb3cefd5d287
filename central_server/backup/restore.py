"""`restore_backup`: check the whole backup, then restore it into an empty installation, then
verify the result.

Nothing is written before every byte has been checked against the manifest (a flipped bit, a
missing or an added object, an edited manifest: refused) and the target is known to be empty
(or `force` is given). Then the database, the evidence objects (each checked again as it is
stored), the keys and secrets; `alembic upgrade head` if the backup is older than this version;
and the checks of `backup.checks`. The restore is itself recorded in the audit chain.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from central_server import audit, db
from central_server.backup import checks, keys
from central_server.backup.errors import BackupDamagedError, BackupError, TargetNotEmptyError
from central_server.backup.files import Progress, store_has_objects
from central_server.backup.load import check_target_database, load_database
from central_server.backup.manifest import (
    Manifest,
    ManifestError,
    decode_index,
    object_path,
)
from central_server.backup.reader import Reader, chunks, open_reader, read_manifest
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.export.checks import Check, ok, warn
from central_server.models import utcnow
from central_server.settings import Settings

logger = logging.getLogger(__name__)

ACTOR = "system:restore"


@dataclass(frozen=True)
class RestoreOptions:
    """Where the parts that live outside the data directory go, and what may be overwritten."""

    force: bool = False
    env_file: Path | None = None  # write the backed-up env file here
    broker_dir: Path | None = None  # write the backed-up broker files here
    pg_bin: Path | None = None
    check_only: bool = False  # verify the backup; restore nothing


@dataclass
class RestoreReport:
    """What was restored and how it verified."""

    manifest: Manifest
    manifest_sha256: str
    checks: list[Check] = field(default_factory=list)
    restored: bool = False

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.status != "fail" for c in self.checks)


def verify_backup(reader: Reader, manifest: Manifest, progress: Progress) -> dict[str, int]:
    """Check every file and evidence object against the manifest; the evidence index."""
    problems = []
    for entry in manifest.files:
        digest, size = hashlib.sha256(), 0
        try:
            with reader.open(entry.path) as handle:
                for chunk in chunks(handle):
                    digest.update(chunk)
                    size += len(chunk)
        except ManifestError as exc:
            problems += exc.problems
            continue
        if (digest.hexdigest(), size) != (entry.sha256, entry.size):
            problems.append(f"{entry.path} does not match the manifest (changed)")
    index_entry = manifest.file("evidence_index")
    if problems or index_entry is None:
        raise BackupDamagedError(problems or ["the manifest lists no evidence index"])
    index = decode_index(reader.read(index_entry.path))
    if len(index) != manifest.evidence.objects:
        problems.append(
            f"the evidence index lists {len(index)} objects, "
            f"the manifest {manifest.evidence.objects}"
        )
    problems += _verify_objects(reader, index, progress)
    if problems:
        raise BackupDamagedError(problems)
    return index


def _verify_objects(reader: Reader, index: dict[str, int], progress: Progress) -> list[str]:
    problems = []
    for n, (sha256, size) in enumerate(sorted(index.items()), 1):
        name = object_path(sha256)
        if not reader.exists(name):
            problems.append(f"evidence object {sha256} is missing")
            continue
        data = reader.read(name)
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            problems.append(f"evidence object {sha256} is damaged (its bytes changed)")
        if n % 5000 == 0:
            progress(f"    {n}/{len(index)} tệp đã kiểm / objects checked")
    if not problems:
        progress(f"    {len(index)} tệp bằng chứng đúng / evidence objects intact")
    return problems


def check_revision(manifest: Manifest) -> None:
    """Refuse a backup whose schema this version does not know (made by a newer version)."""
    config = Config(str(db.MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    for revision in (manifest.schema_revision or "").split(","):
        try:
            if revision and script.get_revision(revision) is None:
                raise CommandError(revision)
        except CommandError:
            raise BackupError(
                f"the backup's schema revision {revision} is newer than this software "
                f"({manifest.software_version} made it): install that version or later"
            ) from None


def _target_contents(settings: Settings, manifest: Manifest, options: RestoreOptions) -> list[str]:
    found = check_target_database(settings.database_url, manifest)
    if store_has_objects(settings.evidence_dir):
        found.append(f"the evidence directory {settings.evidence_dir} already holds objects")
    return found + keys.conflicts(manifest, settings, options.env_file, options.broker_dir)


def restore_backup(
    settings: Settings, source: Path, options: RestoreOptions, progress: Progress
) -> RestoreReport:
    """Verify the backup at `source`, restore it into `settings`' installation, verify that."""
    reader = open_reader(source)
    try:
        manifest, digest = read_manifest(reader)
        report = RestoreReport(manifest, digest)
        if not options.check_only:
            # Cheap refusals first; nothing is written before the whole backup is checked.
            check_revision(manifest)
            found = _target_contents(settings, manifest, options)
            if found and not options.force:
                raise TargetNotEmptyError(found)
        progress(f"[1/5] Kiểm tra bản sao lưu / checking backup {manifest.generation} …")
        index = verify_backup(reader, manifest, progress)
        report.checks.append(ok("Bản sao lưu nguyên vẹn", "backup intact", f"manifest {digest}"))
        report.checks += [
            warn("Cảnh báo khi sao lưu", "backup warning", w) for w in manifest.warnings
        ]
        if options.check_only:
            return report
        _restore(reader, manifest, index, settings, options, progress)
        report.restored = True
    finally:
        reader.close()
    report.checks += _verify_restored(settings, manifest, progress)
    return report


def _restore(
    reader: Reader,
    manifest: Manifest,
    index: dict[str, int],
    settings: Settings,
    options: RestoreOptions,
    progress: Progress,
) -> None:
    progress(f"[2/5] Cơ sở dữ liệu / database ({manifest.database.kind}) …")
    load_database(
        reader, manifest, settings.database_url, force=options.force, pg_bin=options.pg_bin
    )
    progress(f"[3/5] Kho bằng chứng / evidence: {len(index)} tệp / objects …")
    store = FilesystemEvidenceStore(settings.evidence_dir)
    for sha256 in sorted(index):
        store.put_verified(reader.read(object_path(sha256)), sha256)
    progress("[4/5] Khóa và bí mật / keys and secrets …")
    for line in keys.restore_secrets(
        reader, manifest, settings, options.env_file, options.broker_dir
    ):
        progress(f"    {line}")


def _verify_restored(settings: Settings, manifest: Manifest, progress: Progress) -> list[Check]:
    progress("[5/5] Kiểm tra hệ thống đã khôi phục / verifying the restored system …")
    engine = db.make_engine(settings.database_url)
    try:
        result = [checks.check_counts(engine, manifest)]
        if not db.check_schema_current(engine):
            db.upgrade(settings.database_url)
            result.append(
                ok("Đã cập nhật lược đồ", "schema upgraded", f"from {manifest.schema_revision}")
            )
        store = FilesystemEvidenceStore(settings.evidence_dir)
        result += checks.check_media(engine, store, manifest)
        result += checks.check_audit(engine, set(manifest.server_key_ids))
        result += keys.check_server_key(settings, manifest)
        with db.session_scope(engine) as session:
            audit.append(
                session,
                actor=ACTOR,
                action="backup.restored",
                entity_type="backup",
                entity_id=manifest.generation,
                after={
                    "created_at": manifest.created_at.isoformat(),
                    "schema_revision": manifest.schema_revision,
                    "software_version": manifest.software_version,
                    "restored_at": utcnow().isoformat(),
                },
            )
    finally:
        engine.dispose()
    return result
