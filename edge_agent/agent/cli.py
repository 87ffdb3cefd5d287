"""`trafficwatch agent run --config site.yaml [--validate-config]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from edge_agent.agent.config_loader import ConfigError, load_config
from protocol.config import config_sha256

EXIT_CONFIG = 2

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch agent run",
        description="Chạy tác tử tại nút giao / run the edge agent at an intersection.",
    )
    parser.add_argument("--config", required=True, type=Path, help="Tệp cấu hình YAML / config")
    parser.add_argument(
        "--validate-config",
        action="store_true",
        help="Chỉ kiểm tra cấu hình rồi thoát / only check the config and exit",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None, help="Thư mục mô hình / installed models folder"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    return parser


def run(argv: Sequence[str]) -> int:
    """Run the agent until SIGTERM/SIGINT or the end of a video file; returns the exit code."""
    args = _parser().parse_args(list(argv))
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc.path}: cấu hình không hợp lệ / invalid config:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return EXIT_CONFIG
    if args.validate_config:
        print(f"{args.config}: cấu hình hợp lệ / config is valid (sha256 {config_sha256(config)})")
        return 0
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )
    # Imported only now: validating a config needs none of the camera or model libraries.
    from edge_agent.agent.assemble import StartupError, build_agent

    try:
        agent = build_agent(config, models_dir=args.models_dir)
    except StartupError as exc:
        print(f"trafficwatch agent run: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping", signal.Signals(signum).name)
        agent.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        agent.start()
    except Exception:
        logger.exception("the agent failed to start")
        agent.stop()
        return 1
    agent.wait()
    return agent.stop()


def main() -> None:
    """Console entry for running this module directly."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
