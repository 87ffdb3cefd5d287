from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from central_server.accounts.passwords import (
    MIN_LENGTH,
    check_password_strength,
    common_passwords,
    hash_password,
    verify_password,
)
from central_server.errors import AppError


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # listed word and digits
        "P@ssw0rd2024!",  # leet
        "matkhau12345",  # Vietnamese "password"
        "anhyeuem1990@",  # "I love you" and a year
        "Nguyenvanminh1",  # a name made of listed words
        "conganthanhpho2025",  # this system's vocabulary
        "123456789012",  # a sequence
        "qwertyuiop12",  # a keyboard row
        "abcabcabcabc",  # a repetition
        "aaaaaaaaaaaa",
        "2024-12-31-2025",  # digits only
    ],
)
def test_common_and_predictable_passwords_are_refused(password: str) -> None:
    with pytest.raises(AppError) as caught:
        check_password_strength(password)
    assert caught.value.status_code == 422
    assert caught.value.code == "weak_password"
    assert "Mật khẩu" in caught.value.message_vi


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Đồng Hới mưa rào 7 giờ",
        "x7#Gm2!pQz9w",
        "tr4ffic-lamp-otter",
    ],
)
def test_long_unusual_passwords_are_accepted(password: str) -> None:
    check_password_strength(password, username="minh.nv", full_name="Nguyễn Văn Minh")


def test_short_passwords_say_how_long_they_must_be() -> None:
    with pytest.raises(AppError) as caught:
        check_password_strength("Xk9#mQ2!")
    assert str(MIN_LENGTH) in caught.value.message_vi
    assert str(MIN_LENGTH) in caught.value.message_en


def test_a_password_containing_the_users_name_is_refused() -> None:
    with pytest.raises(AppError, match="user name"):
        check_password_strength("lan.tt-Gio-Bac-31", username="lan.tt")
    with pytest.raises(AppError, match="name"):
        check_password_strength("Hoa-Quynh-mua-dong-9", full_name="Trần Quỳnh")


def test_the_shipped_list_is_loaded_in_lower_case() -> None:
    words = common_passwords()
    assert len(words) > 500
    assert {"password", "matkhau", "anhyeuem", "csgt"} <= words
    assert all(word == word.lower() for word in words)


def test_hashes_are_argon2id_salted_and_verify() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    first, second = (hash_password(hasher, "Đèn đỏ ở ngã tư") for _ in range(2))
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(hasher, first, "Đèn đỏ ở ngã tư")
    assert not verify_password(hasher, first, "Đèn xanh ở ngã tư")
    assert not verify_password(hasher, "not a hash", "anything")
