"""Typed errors for bad wire input: each names what failed and carries a stable `code`.

Every code except `bad_topic` is also a `RejectReason` value, so the server can turn an error into
a rejection ack with `RejectReason(err.code)`.
"""

from __future__ import annotations

from pydantic import ValidationError

from protocol.enums import MediaRole


class ProtocolError(ValueError):
    """Base class: the input is not a valid trafficwatch message."""

    code: str = "malformed"


class MalformedError(ProtocolError):
    """Truncated, not canonical CBOR, wrong type, missing or extra field, trailing bytes."""

    code = "malformed"


class VersionError(ProtocolError):
    """The message's major version is not one this library speaks."""

    code = "unsupported_version"


class SignatureError(ProtocolError):
    """The Ed25519 signature does not verify, or the message names another key."""

    code = "bad_signature"


class PartHashError(ProtocolError):
    """A media part's bytes do not match the sha256 or size in the signed header."""

    code = "part_hash_mismatch"

    def __init__(self, role: MediaRole, message: str) -> None:
        super().__init__(message)
        self.role = role


class SizeError(ProtocolError):
    """A packet or message is larger than the protocol allows."""

    code = "too_large"


class ChunkError(ProtocolError):
    """A chunk set is inconsistent, incomplete or does not hash to the packet."""

    code = "chunk_error"

    def __init__(
        self, message: str, *, missing: tuple[int, ...] = (), conflicting: tuple[int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.conflicting = conflicting


class TopicError(ProtocolError):
    """An MQTT topic or device id is malformed or contains wildcards."""

    code = "bad_topic"


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """Summarise a pydantic error as 'a.b: message; ...' naming each bad field's path."""
    items = []
    for error in exc.errors()[:limit]:
        path = ".".join(str(part) for part in error["loc"]) or "(root)"
        items.append(f"{path}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(items) + (f" (+{more} more)" if more > 0 else "")
