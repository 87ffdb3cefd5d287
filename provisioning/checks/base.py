"""What every check returns and reads: a verdict with its detail and fix; the box's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from protocol.config import DeviceConfig
from provisioning.state import EnrolmentRecord


class Status(str, Enum):
    """A check's verdict; only `fail` makes the command fail."""

    ok = "ok"
    warn = "warn"
    fail = "fail"
    skip = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One row of the table: what was checked, the verdict, what was seen, how to fix it."""

    name: str
    title: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON form for `--json`."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CheckOptions:
    """Tunables from the command line."""

    camera_seconds: float = 3.0
    camera_timeout_s: float = 20.0
    min_fps_ratio: float = 0.8
    models_dir: Path | None = None
    manifest: Path | None = None
    ntp_server: str | None = None
    max_clock_offset_s: float = 1.0
    network_timeout_s: float = 5.0
    skip: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Context:
    """The box being checked: its config (None if invalid) and enrolment record (if any)."""

    config_path: Path
    config: DeviceConfig | None
    record: EnrolmentRecord | None
    options: CheckOptions


def ok(name: str, title: str, detail: str) -> CheckResult:
    """A passed check."""
    return CheckResult(name, title, Status.ok, detail)


def fail(name: str, title: str, detail: str, fix: str) -> CheckResult:
    """A failed check, with its fix."""
    return CheckResult(name, title, Status.fail, detail, fix)


def warn(name: str, title: str, detail: str, fix: str = "") -> CheckResult:
    """Something to look at that does not stop the box."""
    return CheckResult(name, title, Status.warn, detail, fix)


def skip(name: str, title: str, detail: str) -> CheckResult:
    """Not checked (what it needs is missing or failed already)."""
    return CheckResult(name, title, Status.skip, detail)
