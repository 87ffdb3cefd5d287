"""Which alerts are firing, kept in the audit chain: `alert.fired` / `alert.cleared` events.

An alert's state is the action of the newest audit event of entity ("alert", key). The chain is
the record the centre already keeps and backs up, so a firing survives restarts and a restore,
needs no table of its own, and every firing is audited with what was delivered where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlmodel import Session, col

from central_server import audit
from central_server.alerts.schemas import Alert
from central_server.models import AuditEvent

ENTITY = "alert"
FIRED = "alert.fired"
CLEARED = "alert.cleared"
ACTOR = "system:alerts"


def firing_keys(session: Session) -> tuple[str, ...]:
    """Keys of the alerts whose newest event is a firing, sorted."""
    newest = (
        select(func.max(col(AuditEvent.id)))
        .where(col(AuditEvent.entity_type) == ENTITY)
        .group_by(col(AuditEvent.entity_id))
    )
    rows = session.execute(
        select(col(AuditEvent.entity_id), col(AuditEvent.action)).where(
            col(AuditEvent.id).in_(newest)
        )
    ).all()
    return tuple(sorted(key for key, action in rows if action == FIRED))


def record(
    session: Session,
    fired: Iterable[Alert],
    cleared: Iterable[str],
    delivered: Mapping[str, str],
) -> None:
    """Audit each firing (with its text and where it went) and each clearing; no commit."""
    for alert in fired:
        audit.append(
            session,
            actor=ACTOR,
            action=FIRED,
            entity_type=ENTITY,
            entity_id=alert.key,
            after={
                "message_vi": alert.message_vi,
                "message_en": alert.message_en,
                "detail": alert.detail,
                "delivered": dict(delivered),
            },
        )
    for key in cleared:
        audit.append(
            session,
            actor=ACTOR,
            action=CLEARED,
            entity_type=ENTITY,
            entity_id=key,
            after={"delivered": dict(delivered)},
        )
