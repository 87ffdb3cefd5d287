"""A pushed config: check it, write it beside the running one, try it, keep it or roll back.

The box takes a config only when it verifies against the server's key, names this box, is newer
than anything it has acted on, and validates; anything else is refused, logged and answered.
Applying writes the new YAML atomically (the old one kept as `*.previous.yaml`), marks a trial in
the state file, restarts the pipeline on it and watches it (`watch_trial`): frames must arrive
and the detector must run within `no_frames_s`. A config that fails is rolled back: the previous
file is put back and the pipeline restarted on it. If the agent dies mid-trial, the next start
finds the trial marker and rolls back before loading anything (`recover_interrupted_trial`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from edge_agent.agent.config_loader import ConfigError, load_config, parse_config
from edge_agent.remote.files import ConfigFiles
from edge_agent.remote.replies import ReplySpool, config_reply
from edge_agent.remote.state import RemoteState, StateStore
from protocol.canonical import loads_canonical
from protocol.commands import ConfigReport
from protocol.config import DeviceConfig, SignedConfig, config_sha256, open_config
from protocol.enums import ConfigApplyState
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PublicKey

if TYPE_CHECKING:  # the recovery at start must not import the pipeline's libraries
    from edge_agent.agent.runtime import Agent

logger = logging.getLogger(__name__)

PUSHED = Path("<pushed config>")


class Verdict(str, Enum):
    """What to do with a pushed config."""

    apply = "apply"
    seen = "seen"  # the retained copy of what the box already acted on: nothing to say
    refuse = "refuse"


@dataclass(frozen=True)
class PushCheck:
    """The outcome of `check_push`."""

    verdict: Verdict
    signed: SignedConfig | None = None
    version: int | None = None
    sha256: str | None = None
    reason: str = ""


def _claimed(data: bytes) -> SignedConfig | None:
    """What an unverified push says it is: only to name it in the refusal."""
    try:
        envelope = loads_canonical(data, "config", require_canonical=False)
        body = loads_canonical(envelope["body"], "config body", require_canonical=False)
        return SignedConfig.model_validate(body)
    except Exception:
        return None


def check_push(
    data: bytes, server_key: Ed25519PublicKey, device_id: str, newest_seen: int
) -> PushCheck:
    """Verify signature, addressee and version of a pushed config (validation comes with it)."""
    try:
        signed = open_config(data, server_key)
    except ProtocolError as exc:
        claimed = _claimed(data)
        version = claimed.version if claimed is not None else None
        sha = config_sha256(claimed.config) if claimed is not None else None
        reason = f"cấu hình không hợp lệ hoặc không do máy chủ ký / not accepted: {exc}"
        return PushCheck(Verdict.refuse, version=version, sha256=sha, reason=reason)
    sha = config_sha256(signed.config)
    if signed.device_id != device_id:
        reason = (
            f"cấu hình dành cho thiết bị {signed.device_id}, không phải {device_id} / "
            f"the config is for device {signed.device_id}, not {device_id}"
        )
        return PushCheck(Verdict.refuse, version=signed.version, sha256=sha, reason=reason)
    if signed.version < newest_seen:
        reason = (
            f"phiên bản {signed.version} cũ hơn phiên bản {newest_seen} đã có (phát lại) / "
            f"version {signed.version} is older than version {newest_seen} (a replay)"
        )
        return PushCheck(Verdict.refuse, version=signed.version, sha256=sha, reason=reason)
    if signed.version == newest_seen:
        return PushCheck(Verdict.seen, signed, signed.version, sha)
    return PushCheck(Verdict.apply, signed, signed.version, sha)


def render_yaml(signed: SignedConfig) -> str:
    """The pushed config as the YAML the agent loads; raises `ConfigError` unless it loads back
    to the very config (same hash) that was signed."""
    sha = config_sha256(signed.config)
    header = (
        f"# Cấu hình do máy chủ gửi / pushed by the server: version {signed.version}, "
        f"issued {signed.issued_at.isoformat()}, sha256 {sha}\n"
        "# Bản trước nằm ở *.previous.yaml / the previous config is in *.previous.yaml\n"
    )
    data = signed.config.model_dump(mode="json")
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if config_sha256(parse_config(text, PUSHED)) != sha:
        raise ConfigError(PUSHED, ["YAML đọc lại khác bản gốc / the YAML does not round-trip"])
    return text


@dataclass(frozen=True)
class TrialLimits:
    """When a config on probation counts as running, and when as failed."""

    no_frames_s: float = 30.0  # frames and detections must come within this
    detections: int = 3  # successful detector runs that prove the detector works
    detector_errors: int = 3  # detector failures before the config counts as broken


def watch_trial(
    agent: Agent, limits: TrialLimits, needs_link: bool, stop: threading.Event
) -> str | None:
    """Watch a just-started agent: None once it runs, else why the config failed."""
    deadline = time.monotonic() + limits.no_frames_s
    while True:
        if agent.failure is not None:
            return f"tác tử dừng / the agent gave up: {agent.failure}"
        figures = agent.stage_figures()
        errors, runs = figures["detect"].errors, agent.detect_counters.runs
        if errors >= limits.detector_errors:
            return f"bộ phát hiện lỗi {errors} lần / the detector failed {errors} times"
        linked = not needs_link or _publisher_connected(agent)
        ended = agent.stages["rules"].done.is_set()
        if linked and (runs >= limits.detections or (ended and runs > 0)):
            return None
        if ended and runs == 0:
            return "nguồn video kết thúc trước khi nhận dạng / the stream ended before detection"
        if time.monotonic() >= deadline:
            return _timeout_reason(figures["capture"].items, runs, linked, limits.no_frames_s)
        if stop.wait(0.2):
            return "tác tử được yêu cầu dừng / the agent was told to stop during the trial"


def _publisher_connected(agent: Agent) -> bool:
    return agent.publisher is not None and agent.publisher.counters().connected


def _timeout_reason(frames: int, runs: int, linked: bool, seconds: float) -> str:
    if frames == 0:
        return f"không có khung hình trong {seconds:.0f} giây / no frames for {seconds:.0f} s"
    if runs == 0:
        return (
            f"bộ phát hiện không chạy trong {seconds:.0f} giây / no detection for {seconds:.0f} s"
        )
    return (
        f"không kết nối được MQTT trong {seconds:.0f} giây / no MQTT connection for {seconds:.0f} s"
    )


def needs_link(old: DeviceConfig, new: DeviceConfig) -> bool:
    """A config that changes how the box reaches the broker must prove it still does."""
    return old.mqtt != new.mqtt or old.keys != new.keys


def report(
    state: RemoteState, apply: ConfigApplyState, version: int | None, sha: str | None
) -> ConfigReport:
    """The report on a push, with what runs now."""
    return ConfigReport(
        version=version,
        config_sha256=sha,
        state=apply,
        running_sha256=state.running_sha256,
        running_version=state.running_version,
    )


def recover_interrupted_trial(files: ConfigFiles) -> bool:
    """At start: if the agent died trying a config, put the previous one back; True if it did.

    Runs before the config is loaded (and before any key is): the report waits in the spool.
    """
    if not files.state.exists():
        return False
    store = StateStore(files.state)
    trial = store.read().trial
    if trial is None:
        return False
    logger.error(
        "the agent stopped while trying config version %d (sha256 %s): rolling back",
        trial.version,
        trial.sha256,
    )
    restored = files.restore_previous()
    with store.update() as state:
        state.trial = None
        done = report(state, ConfigApplyState.rolled_back, trial.version, trial.sha256)
    since = datetime.fromtimestamp(trial.started_at, timezone.utc).isoformat()
    message = (
        f"tác tử dừng khi đang thử cấu hình (từ {since}); đã quay về cấu hình trước / "
        f"the agent stopped while trying this config (since {since}); rolled back"
    )
    try:
        device_id = load_config(files.path).device.id
    except ConfigError as exc:
        logger.error("rolled back, but the restored config does not load: %s", exc)
        return restored
    ReplySpool(files.replies).add(config_reply(device_id, done, message))
    return restored
