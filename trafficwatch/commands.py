"""The command tree: every `trafficwatch` command, its one-line help and where it lives.

Targets are "module:function" strings imported only when that command runs, so the box never
imports the server's dependencies and `trafficwatch --help` starts instantly. A target is called
with the remaining arguments and returns the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_YET = "trafficwatch.stub:not_implemented"


@dataclass(frozen=True)
class Command:
    """One leaf of the command tree."""

    path: tuple[str, ...]
    target: str
    help: str
    issue: int | None = None  # the issue that implements a stub


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
        ("server", "token", "create"), NOT_YET, "Tạo mã đăng ký thiết bị / enrolment token", 12
    ),
    Command(
        ("server", "device", "revoke"), NOT_YET, "Thu hồi khóa thiết bị / revoke a device key", 12
    ),
    Command(
        ("server", "broker-acl"), NOT_YET, "Sinh ACL cho Mosquitto / generate the broker ACL", 12
    ),
    Command(
        ("server", "apikey", "create"),
        "central_server.public.cli:create",
        "Tạo khóa API / create an API key",
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
    Command(("server", "backup"), NOT_YET, "Sao lưu / back up", 13),
    Command(("server", "restore"), NOT_YET, "Khôi phục / restore", 13),
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
    Command(("provision", "enroll"), NOT_YET, "Đăng ký thiết bị / enrol a device", 12),
    Command(
        ("provision", "config"), NOT_YET, "Ghi cấu hình thiết bị / write the device config", 12
    ),
    Command(("provision", "calibrate"), NOT_YET, "Hiệu chỉnh vạch, làn / calibrate", 12),
    Command(("provision", "check"), NOT_YET, "Kiểm tra thiết bị / check a box", 12),
    Command(
        ("provision", "install-service"), NOT_YET, "Cài dịch vụ systemd / install the service", 12
    ),
    Command(("provision", "rotate-key"), NOT_YET, "Đổi khóa thiết bị / rotate the device key", 12),
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
