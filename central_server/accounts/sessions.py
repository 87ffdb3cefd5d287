"""Browser sessions (idle and absolute timeouts) and their CSRF tokens (signed double submit).

The cookie holds a random token; the database holds only its SHA-256, so a database dump opens no
session. The CSRF token is an HMAC of the session token under the server secret: a page reads it
from its cookie (or the login answer) and sends it back in the `X-CSRF-Token` header, which a
cross-site form cannot do; binding it to the session stops a planted cookie from working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, update

from central_server.accounts.models import UserSession
from central_server.accounts.settings import AuthSettings

SESSION_COOKIE = "tw_session"
CSRF_COOKIE = "tw_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_BYTES = 32
# Writing last_seen_at on every request would make every read a write; a minute is precise enough
# for a 30-minute idle timeout.
TOUCH_EVERY = timedelta(minutes=1)


def token_digest(token: str) -> str:
    """The SHA-256 under which a session or API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """The CSRF token that goes with a session."""
    mac = hmac.new(secret_key.encode("utf-8"), b"csrf\x00" + session_token.encode(), "sha256")
    return mac.hexdigest()


def csrf_matches(secret_key: str, session_token: str, presented: str | None) -> bool:
    """Whether the presented header value is this session's CSRF token."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token_for(secret_key, session_token), presented)


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the token for the cookie (shown once) and its row."""

    token: str
    row: UserSession


def open_session(
    session: Session,
    *,
    user_id: int,
    settings: AuthSettings,
    now: datetime,
    ip: str = "",
    user_agent: str = "",
) -> NewSession:
    """Create a session for a user who has just logged in."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = UserSession(
        id=token_digest(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    session.add(row)
    session.flush()
    return NewSession(token, row)


def find_live_session(
    session: Session, token: str, settings: AuthSettings, now: datetime
) -> UserSession | None:
    """The session for a cookie token if it is neither revoked, expired nor idle too long."""
    if not token or len(token) > 128:
        return None
    row = session.get(UserSession, token_digest(token))
    if row is None or row.revoked_at is not None:
        return None
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= row.expires_at or now >= idle_limit:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return row


def revoke_session(session: Session, row: UserSession, now: datetime) -> None:
    """End one session (logout)."""
    row.revoked_at = now
    session.add(row)


def revoke_user_sessions(session: Session, user_id: int, now: datetime) -> None:
    """End every open session of a user (password change, deactivation, role change)."""
    session.execute(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
