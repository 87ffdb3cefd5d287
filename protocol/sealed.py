"""Sealed messages: a signed, versioned CBOR envelope for acks, configs, commands and replies.

    {"v": [major, minor], "kind": str, "kid": str, "body": bytes, "sig": bytes(64)}

`body` is the canonical CBOR of the model's JSON-mode dump; `sig` is Ed25519 over
b"trafficwatch/" + kind + b"\\x00" + body. Binding the kind into the signed bytes (domain
separation) means an ack can never be replayed as a config or a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel, ValidationError

from protocol.canonical import canonical_cbor, loads_canonical, model_cbor
from protocol.errors import (
    MalformedError,
    SignatureError,
    SizeError,
    VersionError,
    describe_validation,
)
from protocol.fields import KEY_ID_PATTERN
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id
from protocol.limits import MAX_SEALED_BYTES
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR

__all__ = [
    "KIND_ACK",
    "KIND_COMMAND",
    "KIND_CONFIG",
    "KIND_REPLY",
    "SealedInfo",
    "peek",
    "seal",
    "unseal",
]

KIND_ACK = "ack"
KIND_CONFIG = "config"
KIND_COMMAND = "command"
KIND_REPLY = "reply"
DOMAIN = b"trafficwatch/"
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_KEY_ID = re.compile(KEY_ID_PATTERN)
_FIELDS = {"v", "kind", "kid", "body", "sig"}

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class SealedInfo:
    """What a sealed message says about itself, before any verification."""

    kind: str
    key_id: str
    major: int
    minor: int


def _signed_bytes(kind: str, body: bytes) -> bytes:
    return b"".join((DOMAIN, kind.encode("ascii"), b"\x00", body))


def seal(kind: str, model: BaseModel, key: Ed25519PrivateKey) -> bytes:
    """Sign `model` as a message of `kind` with `key`."""
    if not _KIND.fullmatch(kind):
        raise MalformedError(f"bad message kind {kind!r}")
    body = model_cbor(model)
    envelope = {
        "v": [PROTOCOL_MAJOR, PROTOCOL_MINOR],
        "kind": kind,
        "kid": key_id(key),
        "body": body,
        "sig": key.sign(_signed_bytes(kind, body)),
    }
    data = canonical_cbor(envelope)
    if len(data) > MAX_SEALED_BYTES:
        raise SizeError(f"{kind} message is {len(data)} bytes; the limit is {MAX_SEALED_BYTES}")
    return data


def _parse(data: bytes | bytearray | memoryview) -> tuple[SealedInfo, bytes, bytes]:
    if len(data) > MAX_SEALED_BYTES:
        raise SizeError(f"message is {len(data)} bytes; the limit is {MAX_SEALED_BYTES}")
    value = loads_canonical(bytes(data), "sealed message")
    if not isinstance(value, dict) or set(value) != _FIELDS:
        found = sorted(map(str, value)) if isinstance(value, dict) else type(value).__name__
        raise MalformedError(f"sealed message needs fields {sorted(_FIELDS)}, got {found}")
    version, kind, kid = value["v"], value["kind"], value["kid"]
    body, sig = value["body"], value["sig"]
    if not (
        isinstance(version, list)
        and len(version) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 255 for n in version)
    ):
        raise MalformedError("sealed message version must be [major, minor]")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise MalformedError("sealed message kind is malformed")
    if not isinstance(kid, str) or not _KEY_ID.fullmatch(kid):
        raise MalformedError("sealed message key id is malformed")
    if not isinstance(body, bytes) or not isinstance(sig, bytes) or len(sig) != 64:
        raise MalformedError("sealed message body or signature is malformed")
    return SealedInfo(kind=kind, key_id=kid, major=version[0], minor=version[1]), body, sig


def peek(data: bytes | bytearray | memoryview) -> SealedInfo:
    """Kind, key id and version of a sealed message, without verifying it."""
    return _parse(data)[0]


def unseal(
    kind: str,
    data: bytes | bytearray | memoryview,
    model_cls: type[ModelT],
    public_key: Ed25519PublicKey,
) -> ModelT:
    """Check kind, version and signature, then validate the body into `model_cls`."""
    info, body, sig = _parse(data)
    if info.kind != kind:
        raise MalformedError(f"expected a {kind!r} message, got {info.kind!r}")
    if info.major != PROTOCOL_MAJOR:
        raise VersionError(f"unsupported major version {info.major} of a {kind!r} message")
    expected = key_id(public_key)
    if info.key_id != expected:
        raise SignatureError(f"{kind} message is signed by key {info.key_id}, not {expected}")
    try:
        public_key.verify(sig, _signed_bytes(kind, body))
    except InvalidSignature as exc:
        raise SignatureError(f"chữ ký không hợp lệ (bad signature on a {kind!r} message)") from exc
    value = loads_canonical(body, f"{kind} body")
    try:
        return model_cls.model_validate(value)
    except ValidationError as exc:
        raise MalformedError(f"{kind} body: {describe_validation(exc)}") from exc
