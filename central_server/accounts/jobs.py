"""Housekeeping of account records, for the scheduler's daily run: old login attempts and ended
sessions are deleted (the audit chain keeps the logins themselves)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from central_server.accounts.models import LoginAttempt, UserSession

logger = logging.getLogger(__name__)

KEEP_LOGIN_ATTEMPTS = timedelta(days=90)
KEEP_ENDED_SESSIONS = timedelta(days=30)


def purge_login_records(session: Session, now: datetime) -> dict[str, int]:
    """Delete login attempts older than 90 days and sessions ended over 30 days ago; no commit."""
    attempts = session.execute(
        delete(LoginAttempt).where(col(LoginAttempt.at) < now - KEEP_LOGIN_ATTEMPTS)
    )
    cutoff = now - KEEP_ENDED_SESSIONS
    ended = session.execute(
        delete(UserSession).where(
            or_(col(UserSession.expires_at) < cutoff, col(UserSession.revoked_at) < cutoff)
        )
    )
    counts = {"login_attempts": attempts.rowcount or 0, "sessions": ended.rowcount or 0}  # type: ignore[attr-defined]
    logger.info("purged %(login_attempts)d login attempts and %(sessions)d sessions", counts)
    return counts
