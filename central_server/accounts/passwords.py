"""Password hashing (Argon2id) and the strength rules: 12+ characters, nothing common or trivial."""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from central_server.accounts.settings import AuthSettings
from central_server.errors import AppError

logger = logging.getLogger(__name__)

MIN_LENGTH = 12
MAX_LENGTH = 128  # Argon2 takes any length; a bound keeps a login request cheap to refuse
MIN_DISTINCT = 5
MAX_WORDS_IN_WEAK_PHRASE = 3
# Digits only (dates, phone numbers, ID card numbers) must be long to be worth anything.
MIN_DIGITS_ONLY = 16
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEQUENCES = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords and password bases (lower case)."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def make_hasher(settings: AuthSettings) -> PasswordHasher:
    """An Argon2id hasher with the configured cost."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """Return the Argon2id hash (with its salt and parameters) of `password`."""
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash` (False for a malformed hash too)."""
    try:
        return hasher.verify(password_hash, password)
    except VerificationError:
        return False
    except InvalidHashError:
        logger.error("a stored password hash is not an Argon2 hash")
        return False


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("dummy password for unknown users")


def burn_verification(hasher: PasswordHasher) -> None:
    """Spend a verification's time for an unknown user, so timing does not reveal who exists."""
    verify_password(hasher, _dummy_hash(hasher), "not the dummy password")


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics ("Quỳnh" and "quynh" compare equal)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _weak(message_vi: str, message_en: str) -> AppError:
    return AppError(422, "weak_password", message_vi, message_en)


def _in_sequence(text: str) -> bool:
    return any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


def _is_repetition(text: str) -> bool:
    return any(
        len(text) % n == 0 and text[:n] * (len(text) // n) == text
        for n in range(1, len(text) // 2 + 1)
    )


def _is_phrase_of_common_words(text: str) -> bool:
    """Whether `text` splits into at most three listed words (e.g. `nguyenvanminh`)."""
    words = common_passwords()
    best = [0] + [MAX_WORDS_IN_WEAK_PHRASE + 1] * len(text)  # fewest words covering text[:i]
    for end in range(1, len(text) + 1):
        for start in range(end):
            if best[start] < MAX_WORDS_IN_WEAK_PHRASE and text[start:end] in words:
                best[end] = min(best[end], best[start] + 1)
    return best[-1] <= MAX_WORDS_IN_WEAK_PHRASE


def _is_trivial(lowered: str) -> bool:
    compact = re.sub(r"[\s\W_]+", "", lowered)
    # Digits and symbols around a word add little ("matkhau2025!"); inside it they are often
    # letters in disguise ("p@ssw0rd").
    core = re.sub(r"[\s\W_]+", "", _EDGES.sub("", lowered).translate(_LEET))
    return (
        len(set(lowered)) < MIN_DISTINCT
        or (compact.isdigit() and len(compact) < MIN_DIGITS_ONLY)
        or _is_repetition(compact)
        or _in_sequence(compact)
        or core in common_passwords()
        or lowered in common_passwords()
        or (len(core) > 0 and (_is_repetition(core) or _is_phrase_of_common_words(core)))
    )


def check_password_strength(password: str, *, username: str = "", full_name: str = "") -> None:
    """Raise AppError 422 when `password` is too short, too long, common or about the user."""
    if len(password) < MIN_LENGTH:
        raise _weak(
            f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự.",
            f"The password needs at least {MIN_LENGTH} characters.",
        )
    if len(password) > MAX_LENGTH:
        raise _weak(
            f"Mật khẩu dài tối đa {MAX_LENGTH} ký tự.",
            f"The password may have at most {MAX_LENGTH} characters.",
        )
    lowered = fold(password)
    personal = [fold(username), *fold(full_name).split()]
    if any(len(part) >= 3 and part in lowered for part in personal):
        raise _weak(
            "Mật khẩu không được chứa tên đăng nhập hoặc họ tên.",
            "The password must not contain the user name or the person's name.",
        )
    if _is_trivial(lowered):
        raise _weak(
            "Mật khẩu quá phổ biến hoặc dễ đoán (từ thông dụng, dãy ký tự, lặp lại); "
            "hãy dùng một cụm từ dài, khó đoán.",
            "The password is too common or predictable (a common word, a sequence or a "
            "repetition); use a long, unusual passphrase.",
        )
