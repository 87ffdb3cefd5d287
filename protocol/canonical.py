"""Canonical CBOR (RFC 8949 §4.2.3, "length-first" map key order) and its strict decoding.

Only plain data travels: maps with text keys, arrays, text, bytes, integers, floats, booleans and
null. No tags, no indefinite lengths, no duplicate keys, nothing after the item, and the bytes must
be exactly what `canonical_cbor` would produce (of the raw data, or of the validated model where
the caller re-encodes that), so one message has one encoding and a signature over it is
unambiguous.
"""

from __future__ import annotations

import hashlib
from typing import Any

import cbor2
from pydantic import BaseModel

from protocol.errors import MalformedError

MAX_DEPTH = 32
# Tags cbor2 would turn into rich objects (datetimes, decimals, regexes, MIME messages, shared
# references that can form cycles...). No trafficwatch message uses a tag, so none is decoded.
_KNOWN_TAGS = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004)


def _refuse_tag(*_: object) -> Any:
    raise ValueError("CBOR tags are not allowed")


_NO_TAGS = dict.fromkeys(_KNOWN_TAGS, _refuse_tag)


def canonical_cbor(value: Any) -> bytes:
    """Encode plain data as canonical CBOR."""
    return cbor2.dumps(value, canonical=True)


def model_cbor(model: BaseModel) -> bytes:
    """Canonical CBOR of a model's JSON-mode dump (datetimes as ISO text, UUIDs as text)."""
    return canonical_cbor(model.model_dump(mode="json"))


def model_sha256(model: BaseModel) -> str:
    """Hex sha256 of a model's canonical CBOR; how configs and calibrations are named."""
    return hashlib.sha256(model_cbor(model)).hexdigest()


def loads_canonical(data: bytes, what: str, *, require_canonical: bool = True) -> Any:
    """Decode canonical CBOR holding only plain data; `MalformedError` names `what` otherwise.

    Pass `require_canonical=False` when the caller re-encodes a stricter form itself.
    """
    try:
        value = cbor2.loads(
            data,
            max_depth=MAX_DEPTH,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            semantic_decoders=_NO_TAGS,
            tag_hook=_refuse_tag,
        )
    except Exception as exc:  # cbor2 raises several types on garbage; all mean "not CBOR"
        raise MalformedError(f"{what} is not valid CBOR: {exc}") from exc
    if not require_canonical:
        return value
    try:
        again = canonical_cbor(value)
    except Exception as exc:  # unreachable for plain data; keep the error typed regardless
        raise MalformedError(f"{what} cannot be re-encoded: {exc}") from exc
    if again != data:
        raise MalformedError(f"{what} is not canonical CBOR (or has trailing bytes)")
    return value
