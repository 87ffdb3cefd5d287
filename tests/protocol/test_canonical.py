"""Strict CBOR decoding: one encoding per value, no tags, nothing trailing."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.canonical import canonical_cbor, loads_canonical
from protocol.errors import MalformedError
from tests.protocol.strategies import PROPERTY

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@PROPERTY
@given(plain)
def test_plain_data_round_trips(value: object) -> None:
    assert loads_canonical(canonical_cbor(value), "x") == value


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (bytes.fromhex("a2616201616102"), "map keys out of order"),
        (bytes.fromhex("1801"), "integer with a longer head than needed"),
        (bytes.fromhex("fb3ff8000000000000"), "float wider than needed"),
        (bytes.fromhex("5f41614162ff"), "indefinite length"),
        (bytes.fromhex("c11a514b67b0"), "tag (epoch datetime)"),
        (bytes.fromhex("d8ff01"), "unknown tag"),
        (canonical_cbor(2**64), "integer beyond 64 bits (a bignum tag)"),
        (bytes.fromhex("a2616101616102"), "duplicate key"),
        (bytes.fromhex("0102"), "trailing bytes"),
        (bytes.fromhex("62ffff"), "invalid UTF-8"),
        (b"", "empty"),
    ],
)
def test_refused(data: bytes, why: str) -> None:
    with pytest.raises(MalformedError):
        loads_canonical(data, why)


def test_matches_cbor2_canonical_form() -> None:
    value = {"bb": [1.5, 100000.0, 1.1, -0.0], "a": {"z": b"\x00", "yy": None}}
    assert canonical_cbor(value) == cbor2.dumps(value, canonical=True)
    assert canonical_cbor(value)[:3] == bytes.fromhex("a26161")  # shorter key first
