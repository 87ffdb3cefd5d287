"""TOTP second factor (RFC 6238, pyotp): seeds encrypted at rest, each code accepted once."""

from __future__ import annotations

import base64
import hmac
from datetime import datetime, timedelta

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from central_server.accounts.models import User

ISSUER = "trafficwatch"
STEP_S = 30
# One step either side: a phone clock a little off still works; more would widen replay.
WINDOW_STEPS = 1
CODE_DIGITS = 6


def _fernet(secret_key: str) -> Fernet:
    # A key of its own, derived from the server secret: the seed is unreadable in a database dump.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"trafficwatch/totp-seed"
    ).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def new_totp_secret() -> str:
    """A new random base32 TOTP seed (160 bits)."""
    return pyotp.random_base32(length=32)


def encrypt_secret(secret_key: str, seed: str) -> str:
    """Encrypt a TOTP seed for storage."""
    return _fernet(secret_key).encrypt(seed.encode("ascii")).decode("ascii")


def decrypt_secret(secret_key: str, token: str) -> str | None:
    """Decrypt a stored TOTP seed; None if the server secret changed since it was stored."""
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        return None


def provisioning_uri(seed: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(seed, digits=CODE_DIGITS, interval=STEP_S).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def matching_step(seed: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals `code` within the window, or None."""
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        return None
    totp = pyotp.TOTP(seed, digits=CODE_DIGITS, interval=STEP_S)
    for offset in range(-WINDOW_STEPS, WINDOW_STEPS + 1):
        at = now + timedelta(seconds=offset * STEP_S)
        if hmac.compare_digest(totp.at(at), code):
            return int(totp.timecode(at))
    return None


def accept_code(user: User, secret_key: str, code: str, now: datetime) -> bool:
    """Check a code for an enrolled user and burn its step, so it cannot be replayed."""
    if user.totp_secret_enc is None:
        return False
    seed = decrypt_secret(secret_key, user.totp_secret_enc)
    if seed is None:
        return False
    step = matching_step(seed, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True
