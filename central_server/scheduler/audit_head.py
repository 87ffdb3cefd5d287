"""The daily signature of the audit chain head, and how anyone checks it.

The signed message is the UTF-8 canonical JSON (audit.canonical_json) of

    ["tw-audit-head-v1", event_id, head_hash, signed_at, key_id]

where `signed_at` is formatted as audit events' times are (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), signed
with the server's Ed25519 key. A signature vouches that on that day the chain ended at `event_id`
with hash `head_hash`: rewriting any event up to it changes that hash, which the holder of the
server key alone could re-sign. `trafficwatch server audit verify` checks every signature with the
public keys in `server_key` and that each signed hash is still the hash of its event.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlmodel import Session, col

from central_server.audit import HEAD_ROW_ID, canonical_json, format_at
from central_server.models import AuditHead, AuditHeadSignature
from central_server.server_keys import register_server_key
from protocol.keys import key_id, public_key_from_raw

logger = logging.getLogger(__name__)

HEAD_SIGNATURE_VERSION = "tw-audit-head-v1"


def head_message(event_id: int, head_hash: str, signed_at: datetime, signer_key_id: str) -> bytes:
    """The exact bytes a head signature covers."""
    fields = [HEAD_SIGNATURE_VERSION, event_id, head_hash, format_at(signed_at), signer_key_id]
    return canonical_json(fields).encode("utf-8")


def sign_head(session: Session, key: Ed25519PrivateKey, now: datetime) -> AuditHeadSignature | None:
    """Sign the current chain head (None while the chain is empty); no commit."""
    head = session.execute(
        select(col(AuditHead.last_event_id), col(AuditHead.last_hash)).where(
            col(AuditHead.id) == HEAD_ROW_ID
        )
    ).one()
    if head.last_event_id == 0:
        logger.info("audit chain empty: nothing to sign")
        return None
    register_server_key(session, key)
    kid = key_id(key)
    message = head_message(head.last_event_id, head.last_hash, now, kid)
    row = AuditHeadSignature(
        event_id=head.last_event_id,
        head_hash=head.last_hash,
        signature=key.sign(message),
        key_id=kid,
        signed_at=now,
    )
    session.add(row)
    session.flush()
    logger.info("signed audit head: event %d, %s", head.last_event_id, head.last_hash[:16])
    return row


def verify_head_signature(row: AuditHeadSignature, public_key_raw: bytes) -> bool:
    """Whether `row.signature` is the server key's signature of the row's head."""
    message = head_message(row.event_id, row.head_hash, row.signed_at, row.key_id)
    try:
        public_key_from_raw(public_key_raw).verify(row.signature, message)
    except InvalidSignature:
        return False
    return True
