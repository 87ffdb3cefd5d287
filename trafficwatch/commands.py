"""The command tree: every `trafficwatch` command, its one-line help and where it lives.

Targets are "module:function" strings imported only when that command runs, so the box never
imports the server's dependencies and `trafficwatch --help` starts instantly. A target is called
with the remaining arguments and returns the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One leaf of the command tree."""

    path: tuple[str, ...]
    target: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(
        ("demo",), "trafficwatch.demo:main", "Chạy toàn hệ thống trên máy này / run everything here"
    ),
    Command(("server", "api"), "central_server.cli:api", "Máy chủ web và API / web UI and API"),
    Command(
        ("server", "ingest"),
        "central_server.cli:ingest",
        "Tiến trình nhận bằng chứng / evidence ingest",
    ),
    Command(
        ("server", "scheduler"),
        "central_server.scheduler.cli:main",
        "Lịch công việc hằng ngày / scheduled jobs",
    ),
    Command(
        ("server", "all"),
        "central_server.cli:run_all",
        "API + ingest (+ scheduler) trong một tiến trình / all in one",
    ),
    Command(
        ("server", "migrate"),
        "central_server.cli:migrate",
        "Cập nhật lược đồ CSDL / alembic upgrade head",
    ),
    Command(
        ("server", "create-admin"),
        "central_server.accounts.cli:main",
        "Tạo quản trị viên / create an admin",
    ),
    Command(
        ("server", "audit", "verify"),
        "central_server.audit_cli:main",
        "Kiểm tra chuỗi nhật ký / verify the audit chain",
    ),
    Command(
        ("server", "token", "create"),
        "central_server.devices.cli:token_create",
        "Tạo mã đăng ký thiết bị / enrolment token",
    ),
    Command(
        ("server", "device", "revoke"),
        "central_server.devices.cli:device_revoke",
        "Thu hồi khóa thiết bị / revoke a device key",
    ),
    Command(
        ("server", "broker-acl"),
        "central_server.broker.cli:main",
        "Sinh người dùng, ACL, TLS cho broker / broker users, ACL and TLS",
    ),
    Command(
        ("server", "apikey", "create"),
        "central_server.public.cli:create",
        "Tạo khóa API / create an API key",
    ),
    Command(
        ("server", "apikey", "list"),
        "central_server.public.cli:list_command",
        "Liệt kê khóa API / list API keys",
    ),
    Command(
        ("server", "apikey", "revoke"),
        "central_server.public.cli:revoke_command",
        "Thu hồi khóa API / revoke an API key",
    ),
    Command(
        ("server", "report", "run"),
        "central_server.reports.cli:main",
        "Lập báo cáo tháng / run the monthly report",
    ),
    Command(
        ("server", "retention"),
        "central_server.retention.cli:main",
        "Áp dụng thời hạn lưu trữ / apply retention",
    ),
    Command(
        ("server", "backup"),
        "central_server.backup.cli:backup",
        "Sao lưu CSDL, bằng chứng, khóa / back up database, evidence, keys",
    ),
    Command(
        ("server", "restore"),
        "central_server.backup.cli:restore",
        "Khôi phục vào hệ thống trống / restore into an empty installation",
    ),
    Command(
        ("agent", "run"),
        "edge_agent.agent.cli:run",
        "Chạy tác tử tại nút giao / run the edge agent",
    ),
    Command(
        ("agent", "dead-letter"),
        "edge_agent.dead_letter:cli_main",
        "Gói bị từ chối: list|export|resend",
    ),
    Command(
        ("provision", "enroll"),
        "provisioning.cli:enroll_main",
        "Đăng ký thiết bị / enrol a device",
    ),
    Command(
        ("provision", "config"),
        "provisioning.cli:config_main",
        "Ghi cấu hình thiết bị / write the device config",
    ),
    Command(
        ("provision", "calibrate"),
        "provisioning.cli:calibrate_main",
        "Hiệu chỉnh vạch, làn / calibrate",
    ),
    Command(
        ("provision", "check"), "provisioning.cli:check_main", "Kiểm tra thiết bị / check a box"
    ),
    Command(
        ("provision", "install-service"),
        "provisioning.cli:install_service_main",
        "Cài dịch vụ systemd / install the service",
    ),
    Command(
        ("provision", "rotate-key"),
        "provisioning.cli:rotate_key_main",
        "Đổi khóa thiết bị / rotate the device key",
    ),
    Command(
        ("models", "install"),
        "edge_agent.models_store:cli_install",
        "Cài mô hình từ manifest / install models",
    ),
    Command(
        ("models", "verify"),
        "edge_agent.models_store:cli_verify",
        "Kiểm tra mô hình / verify installed models",
    ),
    Command(
        ("evidence", "verify"),
        "central_server.export.cli:main",
        "Kiểm tra gói bằng chứng / verify an evidence bundle",
    ),
)
