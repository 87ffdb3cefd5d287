"""Fixtures for the scheduler tests."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.keys import generate_private_key


@pytest.fixture
def server_key() -> Ed25519PrivateKey:
    """A fresh server signing key."""
    return generate_private_key()
