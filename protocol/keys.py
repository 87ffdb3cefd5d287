"""Ed25519 keys: generation, PEM and raw forms, and the short key id messages carry."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import MalformedError

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "generate_private_key",
    "key_id",
    "private_key_from_pem",
    "private_key_from_seed",
    "private_key_to_pem",
    "public_key_from_pem",
    "public_key_from_raw",
    "public_key_to_pem",
    "public_key_to_raw",
]


def generate_private_key() -> Ed25519PrivateKey:
    """Make a new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """Derive the private key from its 32-byte seed (tests use a fixed one)."""
    if len(seed) != 32:
        raise MalformedError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """Serialise a private key as unencrypted PKCS#8 PEM (the file is protected by its mode)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    """Load a PKCS#8 PEM private key; refuse anything but Ed25519."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise MalformedError(f"not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def public_key_to_raw(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_raw(data: bytes) -> Ed25519PublicKey:
    """Load a public key from its 32 raw bytes."""
    if len(data) != 32:
        raise MalformedError(f"an Ed25519 public key is 32 bytes, got {len(data)}")
    return Ed25519PublicKey.from_public_bytes(data)


def public_key_to_pem(key: Ed25519PublicKey) -> bytes:
    """Serialise a public key as SubjectPublicKeyInfo PEM."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_from_pem(data: bytes) -> Ed25519PublicKey:
    """Load a SubjectPublicKeyInfo PEM public key; refuse anything but Ed25519."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise MalformedError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise MalformedError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """16 hex chars of sha256 of the raw public key: how messages name their signer."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(public_key_to_raw(public)).hexdigest()[:16]
