"""Plate text as the public search compares it, on top of the `plates` grammar's search key."""

from __future__ import annotations

import itertools
import re

from plates.grammar import load_grammar

# At most this many `D` in a query are tried both as `D` and `Đ` (real plates have one or two).
MAX_FOLDED_LETTERS = 3
_SEARCH_KEY = re.compile(r"[0-9A-Z]{4,12}")


def search_key(text: str) -> str | None:
    """The folded compact form (`Đ` → `D`), or None when the text cannot be a plate."""
    key = load_grammar().search_key(text.strip())
    if not _SEARCH_KEY.fullmatch(key) or key.count("D") > MAX_FOLDED_LETTERS:
        return None
    return key


def stored_forms(key: str) -> list[str]:
    """Every compact form stored under `key`: each `D` may have been printed as `Đ`."""
    positions = [i for i, char in enumerate(key) if char == "D"]
    forms = []
    for choice in itertools.product("DĐ", repeat=len(positions)):
        chars = list(key)
        for pos, char in zip(positions, choice, strict=True):
            chars[pos] = char
        forms.append("".join(chars))
    return forms
