"""`trafficwatch server apikey create`: a key for the city's app, printed once."""

from __future__ import annotations

import argparse
import sys

from central_server import db
from central_server.public.apikeys import create_key
from central_server.public.settings import get_public_settings
from central_server.settings import get_settings


def _parser(default_rate: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server apikey create",
        description="Tạo khóa API cho ứng dụng tra cứu / create an API key for a search app.",
    )
    parser.add_argument("--name", required=True, help="tên ứng dụng / the app's name")
    parser.add_argument(
        "--rate-per-minute",
        type=int,
        default=default_rate,
        help=f"số lượt tra cứu mỗi phút / searches per minute (mặc định / default {default_rate})",
    )
    return parser


def create(argv: list[str]) -> int:
    """Create an API key and print it (it is stored hashed and cannot be shown again)."""
    args = _parser(get_public_settings().default_key_rate_per_minute).parse_args(argv)
    if args.rate_per_minute < 1 or not args.name.strip():
        print("Tên và số lượt phải hợp lệ / invalid name or rate", file=sys.stderr)
        return 1
    engine = db.make_engine(get_settings().database_url)
    try:
        if not db.check_schema_current(engine):
            print(
                "Lược đồ CSDL chưa cập nhật / schema not current: "
                "run `trafficwatch server migrate`.",
                file=sys.stderr,
            )
            return 1
        with db.session_scope(engine) as session:
            row, key = create_key(session, args.name.strip(), args.rate_per_minute)
    finally:
        engine.dispose()
    print(f"Đã tạo khóa / key created: {row.shown_prefix}… ({row.name})")
    print(f"Giới hạn / limit: {row.rate_per_minute} lượt/phút (per minute)")
    print("Lưu khóa này, sẽ không hiện lại / keep this key, it is not shown again:")
    print(key)
    return 0
