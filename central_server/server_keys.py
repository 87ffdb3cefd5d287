"""The server's Ed25519 key, which signs acks, configs, commands and audit heads."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from central_server.models import ServerKey
from protocol.keys import (
    generate_private_key,
    key_id,
    private_key_from_pem,
    private_key_to_pem,
    public_key_to_pem,
    public_key_to_raw,
)

logger = logging.getLogger(__name__)

KEY_FILE_MODE = 0o600
KEY_DIR_MODE = 0o700


def load_or_create_server_key(path: Path | str) -> Ed25519PrivateKey:
    """Load the server key from `path`, creating it (mode 0600, directory 0700) if absent."""
    path = Path(path)
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("server key %s is readable by others (mode %o); use 0600", path, mode)
    return private_key_from_pem(path.read_bytes())


def _create(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=KEY_DIR_MODE)
        os.chmod(path.parent, KEY_DIR_MODE)  # mkdir's mode is filtered by the umask
    pem = private_key_to_pem(generate_private_key())
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-key-")
    try:
        os.fchmod(fd, KEY_FILE_MODE)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(pem)
            tmp.flush()
            os.fsync(tmp.fileno())
        # link() fails if the name exists: when the API and ingest start together, one key wins
        # and both load it, instead of each signing with a key of its own.
        with contextlib.suppress(FileExistsError):
            os.link(tmp_name, path)
            logger.info("created server key %s", path)
    finally:
        os.unlink(tmp_name)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def public_key_pem(key: Ed25519PrivateKey) -> str:
    """Return the public half as SubjectPublicKeyInfo PEM text (what devices are given)."""
    return public_key_to_pem(key.public_key()).decode("ascii")


def server_key_id(key: Ed25519PrivateKey) -> str:
    """Return the key id: the first 16 hex characters of SHA-256 of the raw public key."""
    return key_id(key)


def register_server_key(session: Session, key: Ed25519PrivateKey) -> ServerKey:
    """Record the key's public half in `server_key` (once) so its signatures stay verifiable."""
    kid = key_id(key)
    row = session.get(ServerKey, kid)
    if row is not None:
        return row
    row = ServerKey(key_id=kid, public_key=public_key_to_raw(key.public_key()))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another process (API and ingest start together) registered it first.
        existing = session.get(ServerKey, kid, populate_existing=True)
        if existing is None:
            raise
        return existing
    return row
