"""Broker password hashes: PBKDF2-SHA512 as Mosquitto 2 writes it (`$7$`), readable by EMQX too.

A Mosquitto 2 password-file line is `user:$7$<iterations>$<base64 salt>$<base64 digest>` with a
12-byte salt (Mosquitto 2.0 refuses any other length) and a 64-byte PBKDF2-HMAC-SHA512 digest.
EMQX's built-in database takes the same algorithm with the salt as a text field, so the salts
made here are 12 URL-safe ASCII characters: one hash then serves both brokers. A hash whose salt
is raw random bytes (as `mosquitto_passwd` makes) still works for Mosquitto, not for EMQX.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

# mosquitto_passwd's own default. The broker passwords trafficwatch makes are 256-bit random
# strings, which no iteration count makes easier or harder to guess; a small count keeps a
# reconnect storm of many boxes cheap for the broker.
ITERATIONS = 101
SALT_BYTES = 12
DIGEST_BYTES = 64
MIN_SERVICE_PASSWORD = 16
# Characters an EMQX users CSV/JSON can carry in its `salt` field unescaped.
_TEXT_SALT = re.compile(rb"[A-Za-z0-9_\-+/=.]{12}")


class PasswordHashError(ValueError):
    """A stored hash that is not a Mosquitto `$7$` PBKDF2-SHA512 hash."""


@dataclass(frozen=True)
class PasswordHash:
    """One PBKDF2-SHA512 password hash."""

    iterations: int
    salt: bytes
    digest: bytes

    def mosquitto(self) -> str:
        """The hash as a Mosquitto 2 password file holds it after `user:`."""
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"$7${self.iterations}${salt}${digest}"

    def verify(self, password: str) -> bool:
        """Whether `password` matches (constant-time comparison)."""
        digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), self.salt, self.iterations)
        return hmac.compare_digest(digest, self.digest)

    @property
    def text_salt(self) -> str | None:
        """The salt as text (what EMQX stores), None when it is raw bytes."""
        return self.salt.decode("ascii") if _TEXT_SALT.fullmatch(self.salt) else None

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Read a `$7$iterations$salt$digest` hash; `PasswordHashError` if it is not one."""
        parts = text.strip().split("$")
        if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
            raise PasswordHashError("not a Mosquitto $7$ (PBKDF2-SHA512) hash")
        try:
            salt = base64.b64decode(parts[3], validate=True)
            digest = base64.b64decode(parts[4], validate=True)
        except binascii.Error as exc:
            raise PasswordHashError(f"bad base64 in the hash: {exc}") from exc
        if len(salt) != SALT_BYTES or len(digest) != DIGEST_BYTES:
            raise PasswordHashError(
                f"salt must be {SALT_BYTES} bytes and digest {DIGEST_BYTES} (Mosquitto 2)"
            )
        return cls(int(parts[2]), salt, digest)


def hash_password(
    password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None
) -> PasswordHash:
    """Hash a password with a fresh 12-character text salt (usable by Mosquitto and EMQX)."""
    salt = salt if salt is not None else secrets.token_urlsafe(9).encode("ascii")
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes")
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return PasswordHash(iterations, salt, digest)


def keep_or_hash(password: str, existing: PasswordHash | None) -> PasswordHash:
    """The existing hash when it still matches `password` (files stay identical), else a new one."""
    if existing is not None and existing.verify(password):
        return existing
    return hash_password(password)
