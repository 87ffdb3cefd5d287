"""The server answers, is the one whose key the box trusts, and holds the box's config.

The config is uploaded to the archive again (the server keeps each hash once): a box that was
offline when it was configured or calibrated catches up here.
"""

from __future__ import annotations

from pathlib import Path

from protocol.errors import MalformedError
from protocol.keys import key_id, public_key_from_pem
from provisioning.archive import upload
from provisioning.checks.base import CheckResult, Context, fail, ok, skip
from provisioning.errors import ProvisionError
from provisioning.http import request_json

NAME, TITLE = "server", "Máy chủ / server"
PING_PATH = "/api/v1/enrolment/ping"


def check_server(ctx: Context) -> CheckResult:
    """GET the ping route, compare the server's key id, archive the config."""
    if ctx.record is None:
        return skip(NAME, TITLE, "chưa đăng ký / not enrolled")
    url = ctx.record.server_url + PING_PATH
    try:
        answer = request_json(
            "GET", url, ca_file=ctx.record.server_ca_file, timeout=ctx.options.network_timeout_s
        )
    except ProvisionError as exc:
        return fail(NAME, TITLE, exc.message, exc.fix)
    if ctx.config is None:
        return ok(NAME, TITLE, f"{ctx.record.server_url} trả lời / answers")
    try:
        trusted = key_id(public_key_from_pem(Path(ctx.config.keys.server_public_key).read_bytes()))
    except (OSError, MalformedError) as exc:
        return fail(
            NAME,
            TITLE,
            f"Không đọc được khóa máy chủ / cannot read keys.server_public_key: {exc}",
            "Đăng ký lại / enrol again",
        )
    if answer.get("server_key_id") != trusted:
        return fail(
            NAME,
            TITLE,
            f"Máy chủ ký bằng khóa khác / the server signs with key {answer.get('server_key_id')}"
            f", the box trusts {trusted}: acks would be refused",
            "Kiểm tra địa chỉ máy chủ; nếu máy chủ đổi khóa, đăng ký lại / check the URL; if the "
            "server's key changed, enrol again",
        )
    try:
        archived = upload(ctx.config, ctx.record)
    except ProvisionError as exc:
        return fail(
            NAME, TITLE, f"Chưa lưu trữ cấu hình / config not archived: {exc.message}", exc.fix
        )
    return ok(
        NAME,
        TITLE,
        f"{ctx.record.server_url}: khóa / key {trusted}; cấu hình đã lưu trữ / config archived "
        f"({archived.config_sha256[:12]})",
    )
