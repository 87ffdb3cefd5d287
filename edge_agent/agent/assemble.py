"""Build an agent from a validated config: camera, detector, tracker, outbox, publisher."""

from __future__ import annotations

import importlib.metadata
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

from edge_agent.agent.runtime import Agent, AgentParts
from edge_agent.agent.stages import DetectorLike, NoRules, RuleConsumer
from edge_agent.capture.factory import create_source
from edge_agent.mqtt_client import PublisherSettings
from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher
from edge_agent.rules.stage import rule_stage_factory
from protocol.config import DeviceConfig, config_sha256
from protocol.enums import CameraKind
from protocol.keys import Ed25519PublicKey, public_key_from_pem
from protocol.status import StatusHeartbeat

logger = logging.getLogger(__name__)


class StartupError(Exception):
    """Something the config points at is missing or unusable (a key file, the model)."""


def software_version() -> str:
    """`trafficwatch/<version>` of the installed distribution."""
    try:
        return f"trafficwatch/{importlib.metadata.version('trafficwatch')}"
    except importlib.metadata.PackageNotFoundError:
        return "trafficwatch/unknown"


def publisher_settings(config: DeviceConfig) -> PublisherSettings:
    """The publisher's settings from the config's `mqtt` section (reads the password file)."""
    m = config.mqtt
    password = None
    if m.password_file is not None:
        try:
            password = Path(m.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StartupError(f"mqtt.password_file: cannot read {m.password_file}: {exc}") from exc
    ca_file = m.ca_file
    if m.tls and ca_file is None:
        # The publisher turns TLS on when given a CA file: hand it the system's bundle.
        paths = ssl.get_default_verify_paths()
        ca_file = paths.cafile or paths.openssl_cafile
    return PublisherSettings(
        device_id=config.device.id,
        host=m.host,
        port=m.port,
        topic_prefix=m.topic_prefix,
        username=m.username,
        password=password,
        ca_file=ca_file,
        cert_file=m.cert_file,
        key_file=m.key_file,
        keepalive=m.keepalive_s,
        chunk_size=m.chunk_size,
        max_in_flight=m.max_inflight,
        reconnect_min=m.reconnect_min_s,
        reconnect_max=m.reconnect_max_s,
    )


def server_public_key(path: str) -> Ed25519PublicKey:
    """The server's public key (PEM), which acks and pushed configs must verify against."""
    try:
        return public_key_from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise StartupError(f"keys.server_public_key: cannot load {path}: {exc}") from exc


def open_outbox(config: DeviceConfig) -> Outbox:
    """The outbox database the config names (its folder is created if missing)."""
    path = Path(config.outbox.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Outbox(
        path,
        max_bytes=config.outbox.max_bytes,
        min_free_bytes=config.outbox.min_free_bytes,
        ack_timeout=config.mqtt.ack_timeout_s,
    )


def default_detector(config: DeviceConfig, models_dir: Path | None) -> Callable[[], DetectorLike]:
    """A factory for the configured detector; the first one is made now, so that a missing
    or altered model stops the agent at start-up (each watchdog restart makes a fresh one)."""
    d = config.detector
    # Left unset, the model and its thresholds are the manifest's (its default model, per-label
    # thresholds tuned with the tracker's low band); the schema's own defaults apply only when
    # the YAML names them.
    model = d.model if "model" in d.model_fields_set else ""
    threshold = d.score_threshold if "score_threshold" in d.model_fields_set else None
    try:
        from edge_agent.detect.factory import create_detector
        from edge_agent.models_store import ModelError
    except ImportError as exc:
        raise StartupError(f"detector: missing dependency: {exc.name or exc}") from exc

    def make() -> DetectorLike:
        return create_detector(
            model, models_dir=models_dir, threads=d.threads, score_threshold=threshold
        )

    try:
        first = [make()]
    except ModelError as exc:
        raise StartupError(f"detector.model: {exc}") from exc

    def factory() -> DetectorLike:
        return first.pop() if first else make()

    return factory


def default_rules(config: DeviceConfig) -> Callable[[], RuleConsumer]:
    """The rule stage for the enabled rules (none enabled: a stage that only counts frames).
    Its signal input is opened now, so a missing serial port stops the agent at start-up."""
    enabled = [code.value for code in config.rules.enabled]
    if not enabled:
        return lambda: NoRules(enabled)
    try:
        return rule_stage_factory(config)
    except (OSError, ValueError, ImportError) as exc:
        raise StartupError(f"signal: không mở được nguồn pha đèn / cannot open: {exc}") from exc


def build_agent(
    config: DeviceConfig,
    *,
    models_dir: Path | None = None,
    make_detector: Callable[[], DetectorLike] | None = None,
    make_rules: Callable[[], RuleConsumer] | None = None,
) -> Agent:
    """An agent for `config`, not yet started; raises `StartupError` for missing files."""
    key = server_public_key(config.keys.server_public_key)
    settings = publisher_settings(config)
    detector_factory = make_detector or default_detector(config, models_dir)
    outbox = open_outbox(config)

    def make_publisher(online: Callable[[], StatusHeartbeat]) -> Publisher:
        return Publisher(settings, outbox, key, online_status=online)

    parts = AgentParts(
        device_id=config.device.id,
        make_source=lambda: create_source(config.camera),
        make_detector=detector_factory,
        live=config.camera.kind is not CameraKind.file or config.camera.realtime,
        make_rules=make_rules or default_rules(config),
        tracker=config.tracker,
        every_nth=config.detector.every_nth_frame,
        motion_gate=config.detector.motion_gate,
        heartbeat_s=config.health.heartbeat_s,
        outbox=outbox,
        make_publisher=make_publisher,
        config_sha256=config_sha256(config),
        software_version=software_version(),
        disk_path=Path(config.outbox.path).parent,
    )
    return Agent(parts)
