"""The search key: separators and case ignored, `D` and `Đ` the same letter, wildcards refused."""

from __future__ import annotations

import pytest

from central_server.public.normalise import search_key, stored_forms


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("73a-123.45", "73A12345"),
        ("73A12345", "73A12345"),
        ("73 A 123 45", "73A12345"),
        ("29MĐ1-013.53", "29MD101353"),
        ("29MD1 01353", "29MD101353"),
        ("29mđ1-013.53", "29MD101353"),
    ],
)
def test_typed_plates_fold_to_one_key(typed: str, key: str) -> None:
    assert search_key(typed) == key


@pytest.mark.parametrize("typed", ["", "73", "73A%", "73A*", "73A?2345", "73A12345678901"])
def test_wildcards_and_fragments_are_not_plates(typed: str) -> None:
    assert search_key(typed) is None


def test_each_d_may_be_stored_as_d_or_dj() -> None:
    assert sorted(stored_forms("29MD101353")) == ["29MD101353", "29MĐ101353"]
    assert stored_forms("73A12345") == ["73A12345"]
