"""`trafficwatch server create-admin`: the first administrator (and any later one) from a shell."""

from __future__ import annotations

import argparse
import getpass
import sys

from central_server import db
from central_server.accounts import service
from central_server.accounts.passwords import make_hasher
from central_server.accounts.schemas import UserCreate
from central_server.accounts.settings import get_auth_settings
from central_server.errors import AppError
from central_server.roles import Actor, Role
from central_server.settings import get_settings

CLI_ACTOR = Actor.system("cli")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mật khẩu / password (≥ 12 ký tự / characters): ")
    second = getpass.getpass("Nhập lại / again: ")
    if first != second:
        raise AppError(422, "mismatch", "Hai lần nhập không khớp.", "The two entries differ.")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server create-admin",
        description="Tạo tài khoản quản trị / create an administrator account.",
    )
    parser.add_argument("--username", required=True, help="tên đăng nhập / login name")
    parser.add_argument("--full-name", default="", help="họ tên / full name")
    parser.add_argument("--email", default=None, help="thư điện tử / e-mail")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="đọc mật khẩu từ stdin / read the password from standard input (scripts)",
    )
    return parser


def main(argv: list[str]) -> int:
    """Create an administrator account; exit 0 on success, 1 on a refused input."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        if not db.check_schema_current(engine):
            print(
                "Lược đồ CSDL chưa cập nhật / schema not current: "
                "run `trafficwatch server migrate`.",
                file=sys.stderr,
            )
            return 1
        password = _read_password(args.password_stdin)
        data = UserCreate(
            username=args.username,
            full_name=args.full_name,
            email=args.email,
            password=password,
            roles=[Role.admin],
        )
        with db.session_scope(engine) as session:
            user = service.create_user(
                session, data, actor=CLI_ACTOR, hasher=make_hasher(get_auth_settings())
            )
    except AppError as exc:
        print(f"{exc.message_vi} / {exc.message_en}", file=sys.stderr)
        return 1
    except ValueError as exc:  # pydantic: a malformed user name or e-mail
        print(f"Dữ liệu không hợp lệ / invalid input: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"Đã tạo quản trị viên / administrator created: {user.username} (id {user.id})")
    return 0
