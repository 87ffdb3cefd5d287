"""A database lease that lets one scheduler instance run at a time (SQLite and PostgreSQL).

The `scheduler_lock` row is taken with a single conditional UPDATE (free, expired, or already
ours), so two instances can never both succeed: the database serialises the updates. The holder
renews it (heartbeat) well before it expires; an instance that dies leaves a lease that expires
and a standby takes over. Jobs check the lease again inside their own transaction (fencing).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, case, or_, update
from sqlmodel import Session

from central_server.db import session_scope
from central_server.scheduler.models import SchedulerLock

logger = logging.getLogger(__name__)

DEFAULT_LOCK_NAME = "scheduler"


def make_holder_id() -> str:
    """A name for this instance: host, process and a random part (unique across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DbLock:
    """The lease on one `scheduler_lock` row, held by `holder` for `ttl` after each renewal."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = DEFAULT_LOCK_NAME,
        holder: str | None = None,
        ttl: timedelta = timedelta(seconds=90),
    ) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder or make_holder_id()
        self.ttl = ttl

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free, expired or already ours; return whether we hold it."""
        now = now or _utcnow()
        table = SchedulerLock.__table__  # type: ignore[attr-defined]
        free = or_(
            table.c.holder.is_(None),
            table.c.holder == self.holder,
            table.c.expires_at.is_(None),
            table.c.expires_at < now,
        )
        statement = (
            update(table)
            .where(table.c.name == self.name, free)
            .values(
                holder=self.holder,
                acquired_at=case((table.c.holder == self.holder, table.c.acquired_at), else_=now),
                heartbeat_at=now,
                expires_at=now + self.ttl,
            )
        )
        with session_scope(self.engine) as session:
            taken = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
        if taken:
            logger.debug("scheduler lock %s held by %s", self.name, self.holder)
        return bool(taken)

    def renew(self, now: datetime | None = None) -> bool:
        """Extend our lease; False if another instance has taken it meanwhile."""
        return self.acquire(now)

    def release(self) -> None:
        """Give the lease up (at shutdown), if we hold it."""
        table = SchedulerLock.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.name == self.name, table.c.holder == self.holder)
            .values(holder=None, expires_at=None)
        )
        with session_scope(self.engine) as session:
            session.execute(statement)
        logger.info("scheduler lock %s released by %s", self.name, self.holder)

    def held_in(self, session: Session, now: datetime | None = None) -> bool:
        """Whether we hold an unexpired lease, read (and on PostgreSQL locked) in `session`."""
        now = now or _utcnow()
        row = session.get(SchedulerLock, self.name, with_for_update=True, populate_existing=True)
        return (
            row is not None
            and row.holder == self.holder
            and row.expires_at is not None
            and row.expires_at > now
        )

    def current_holder(self) -> str | None:
        """Who holds the lease now (None if free or expired), for status displays."""
        with session_scope(self.engine, read_only=True) as session:
            row = session.get(SchedulerLock, self.name)
            if row is None or row.expires_at is None or row.expires_at <= _utcnow():
                return None
            return row.holder


__all__ = ["DbLock", "make_holder_id"]
