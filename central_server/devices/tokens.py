"""One-time enrolment tokens: made by an admin, typed by a technician, stored as their sha256.

A token is 100 random bits in RFC 4648 base32, grouped for reading aloud over a phone line:
`TWE-ABCDE-FGHIJ-KLMNO-PQRST`. Case, spaces and dashes do not matter when it is presented.
Expiring and single-use: the claim is one conditional UPDATE, so of two boxes presenting the same
token at the same moment exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from central_server import audit
from central_server.devices.models_enrolment import EnrolmentToken
from central_server.errors import AppError
from central_server.models import Site
from protocol.topics import validate_device_id

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "TWE"
TOKEN_GROUPS = 4
GROUP_CHARS = 5
MAX_TTL = timedelta(days=14)
_TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}[A-Z2-7]{{{TOKEN_GROUPS * GROUP_CHARS}}}$")


@dataclass(frozen=True)
class NewEnrolmentToken:
    """A token just made: the secret (shown once, never stored) and its row."""

    secret: str
    row: EnrolmentToken


def normalise_token(presented: str) -> str:
    """The canonical form of a presented token: upper case, no spaces or dashes."""
    return re.sub(r"[\s-]", "", presented).upper()


def token_sha256(presented: str) -> str:
    """The stored form of a token (100 random bits: a plain digest suffices)."""
    return hashlib.sha256(normalise_token(presented).encode("ascii")).hexdigest()


def _new_secret() -> str:
    chars = TOKEN_GROUPS * GROUP_CHARS
    raw = base64.b32encode(secrets.token_bytes(chars * 5 // 8 + 1)).decode()[:chars]  # 100 bits
    groups = [raw[i : i + GROUP_CHARS] for i in range(0, len(raw), GROUP_CHARS)]
    return "-".join([TOKEN_PREFIX, *groups])


def _check_request(session: Session, site_id: str, ttl: timedelta, device_id: str | None) -> None:
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise AppError(
            422,
            "bad_ttl",
            "Thời hạn mã phải từ 1 phút đến 14 ngày.",
            "A token must live between 1 minute and 14 days.",
        )
    if session.get(Site, site_id) is None:
        raise AppError(
            404, "site_not_found", f"Không có điểm giao cắt {site_id}.", f"No site {site_id}."
        )
    if device_id is not None:
        try:
            validate_device_id(device_id)
        except ValueError as exc:
            raise AppError(
                422, "bad_device_id", f"Mã thiết bị không hợp lệ: {exc}", f"Bad device id: {exc}"
            ) from exc


def create_token(
    session: Session,
    *,
    site_id: str,
    ttl: timedelta,
    actor: str,
    now: datetime,
    device_id: str | None = None,
    camera_id: str | None = None,
) -> NewEnrolmentToken:
    """Make a token for enrolling one box at `site_id`; audited (the secret is not)."""
    _check_request(session, site_id, ttl, device_id)
    secret = _new_secret()
    row = EnrolmentToken(
        token_sha256=token_sha256(secret),
        shown_prefix=secret[: len(TOKEN_PREFIX) + 1 + GROUP_CHARS],
        site_id=site_id,
        device_id=device_id,
        camera_id=camera_id,
        created_at=now,
        created_by=actor,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="enrolment_token.created",
        entity_type="enrolment_token",
        entity_id=str(row.id),
        after={
            "shown_prefix": row.shown_prefix,
            "site_id": site_id,
            "device_id": device_id,
            "camera_id": camera_id,
            "expires_at": row.expires_at,
        },
    )
    return NewEnrolmentToken(secret, row)


def _refused(status: int, code: str, vi: str, en: str) -> AppError:
    return AppError(status, code, vi, en)


def claim_token(session: Session, presented: str, *, now: datetime) -> EnrolmentToken:
    """Mark a live token used (atomically) and return it; 401/409/410 say why not."""
    if not _TOKEN_RE.fullmatch(normalise_token(presented)):
        raise _refused(
            401,
            "token_invalid",
            "Mã đăng ký không đúng định dạng (TWE-XXXXX-XXXXX-XXXXX-XXXXX).",
            "The enrolment token is malformed (TWE-XXXXX-XXXXX-XXXXX-XXXXX).",
        )
    digest = token_sha256(presented)
    row: EnrolmentToken | None = session.exec(
        select(EnrolmentToken).where(col(EnrolmentToken.token_sha256) == digest)
    ).first()
    if row is None:
        raise _refused(
            401,
            "token_invalid",
            "Mã đăng ký không đúng; hỏi quản trị viên mã mới.",
            "Unknown enrolment token; ask an administrator for a new one.",
        )
    _refuse_dead(row, now)
    claimed = cast(
        "CursorResult[Any]",
        session.execute(
            update(EnrolmentToken)
            .where(col(EnrolmentToken.id) == row.id, col(EnrolmentToken.used_at).is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:  # another box took it between our read and our write
        raise _used()
    session.refresh(row)
    return row


def _used() -> AppError:
    return _refused(
        409,
        "token_used",
        "Mã đăng ký đã được dùng (mỗi mã chỉ dùng một lần); hỏi quản trị viên mã mới.",
        "This enrolment token has already been used (single use); ask for a new one.",
    )


def _refuse_dead(row: EnrolmentToken, now: datetime) -> None:
    if row.used_at is not None:
        raise _used()
    if row.revoked_at is not None:
        raise _refused(
            410,
            "token_revoked",
            "Mã đăng ký đã bị hủy; hỏi quản trị viên mã mới.",
            "This enrolment token was revoked; ask for a new one.",
        )
    if row.expires_at <= now:
        shown = row.expires_at.isoformat(timespec="minutes")
        raise _refused(
            410,
            "token_expired",
            f"Mã đăng ký đã hết hạn lúc {shown} (UTC); hỏi quản trị viên mã mới.",
            f"This enrolment token expired at {shown} UTC; ask for a new one.",
        )


def list_tokens(session: Session, *, site_id: str | None = None) -> list[EnrolmentToken]:
    """Tokens, newest first (optionally of one site)."""
    statement = select(EnrolmentToken).order_by(col(EnrolmentToken.id).desc())
    if site_id is not None:
        statement = statement.where(col(EnrolmentToken.site_id) == site_id)
    return list(session.exec(statement).all())


def revoke_token(session: Session, token_id: int, *, actor: str, now: datetime) -> EnrolmentToken:
    """Cancel an unused token (a lost note, a cancelled visit); audited."""
    row = session.get(EnrolmentToken, token_id)
    if row is None:
        raise AppError(404, "token_not_found", "Không có mã này.", f"No token {token_id}.")
    if row.used_at is not None:
        raise _used()
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.append(
            session,
            actor=actor,
            action="enrolment_token.revoked",
            entity_type="enrolment_token",
            entity_id=str(row.id),
            after={"shown_prefix": row.shown_prefix},
        )
    return row


def token_state(row: EnrolmentToken, now: datetime) -> str:
    """`used`, `revoked`, `expired` or `live`."""
    if row.used_at is not None:
        return "used"
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "live"
