"""Build an agent from a validated config: camera, detector, tracker, rules, evidence, outbox."""

from __future__ import annotations

import importlib.metadata
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.agent.health import clock_state
from edge_agent.agent.runtime import Agent, AgentParts
from edge_agent.agent.stages import DetectorLike, NoRules, RuleConsumer
from edge_agent.capture.base import FrameSource, StreamInfo
from edge_agent.capture.factory import create_source
from edge_agent.evidence.builder import CaptureSources, EvidenceBuilder, EvidenceSettings
from edge_agent.evidence.frames import FrameRing, RecordingRules, return_frames_to_the_os
from edge_agent.evidence.packet import BoxFacts
from edge_agent.evidence.segments import SegmentBuffer
from edge_agent.mqtt_client import PublisherSettings
from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher
from edge_agent.rules.stage import EventSink, rule_stage_factory
from protocol.config import DeviceConfig, config_sha256
from protocol.enums import CameraKind
from protocol.evidence import ModelInfo
from protocol.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    private_key_from_pem,
    public_key_from_pem,
)
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


def default_rules(
    config: DeviceConfig, sink: EventSink | None = None
) -> Callable[[], RuleConsumer]:
    """The rule stage for the enabled rules (none enabled: a stage that only counts frames),
    handing its violations to `sink`. Its signal input is opened now, so a missing serial port
    stops the agent at start-up."""
    enabled = [code.value for code in config.rules.enabled]
    if not enabled:
        return lambda: NoRules(enabled)
    try:
        return rule_stage_factory(config, sink=sink)
    except (OSError, ValueError, ImportError) as exc:
        raise StartupError(f"signal: không mở được nguồn pha đèn / cannot open: {exc}") from exc


def device_key(config: DeviceConfig) -> Ed25519PrivateKey:
    """The box's own Ed25519 key (PEM), which signs its evidence."""
    path = config.keys.device_key
    try:
        return private_key_from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise StartupError(f"keys.device_key: cannot load {path}: {exc}") from exc


class _ModelSeen:
    """Wraps the detector factory to remember which model the current detector runs."""

    def __init__(self, factory: Callable[[], DetectorLike]) -> None:
        self.factory = factory
        self.info: ModelInfo | None = None

    def __call__(self) -> DetectorLike:
        detector = self.factory()
        self.info = ModelInfo(name=detector.name, version=detector.version, sha256=detector.sha256)
        return detector

    def model(self) -> ModelInfo:
        """The model of the running detector."""
        if self.info is None:
            raise RuntimeError("no detector has been made yet")
        return self.info


@dataclass
class EvidenceParts:
    """The evidence path of an agent: the frame ring, the segment buffer and the builder."""

    ring: FrameRing
    segments: SegmentBuffer
    builder: EvidenceBuilder
    stream: list[StreamInfo] = field(default_factory=list)  # the latest opening of the source

    def remember(self, info: StreamInfo) -> None:
        """An open tap: the stream's parameters (its frame rate goes into each packet)."""
        self.stream[:] = [info]


def build_evidence(
    config: DeviceConfig, outbox: Outbox, model: _ModelSeen, key: Ed25519PrivateKey
) -> EvidenceParts:
    """The evidence builder and what feeds it, for a box whose rules are on."""
    return_frames_to_the_os()  # the ring keeps 1080p frames: keep the heap from fragmenting
    e = config.evidence
    ring = FrameRing(small_width=e.still_max_width)
    segments = SegmentBuffer(
        pre_roll_s=e.pre_roll_s, post_roll_s=e.post_roll_s, bitrate_kbps=e.clip_bitrate_kbps
    )
    stream: list[StreamInfo] = []

    def fps() -> float:
        return (stream[0].fps if stream else None) or config.camera.fps

    builder = EvidenceBuilder(
        facts=BoxFacts.from_config(config, key, software_version()),
        outbox=outbox,
        ring=ring,
        clips=segments,
        sources=CaptureSources(model=model.model, clock=clock_state, fps=fps),
        settings=EvidenceSettings.from_config(e),
    )
    return EvidenceParts(ring, segments, builder, stream)


def build_agent(
    config: DeviceConfig,
    *,
    models_dir: Path | None = None,
    make_detector: Callable[[], DetectorLike] | None = None,
    make_rules: Callable[[], RuleConsumer] | None = None,
    make_source: Callable[[], FrameSource] | None = None,
) -> Agent:
    """An agent for `config`, not yet started; raises `StartupError` for missing files.

    With rules enabled (and no `make_rules` of the caller's) the agent makes evidence: the
    rule stage's violations go to the evidence builder, which signs packets into the outbox.
    """
    key = server_public_key(config.keys.server_public_key)
    settings = publisher_settings(config)
    with_evidence = make_rules is None and bool(config.rules.enabled)
    box_key = device_key(config) if with_evidence else None
    detector_factory = _ModelSeen(make_detector or default_detector(config, models_dir))
    outbox = open_outbox(config)
    evidence = None
    if box_key is not None:
        evidence = build_evidence(config, outbox, detector_factory, box_key)
    rules = make_rules or _recording(config, evidence)

    def make_publisher(online: Callable[[], StatusHeartbeat]) -> Publisher:
        return Publisher(settings, outbox, key, online_status=online)

    parts = AgentParts(
        device_id=config.device.id,
        make_source=make_source or (lambda: create_source(config.camera)),
        make_detector=detector_factory,
        live=config.camera.kind is not CameraKind.file or config.camera.realtime,
        make_rules=rules,
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
    if evidence is not None:
        parts.frame_taps = (evidence.segments.add,)
        parts.open_taps = (evidence.segments.on_open, evidence.remember)
        parts.evidence, parts.segments = evidence.builder, evidence.segments
    return Agent(parts)


def _recording(config: DeviceConfig, evidence: EvidenceParts | None) -> Callable[[], RuleConsumer]:
    """The configured rule stage; with evidence, its violations go to the builder and every
    frame it judges is kept in the ring first."""
    if evidence is None:
        return default_rules(config)
    inner = default_rules(config, sink=evidence.builder.submit)
    ring = evidence.ring
    return lambda: RecordingRules(inner(), ring)
