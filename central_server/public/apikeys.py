"""API keys of the city's apps: stored hashed, shown once, each with its own rate limit."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from central_server import audit
from central_server.models import UtcDateTime, utcnow

logger = logging.getLogger(__name__)

KEY_PREFIX = "twk_"
# Shown in lists and logs to tell keys apart; too short to guess the rest from.
SHOWN_CHARS = 8


class PublicApiKey(SQLModel, table=True):
    """A key of an app allowed more searches than an anonymous address (only its hash is kept)."""

    __tablename__ = "public_api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=64, unique=True)
    shown_prefix: str = Field(max_length=16)
    rate_per_minute: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(default="cli", max_length=128)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


@dataclass(frozen=True)
class KeyInfo:
    """What a request's key grants: whose it is and how fast it may search."""

    key_hash: str
    name: str
    rate_per_minute: int


def hash_key(key: str) -> str:
    """The stored form of a key (keys are 256 random bits: a plain digest is enough)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    session: Session, name: str, rate_per_minute: int, *, created_by: str = "cli"
) -> tuple[PublicApiKey, str]:
    """Add a key; returns the row and the key itself, which is never stored or shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = PublicApiKey(
        name=name,
        key_hash=hash_key(key),
        shown_prefix=key[: len(KEY_PREFIX) + SHOWN_CHARS],
        rate_per_minute=rate_per_minute,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=created_by,
        action="public_api_key.created",
        entity_type="public_api_key",
        entity_id=row.id or 0,
        after={"name": name, "shown_prefix": row.shown_prefix, "rate_per_minute": rate_per_minute},
    )
    logger.info("public API key %s created for %s", row.shown_prefix, name)
    return row, key


def revoke_key(session: Session, shown_prefix: str, *, actor: str = "cli") -> bool:
    """Revoke the live key shown as `shown_prefix`; False when there is none."""
    row = session.exec(
        select(PublicApiKey)
        .where(col(PublicApiKey.shown_prefix) == shown_prefix)
        .where(col(PublicApiKey.revoked_at).is_(None))
    ).first()
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    audit.append(
        session,
        actor=actor,
        action="public_api_key.revoked",
        entity_type="public_api_key",
        entity_id=row.id or 0,
        before={"revoked_at": None},
        after={"revoked_at": row.revoked_at.isoformat()},
    )
    logger.info("public API key %s revoked", shown_prefix)
    return True


def list_keys(session: Session) -> list[PublicApiKey]:
    """Every key, newest first (hashes only; the keys themselves are never stored)."""
    return list(session.exec(select(PublicApiKey).order_by(col(PublicApiKey.id).desc())).all())


class KeyCache:
    """Looks keys up by hash, remembering answers (unknown keys too) for `ttl_s` seconds."""

    def __init__(
        self,
        engine: Engine,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, KeyInfo | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, key: str) -> KeyInfo | None:
        """The live key's grant, or None for an unknown or revoked key."""
        digest = hash_key(key)
        now = self._clock()
        with self._lock:
            cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        info = self._load(digest)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # rare: only a flood of invented keys gets here
            self._entries[digest] = (now + self._ttl_s, info)
        return info

    def _load(self, digest: str) -> KeyInfo | None:
        with Session(self._engine) as session:
            row = session.exec(
                select(PublicApiKey)
                .where(col(PublicApiKey.key_hash) == digest)
                .where(col(PublicApiKey.revoked_at).is_(None))
            ).first()
        if row is None:
            return None
        return KeyInfo(key_hash=digest, name=row.name, rate_per_minute=row.rate_per_minute)
