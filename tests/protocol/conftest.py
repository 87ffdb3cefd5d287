"""Fixtures for the protocol tests: the fixed TEST-ONLY keys, a small and a reference packet."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from tests.factories import fixed_device_key, fixed_server_key, make_packet

ROOT = Path(__file__).resolve().parents[2]


def load_script(relative: str, name: str) -> ModuleType:
    """Import a file under scripts/ (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def device_key() -> Ed25519PrivateKey:
    return fixed_device_key()


@pytest.fixture
def device_public_key(device_key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return device_key.public_key()


@pytest.fixture
def server_key() -> Ed25519PrivateKey:
    return fixed_server_key()


@pytest.fixture
def server_public_key(server_key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return server_key.public_key()


@pytest.fixture
def small_packet() -> bytes:
    return make_packet()[1]


@pytest.fixture(scope="session")
def reference_module() -> ModuleType:
    return load_script("scripts/bench/reference.py", "tw_bench_reference")


@pytest.fixture(scope="session")
def reference_key() -> Ed25519PrivateKey:
    return fixed_device_key()


@pytest.fixture(scope="session")
def reference_packet(reference_module: ModuleType, reference_key: Ed25519PrivateKey) -> bytes:
    data: bytes = reference_module.reference_packet(reference_key, seq=1)[1]
    return data
