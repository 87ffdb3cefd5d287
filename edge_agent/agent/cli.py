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
from edge_agent.remote.logs import RecentLog
from protocol.config import config_sha256

EXIT_CONFIG = 2
_RECENT_LOG = RecentLog()  # the agent's recent log, for the server's `log_upload` command

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
    parser.add_argument(
        "--config-trial-s",
        type=float,
        default=30.0,
        help="Cấu hình mới phải có khung hình trong ngần này giây, nếu không sẽ quay về bản "
        "trước / a pushed config must deliver frames within this many seconds or is rolled back",
    )
    return parser


def run(argv: Sequence[str]) -> int:
    """Run the agent until SIGTERM/SIGINT or the end of a video file; returns the exit code."""
    args = _parser().parse_args(list(argv))
    if not args.validate_config:
        _setup_logging(args.log_level)
        from edge_agent.remote.config_apply import recover_interrupted_trial
        from edge_agent.remote.files import ConfigFiles

        # Before loading: a config the agent died trying is replaced by the previous one.
        recover_interrupted_trial(ConfigFiles(args.config))
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
    # Imported only now: validating a config needs none of the camera or model libraries.
    from edge_agent.agent.assemble import StartupError, build_agent
    from edge_agent.remote.config_apply import TrialLimits
    from edge_agent.remote.supervisor import RemoteOptions, Supervisor

    options = RemoteOptions(trial=TrialLimits(no_frames_s=args.config_trial_s))
    supervisor = Supervisor(
        args.config,
        config,
        lambda c: build_agent(c, models_dir=args.models_dir),
        options,
        log=_RECENT_LOG,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping", signal.Signals(signum).name)
        supervisor.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return supervisor.run()
    except StartupError as exc:
        print(f"trafficwatch agent run: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception:
        logger.exception("the agent failed to start")
        return 1


def _setup_logging(level: str) -> None:
    """The log format, and the in-memory copy the `log_upload` command sends."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )
    logging.getLogger().addHandler(_RECENT_LOG)


def main() -> None:
    """Console entry for running this module directly."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
