"""Keys and secrets in a backup: what it must hold, and putting them back with their modes.

A backup holds (docs/operate-backup.md, "Keys and secrets"):
- every file of the server key directory: the Ed25519 signing key and any older key kept beside
  it. Boxes were given its public half at enrolment and check every ack and config with it; a
  server that starts without it makes a new key that no box trusts;
- the public key history (`server_key`, with validity), also as `server_public_keys.json`, so
  old acks, configs and signed audit heads stay verifiable without the database;
- optionally the env file (`TW_SECRET_KEY`: sessions, CSRF, and the encryption of the police's
  TOTP seeds; database and MQTT passwords) and the broker directory (the deployment CA's key,
  which signs the broker's certificate the boxes trust; the password and ACL files).
Every file is 0600 in the backup (0700 directories). A restore writes the keys, the env file 0600;
a broker file gets back the mode `broker-acl` gave it (the CA key 0600, what the broker's group
reads 0640, certificates 0644).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from central_server.atomic_files import write_atomic
from central_server.backup.archive import Writer, make_dirs
from central_server.backup.dump import Snapshot
from central_server.backup.manifest import FileEntry, Manifest
from central_server.backup.reader import Reader
from central_server.export.checks import Check, fail, ok
from central_server.models import utcnow
from central_server.settings import Settings
from protocol.errors import ProtocolError
from protocol.keys import key_id, private_key_from_pem

KEY_FILE_MODE = 0o600
KEY_DIR_MODE = 0o700
BROKER_DIR_MODE = 0o755
PUBLIC_KEYS_FILE = "server_public_keys.json"


def key_files(key_path: Path) -> list[Path]:
    """The signing key and the older Ed25519 keys kept beside it (nothing else of that folder:
    it may be the data directory itself)."""
    directory = key_path.parent
    if not directory.is_dir():
        return []
    found = [
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and (p == key_path or (p.stat().st_size < 4096 and private_key_id(p.read_bytes())))
    ]
    return sorted(found)


def private_key_id(data: bytes) -> str | None:
    """The key id of an Ed25519 private key PEM, or None for any other file."""
    try:
        return key_id(private_key_from_pem(data))
    except (ValueError, TypeError, ProtocolError):
        return None


def add_secrets(
    writer: Writer,
    settings: Settings,
    snap: Snapshot,
    *,
    env_file: Path | None,
    broker_dir: Path | None,
) -> tuple[list[FileEntry], list[str], list[str]]:
    """Add the keys and secrets; their entries, the private keys' ids, and notes for the admin."""
    gen = writer.generation
    entries, key_ids, notes = [], [], []
    for path in key_files(settings.server_key_path):
        data = path.read_bytes()
        kid = private_key_id(data)
        key_ids += [kid] if kid else []
        entries.append(writer.add_bytes(f"{gen}/keys/{path.name}", data, "key"))
    public = json.dumps({"keys": snap.public_keys}, indent=2, sort_keys=True) + "\n"
    entries.append(writer.add_bytes(f"{gen}/{PUBLIC_KEYS_FILE}", public.encode(), "public_keys"))
    if env_file is not None and env_file.is_file():
        entries.append(writer.add_file(f"{gen}/config/env", env_file, "env"))
    elif snap.totp_users:
        notes.append(
            f"{snap.totp_users} mã TOTP được mã hóa bằng TW_SECRET_KEY, không có trong bản sao lưu "
            "/ TOTP seeds are encrypted with TW_SECRET_KEY, which this backup does not hold "
            "(--env-file): keep it safe elsewhere"
        )
    if broker_dir is not None:
        for path in sorted(p for p in broker_dir.rglob("*") if p.is_file()):
            mode = path.stat().st_mode & 0o777  # as broker-acl made it; 0600 in the backup
            name = f"{gen}/broker/{path.relative_to(broker_dir).as_posix()}"
            entries.append(writer.add_file(name, path, "broker", mode))
    return entries, key_ids, notes


def _destinations(
    manifest: Manifest, settings: Settings, env_file: Path | None, broker_dir: Path | None
) -> list[tuple[FileEntry, Path | None]]:
    """Where each key or secret of the backup goes (None: nowhere was given)."""
    prefix = f"{manifest.generation}/"
    key_dir = settings.server_key_path.parent
    found: list[tuple[FileEntry, Path | None]] = []
    for entry in manifest.files:
        rest = entry.path.removeprefix(prefix)
        if entry.role == "key":
            found.append((entry, key_dir / Path(rest).name))
        elif entry.role == "env":
            found.append((entry, env_file))
        elif entry.role == "broker":
            dest = None if broker_dir is None else broker_dir / rest.removeprefix("broker/")
            found.append((entry, dest))
    return found


def conflicts(
    manifest: Manifest, settings: Settings, env_file: Path | None, broker_dir: Path | None
) -> list[str]:
    """Files a restore would replace with different bytes."""
    return [
        f"{dest} already exists with other content"
        for entry, dest in _destinations(manifest, settings, env_file, broker_dir)
        if dest is not None and dest.exists() and _differs(dest, entry)
    ]


def _differs(path: Path, entry: FileEntry) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() != entry.sha256


def restore_secrets(
    reader: Reader,
    manifest: Manifest,
    settings: Settings,
    env_file: Path | None,
    broker_dir: Path | None,
) -> list[str]:
    """Write the keys and secrets with their modes; a line for each, or for what was left."""
    lines, stamp = [], utcnow().strftime("%Y%m%dT%H%M%SZ")
    for entry, dest in _destinations(manifest, settings, env_file, broker_dir):
        if dest is None:
            option = "--env-file" if entry.role == "env" else "--broker-dir"
            lines.append(f"{entry.path}: không khôi phục / not restored (give {option})")
            continue
        if dest.exists() and _differs(dest, entry):
            dest.rename(dest.with_name(f"{dest.name}.before-restore-{stamp}"))  # --force
        # The broker's group must reach its files (as `broker-acl` leaves its folders).
        dir_mode = BROKER_DIR_MODE if entry.role == "broker" else KEY_DIR_MODE
        write_secret(dest, reader.read(entry.path), entry.mode_bits, dir_mode)
        lines.append(f"{dest} ({entry.mode})")
    return lines


def write_secret(
    path: Path, data: bytes, mode: int = KEY_FILE_MODE, dir_mode: int = KEY_DIR_MODE
) -> None:
    """Write a key or secret with its final mode from the first byte (new folders `dir_mode`)."""
    make_dirs(path.parent, dir_mode)
    write_atomic(path, data, mode)


def check_server_key(settings: Settings, manifest: Manifest) -> list[Check]:
    """The restored signing key is where the server looks for it, and is one the backup held."""
    path = settings.server_key_path
    kid = private_key_id(path.read_bytes()) if path.is_file() else None
    if kid is not None and kid in manifest.server_key_ids:
        return [
            ok(
                "Khóa ký của máy chủ đã khôi phục",
                "server signing key restored",
                f"{kid} at {path}",
            )
        ]
    held = ", ".join(manifest.server_key_ids) or "none"
    return [
        fail(
            "Không có khóa ký của máy chủ",
            "no server signing key where the server looks for it (it would make a new key no "
            "box trusts)",
            f"{path}; the backup holds {held}",
        )
    ]
