"""Bearer tokens for the API: random, shown once, stored as their SHA-256, with an expiry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from central_server.accounts.models import ApiToken
from central_server.accounts.sessions import token_digest

TOKEN_PREFIX = "tw_"
PREFIX_SHOWN = 10  # "tw_" and 7 characters: enough to recognise a token in a list
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class NewToken:
    """A token just created: the secret (shown once) and its row."""

    secret: str
    row: ApiToken


def create_token(
    session: Session, *, user_id: int, name: str, days: int, now: datetime
) -> NewToken:
    """Create an API token for a user, valid for `days`."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_sha256=token_digest(secret),
        prefix=secret[:PREFIX_SHOWN],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return NewToken(secret, row)


def find_live_token(session: Session, secret: str, now: datetime) -> ApiToken | None:
    """The token row for a presented secret, unless unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    statement = select(ApiToken).where(col(ApiToken.token_sha256) == token_digest(secret))
    row: ApiToken | None = session.exec(statement).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and now >= row.expires_at:
        return None
    if row.last_used_at is None or now - row.last_used_at >= timedelta(minutes=1):
        row.last_used_at = now
        session.add(row)
    return row


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (revoked ones included, for the record)."""
    statement = (
        select(ApiToken).where(col(ApiToken.user_id) == user_id).order_by(col(ApiToken.id).desc())
    )
    return list(session.exec(statement).all())


def revoke_token(session: Session, row: ApiToken, now: datetime) -> None:
    """Revoke a token (idempotent)."""
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)


def revoke_user_tokens(session: Session, user_id: int, now: datetime) -> None:
    """Revoke every token of a user (deactivation)."""
    for row in list_tokens(session, user_id):
        revoke_token(session, row, now)
