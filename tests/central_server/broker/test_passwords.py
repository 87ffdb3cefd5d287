"""Broker password hashes: Mosquitto's `$7$` format both ways, and text salts EMQX can take."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from central_server.broker.passwords import (
    PasswordHash,
    PasswordHashError,
    hash_password,
    keep_or_hash,
)


def test_a_hash_made_here_verifies_and_reads_back() -> None:
    hashed = hash_password("mật khẩu dài của thiết bị")
    again = PasswordHash.parse(hashed.mosquitto())
    assert again == hashed and again.verify("mật khẩu dài của thiết bị")
    assert not again.verify("wrong")
    assert hashed.mosquitto().startswith("$7$101$")
    assert hashed.text_salt is not None and len(hashed.text_salt) == 12


def test_a_hash_made_by_mosquitto_passwd_verifies(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not installed")
    path = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(path), "box", "s3cret-box"], check=True)
    stored = path.read_text().strip().split(":", 1)[1]
    hashed = PasswordHash.parse(stored)
    assert hashed.verify("s3cret-box") and not hashed.verify("s3cret-bo")
    assert hashed.mosquitto() == stored


@pytest.mark.parametrize(
    "text",
    ["$6$abc$def", "plain", "$7$x$YWJj$ZGVm", "$7$101$YWJj$ZGVm", "$7$101$!!!$ZGVm"],
    ids=["sha512-crypt", "plain", "iterations", "lengths", "base64"],
)
def test_what_is_not_a_mosquitto_2_hash_is_refused(text: str) -> None:
    with pytest.raises(PasswordHashError):
        PasswordHash.parse(text)


def test_raw_byte_salts_are_not_text() -> None:
    assert hash_password("x", salt=bytes(range(12))).text_salt is None


def test_an_unchanged_password_keeps_its_hash_and_a_new_one_gets_a_new_hash() -> None:
    first = hash_password("service-password-1")
    assert keep_or_hash("service-password-1", first) is first
    changed = keep_or_hash("service-password-2", first)
    assert changed != first and changed.verify("service-password-2")
