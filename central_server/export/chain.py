"""The audit chain's hash rules, restated without a database so a bundle verifies anywhere.

This is the rule `central_server.audit` documents (and a test pins the two together): an event's
hash is the SHA-256 of the canonical JSON of ["tw-audit-v1", id, at, actor, action, entity_type,
entity_id, before_sha256, after_sha256, prev_hash].
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_VERSION = "tw-audit-v1"
GENESIS_HASH = "0" * 64
HEAD_SIGNATURE_VERSION = "tw-audit-head-v1"

EVENT_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before_sha256",
    "after_sha256",
    "prev_hash",
    "hash",
)


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, non-ASCII kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_text(text: str) -> str:
    """SHA-256 hex digest of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(event: dict[str, Any]) -> str:
    """Recompute an event's chain hash from its fields (`at` as the chain formats it)."""
    fields = [HASH_VERSION, *(event[name] for name in EVENT_FIELDS[:-1])]
    return sha256_text(canonical_json(fields))


def value_sha256(value: Any) -> str:
    """The hash an audit event keeps of a before/after value."""
    return sha256_text(canonical_json(value))


def head_message(event_id: int, head_hash: str, signed_at: str, signer_key_id: str) -> bytes:
    """The bytes a daily head signature covers (central_server.scheduler.audit_head's rule):
    canonical JSON of ["tw-audit-head-v1", event_id, head_hash, signed_at, key_id]."""
    fields = [HEAD_SIGNATURE_VERSION, event_id, head_hash, signed_at, signer_key_id]
    return canonical_json(fields).encode("utf-8")
