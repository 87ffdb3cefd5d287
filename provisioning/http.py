"""A small JSON client for the enrolment API (the standard library's urllib: the box needs no
HTTP library for four requests).

The server answers errors as `{"error": {"code", "message_vi", "message_en"}}`; a refusal (4xx)
becomes a `ProvisionError` carrying that message, an unreachable server exit code 69.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.request
from typing import Any

from provisioning.errors import REFUSED, UNAVAILABLE, USAGE, ProvisionError

logger = logging.getLogger(__name__)

TIMEOUT_S = 20.0
_FIX_UNREACHABLE = (
    "Kiểm tra địa chỉ máy chủ, mạng, tường lửa / check the server URL, the network and the "
    "firewall (curl URL/healthz)"
)


class ServerRefused(ProvisionError):
    """The server answered with an error (the message is its own, in both languages)."""

    def __init__(self, status: int, code: str, message: str, fix: str = "") -> None:
        exit_code = USAGE if status in (400, 422) else REFUSED
        super().__init__(exit_code, message, fix)
        self.status = status
        self.error_code = code


def _context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    if not url.startswith("https://"):
        return None
    return ssl.create_default_context(cafile=ca_file)


def request_json(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    ca_file: str | None = None,
    timeout: float = TIMEOUT_S,
) -> dict[str, Any]:
    """Send a JSON request and return the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=_context(url, ca_file)) as resp:
            answer: dict[str, Any] = json.loads(resp.read().decode("utf-8"))
            return answer
    except urllib.error.HTTPError as exc:
        raise _refusal(exc) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProvisionError(
            UNAVAILABLE,
            f"Không kết nối được máy chủ / cannot reach the server {url}: {reason}",
            _FIX_UNREACHABLE,
        ) from exc


def _refusal(exc: urllib.error.HTTPError) -> ProvisionError:
    try:
        error = json.loads(exc.read().decode("utf-8"))["error"]
        code, vi, en = error["code"], error["message_vi"], error["message_en"]
    except (ValueError, KeyError, TypeError):
        code, vi, en = f"http_{exc.code}", "Máy chủ từ chối", f"HTTP {exc.code} {exc.reason}"
    if exc.code >= 500:
        return ProvisionError(
            UNAVAILABLE,
            f"Máy chủ lỗi / server error ({exc.code}): {vi} / {en}",
            "Thử lại sau / try again later",
        )
    logger.info("server refused (%d %s)", exc.code, code)
    return ServerRefused(exc.code, code, f"{vi} / {en}")
