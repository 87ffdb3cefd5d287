"""`provision check`: every check in order, each with its verdict and its fix.

Order matters only for reading: the config first (the rest needs it), then what the box holds
(keys, camera, models, disk), then what it reaches (broker, server, clock).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provisioning.checks.base import CheckOptions, CheckResult, Context, Status
from provisioning.checks.broker import check_broker
from provisioning.checks.camera import check_camera
from provisioning.checks.clock import check_clock
from provisioning.checks.models import check_models
from provisioning.checks.server import check_server
from provisioning.checks.system import check_config, check_disk, check_keys
from provisioning.errors import ProvisionError
from provisioning.files import BoxPaths
from provisioning.state import EnrolmentRecord, load_record

CHECKS: tuple[tuple[str, Callable[[Context], CheckResult]], ...] = (
    ("keys", check_keys),
    ("camera", check_camera),
    ("models", check_models),
    ("disk", check_disk),
    ("broker", check_broker),
    ("server", check_server),
    ("clock", check_clock),
)
NAMES = ("config", *(name for name, _ in CHECKS))


def _record(config_path: Path) -> EnrolmentRecord | None:
    try:
        return load_record(BoxPaths(config_path))
    except ProvisionError:
        return None


def run_checks(
    config_path: Path,
    options: CheckOptions,
    on_start: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    """Run every check not skipped by name; `on_start` hears each one begin (progress)."""
    first, config = check_config(config_path)
    results = [first]
    ctx = Context(config_path, config, _record(config_path), options)
    for name, check in CHECKS:
        if name in options.skip:
            continue
        if on_start is not None:
            on_start(name)
        results.append(check(ctx))
    return results


def failed(results: list[CheckResult]) -> bool:
    """Whether any check failed."""
    return any(result.status is Status.fail for result in results)
