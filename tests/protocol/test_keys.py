"""Keys: PEM and raw forms round trip, key ids, non-Ed25519 keys refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from protocol.errors import MalformedError
from protocol.keys import (
    generate_private_key,
    key_id,
    private_key_from_pem,
    private_key_from_seed,
    private_key_to_pem,
    public_key_from_pem,
    public_key_from_raw,
    public_key_to_pem,
    public_key_to_raw,
)


def test_pem_and_raw_round_trips() -> None:
    key = generate_private_key()
    again = private_key_from_pem(private_key_to_pem(key))
    assert public_key_to_raw(again.public_key()) == public_key_to_raw(key.public_key())
    public = key.public_key()
    assert public_key_to_raw(public_key_from_raw(public_key_to_raw(public))) == public_key_to_raw(
        public
    )
    assert public_key_to_raw(public_key_from_pem(public_key_to_pem(public))) == public_key_to_raw(
        public
    )


def test_key_id_is_16_hex_of_the_public_key_hash() -> None:
    key = private_key_from_seed(bytes(32))
    assert key_id(key) == key_id(key.public_key())
    assert len(key_id(key)) == 16 and int(key_id(key), 16) >= 0
    assert key_id(key) != key_id(private_key_from_seed(bytes(31) + b"\x01"))


def test_seeded_keys_are_reproducible() -> None:
    assert key_id(private_key_from_seed(b"\x07" * 32)) == key_id(
        private_key_from_seed(b"\x07" * 32)
    )
    with pytest.raises(MalformedError):
        private_key_from_seed(b"short")


def test_other_key_types_and_garbage_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(MalformedError, match="Ed25519"):
        private_key_from_pem(pem)
    public_pem = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(MalformedError, match="Ed25519"):
        public_key_from_pem(public_pem)
    with pytest.raises(MalformedError):
        private_key_from_pem(b"not a key")
    with pytest.raises(MalformedError):
        public_key_from_raw(b"\x00" * 31)
