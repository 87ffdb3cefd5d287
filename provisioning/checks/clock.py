"""The box's clock against its NTP server: evidence times are only as good as this clock."""

from __future__ import annotations

import socket

import ntplib

from provisioning.checks.base import CheckResult, Context, fail, ok, skip

NAME, TITLE = "clock", "Đồng hồ / clock"
_FIX_SYNC = (
    "Bật đồng bộ giờ: timedatectl set-ntp true (hoặc chrony), kiểm tra mạng tới máy chủ NTP / "
    "enable time sync (timedatectl set-ntp true, or chrony) and its reach to the NTP server"
)


def _host_port(server: str) -> tuple[str, int]:
    host, sep, port = server.rpartition(":")
    if sep and port.isdigit() and host and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return server.strip("[]"), 123


def check_clock(ctx: Context) -> CheckResult:
    """Ask the NTP server once; fail beyond the allowed offset."""
    server = ctx.options.ntp_server or (ctx.record.ntp_server if ctx.record else None)
    if not server:
        return skip(NAME, TITLE, "chưa cấu hình máy chủ NTP / no NTP server (--ntp-server)")
    host, port = _host_port(server)
    try:
        response = ntplib.NTPClient().request(
            host, version=3, port=port, timeout=ctx.options.network_timeout_s
        )
    except (ntplib.NTPException, socket.gaierror, OSError) as exc:
        return fail(
            NAME,
            TITLE,
            f"Máy chủ NTP không trả lời / the NTP server {server} did not answer: {exc}",
            _FIX_SYNC,
        )
    offset = float(response.offset)
    limit = ctx.options.max_clock_offset_s
    if abs(offset) > limit:
        return fail(
            NAME,
            TITLE,
            f"Đồng hồ lệch {offset:+.3f} s so với {server} (cho phép ±{limit:g} s) / the clock is "
            f"off by {offset:+.3f} s against {server} (allowed ±{limit:g} s)",
            _FIX_SYNC,
        )
    return ok(NAME, TITLE, f"lệch / offset {offset * 1000:+.0f} ms ({server})")
