"""Sealed messages: signatures with domain separation, kinds, versions, strict bodies."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from protocol.ack import Ack, open_ack, seal_ack
from protocol.config import SignedConfig, open_config
from protocol.enums import AckStatus, RejectReason
from protocol.errors import MalformedError, ProtocolError, SignatureError, SizeError, VersionError
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id
from protocol.limits import MAX_SEALED_BYTES
from protocol.sealed import KIND_ACK, KIND_CONFIG, peek, seal, unseal
from tests.factories import make_ack


def resealed(data: bytes, key: Ed25519PrivateKey | None = None, **changes: Any) -> bytes:
    """Edit the envelope's fields (re-signing the body with `key` when given)."""
    envelope = cbor2.loads(data)
    envelope.update(changes)
    if key is not None:
        message = b"trafficwatch/" + envelope["kind"].encode() + b"\x00" + envelope["body"]
        envelope["sig"] = key.sign(message)
    return cbor2.dumps(envelope, canonical=True)


def test_ack_round_trip(server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey) -> None:
    ack = make_ack(status=AckStatus.rejected, reason=RejectReason.replay, detail="seq 7 seen")
    assert open_ack(seal_ack(ack, server_key), server_public_key) == ack


def test_envelope_layout_matches_the_documentation(server_key: Ed25519PrivateKey) -> None:
    ack = make_ack()
    envelope = cbor2.loads(seal_ack(ack, server_key))
    assert envelope["v"] == [1, 0] and envelope["kind"] == "ack"
    assert envelope["kid"] == key_id(server_key)
    assert envelope["body"] == cbor2.dumps(ack.model_dump(mode="json"), canonical=True)
    server_key.public_key().verify(envelope["sig"], b"trafficwatch/ack\x00" + envelope["body"])


def test_an_ack_cannot_pass_as_a_config(
    server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    data = seal_ack(make_ack(), server_key)
    with pytest.raises(MalformedError, match="expected a 'config' message"):
        open_config(data, server_public_key)
    # Relabelling the kind breaks the signature: the kind is inside the signed bytes.
    with pytest.raises(SignatureError):
        unseal(KIND_CONFIG, resealed(data, kind="config"), SignedConfig, server_public_key)


def test_only_the_server_key_is_trusted(
    server_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey
) -> None:
    data = seal_ack(make_ack(), server_key)
    with pytest.raises(SignatureError, match=key_id(device_key)):
        open_ack(data, device_key.public_key())
    forged = resealed(data, device_key, kid=key_id(server_key))
    with pytest.raises(SignatureError, match="chữ ký không hợp lệ"):
        open_ack(forged, server_key.public_key())


def test_a_changed_body_fails_the_signature(
    server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    data = seal_ack(make_ack(), server_key)
    body = cbor2.loads(data)["body"]
    changed = body.replace(b"stored", b"stoned")
    with pytest.raises(SignatureError):
        open_ack(resealed(data, body=changed), server_public_key)


def test_every_single_bit_flip_is_detected(
    server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    data = seal_ack(make_ack(), server_key)
    # The minor version (byte 5, inside "v": [1, 0]) is outside the signed bytes by design: a
    # higher minor is accepted and changes nothing the body says.
    minor_at = data.index(b"\x82\x01\x00") + 2
    undetected = []
    for offset in (o for o in range(len(data)) if o != minor_at):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            try:
                open_ack(bytes(flipped), server_public_key)
            except ProtocolError:
                continue
            undetected.append((offset, bit))
    assert undetected == []


def test_versions(server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey) -> None:
    data = seal_ack(make_ack(), server_key)
    with pytest.raises(VersionError):
        open_ack(resealed(data, v=[2, 0]), server_public_key)
    # A higher minor is accepted (the version sits outside the signed bytes; the body decides).
    assert open_ack(resealed(data, v=[1, 9]), server_public_key) == make_ack()


def test_extra_and_missing_body_fields_are_named(
    server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    body = make_ack().model_dump(mode="json")
    extra = resealed(
        seal_ack(make_ack(), server_key),
        server_key,
        body=cbor2.dumps({**body, "colour": "red"}, canonical=True),
    )
    with pytest.raises(MalformedError, match="colour"):
        open_ack(extra, server_public_key)
    del body["packet_id"]
    missing = resealed(
        seal_ack(make_ack(), server_key), server_key, body=cbor2.dumps(body, canonical=True)
    )
    with pytest.raises(MalformedError, match="packet_id"):
        open_ack(missing, server_public_key)


@pytest.mark.parametrize(
    "changes",
    [{"sig": b"short"}, {"kid": "NOT-HEX"}, {"kind": "Bad Kind"}, {"v": [1]}, {"body": "text"}],
)
def test_malformed_envelopes_are_refused(
    changes: dict[str, Any], server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    with pytest.raises(MalformedError):
        open_ack(resealed(seal_ack(make_ack(), server_key), None, **changes), server_public_key)


def test_an_envelope_with_extra_or_missing_fields_is_refused(
    server_key: Ed25519PrivateKey, server_public_key: Ed25519PublicKey
) -> None:
    envelope = cbor2.loads(seal_ack(make_ack(), server_key))
    for broken in ({**envelope, "x": 1}, {k: v for k, v in envelope.items() if k != "kid"}):
        with pytest.raises(MalformedError, match="fields"):
            open_ack(cbor2.dumps(broken, canonical=True), server_public_key)


def test_garbage_and_oversize_input(server_public_key: Ed25519PublicKey) -> None:
    for garbage in (b"", b"\xff", b"\xa1", b"hello", cbor2.dumps([1, 2])):
        with pytest.raises(MalformedError):
            open_ack(garbage, server_public_key)
    with pytest.raises(SizeError):
        open_ack(bytes(MAX_SEALED_BYTES + 1), server_public_key)


def test_peek_reads_without_verifying(server_key: Ed25519PrivateKey) -> None:
    info = peek(seal(KIND_ACK, make_ack(), server_key))
    assert (info.kind, info.key_id, info.major, info.minor) == ("ack", key_id(server_key), 1, 0)


def test_reason_comes_with_rejection_only() -> None:
    with pytest.raises(ValueError, match="reason"):
        make_ack(status=AckStatus.rejected)
    with pytest.raises(ValueError, match="reason"):
        make_ack(status=AckStatus.stored, reason=RejectReason.replay)
    assert make_ack().releases_packet
    assert make_ack(status=AckStatus.duplicate).releases_packet
    assert not make_ack(status=AckStatus.rejected, reason=RejectReason.malformed).releases_packet
    assert isinstance(make_ack(), Ack)
