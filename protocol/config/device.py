"""`DeviceConfig`: the box's whole YAML config, its signed push form, and its hash."""

from __future__ import annotations

from pydantic import Field, ValidationError, model_validator

from protocol.canonical import model_sha256
from protocol.config.calibration import Calibration
from protocol.config.sections import (
    CameraSection,
    DetectorSection,
    DeviceSection,
    EvidenceSection,
    HealthSection,
    KeysSection,
    MqttSection,
    OutboxSection,
    RulesSection,
    TrackerSection,
)
from protocol.config.signals import SignalSection
from protocol.enums import BehaviourCode, SignalSource
from protocol.fields import DeviceId, UtcDatetime, WireModel
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from protocol.sealed import KIND_CONFIG, seal, unseal

_LANE_RULES = (
    BehaviourCode.wrong_lane,
    BehaviourCode.wrong_way,
    BehaviourCode.illegal_lane_change,
)


class DeviceConfig(WireModel):
    """Everything a box needs to run; validated whole at start-up (never half a config)."""

    device: DeviceSection = Field(description="Danh tính và vị trí thiết bị (identity).")
    mqtt: MqttSection = Field(default_factory=MqttSection, description="Kết nối MQTT (broker).")
    camera: CameraSection = Field(description="Nguồn camera (camera source).")
    detector: DetectorSection = Field(
        default_factory=DetectorSection, description="Bộ phát hiện (detector)."
    )
    tracker: TrackerSection = Field(
        default_factory=TrackerSection, description="Bộ bám vết (tracker)."
    )
    signal: SignalSection = Field(
        default_factory=SignalSection, description="Nguồn pha đèn (signal phase source)."
    )
    calibration: Calibration = Field(
        default_factory=Calibration, description="Hiệu chỉnh hình học (calibration)."
    )
    rules: RulesSection = Field(default_factory=RulesSection, description="Luật vi phạm (rules).")
    evidence: EvidenceSection = Field(
        default_factory=EvidenceSection, description="Bằng chứng (evidence)."
    )
    outbox: OutboxSection = Field(
        default_factory=OutboxSection, description="Hàng đợi gửi (outbox)."
    )
    health: HealthSection = Field(
        default_factory=HealthSection, description="Giám sát trạng thái (health)."
    )
    keys: KeysSection = Field(default_factory=KeysSection, description="Tệp khóa (key files).")

    @model_validator(mode="after")
    def _rules_have_what_they_need(self) -> DeviceConfig:
        problems = _missing_for_rules(self)
        if problems:
            raise ValueError("; ".join(problems))
        width, height = self.camera.width, self.camera.height
        for path, (x, y) in self.calibration.points():
            if not (0 <= x <= width and 0 <= y <= height):
                raise ValueError(
                    f"{path}: điểm ({x}, {y}) nằm ngoài khung hình {width}×{height} "
                    "(point outside the camera frame)"
                )
        return self


def _missing_for_rules(config: DeviceConfig) -> list[str]:
    enabled, cal, signal = set(config.rules.enabled), config.calibration, config.signal
    problems = []

    def need(condition: bool, path: str, code: BehaviourCode) -> None:
        if not condition:
            problems.append(f"{path}: cần cho luật {code.value} (required by rule {code.value})")

    if BehaviourCode.red_light in enabled:
        need(cal.stop_line is not None, "calibration.stop_line", BehaviourCode.red_light)
        if signal.source is SignalSource.classifier:
            need(cal.light_region is not None, "calibration.light_region", BehaviourCode.red_light)
    if BehaviourCode.solid_line in enabled:
        need(bool(cal.solid_lines), "calibration.solid_lines", BehaviourCode.solid_line)
    for code in _LANE_RULES:
        if code in enabled:
            need(bool(cal.lanes), "calibration.lanes", code)
    if BehaviourCode.wrong_way in enabled:
        has_direction = any(lane.direction_deg is not None for lane in cal.lanes)
        need(has_direction, "calibration.lanes[].direction_deg", BehaviourCode.wrong_way)
    return problems


class SignedConfig(WireModel):
    """A config the server pushes on the retained config topic, signed with its key."""

    device_id: DeviceId = Field(description="Box the config is for.")
    version: int = Field(ge=1, description="Monotonic config version; the box ignores older.")
    issued_at: UtcDatetime = Field(description="When the server issued it (UTC).")
    config: DeviceConfig = Field(description="The desired config.")

    @model_validator(mode="after")
    def _same_device(self) -> SignedConfig:
        if self.config.device.id != self.device_id:
            raise ValueError("config.device.id differs from device_id")
        return self


def config_sha256(config: DeviceConfig) -> str:
    """sha256 (hex) of the config's canonical CBOR: how packets name the config in force."""
    return model_sha256(config)


def calibration_sha256(calibration: Calibration) -> str:
    """sha256 (hex) of the calibration's canonical CBOR."""
    return model_sha256(calibration)


def seal_config(signed: SignedConfig, server_key: Ed25519PrivateKey) -> bytes:
    """Sign a config push with the server key."""
    return seal(KIND_CONFIG, signed, server_key)


def open_config(
    data: bytes | bytearray | memoryview, server_public_key: Ed25519PublicKey
) -> SignedConfig:
    """Verify and decode a pushed config on the box."""
    return unseal(KIND_CONFIG, data, SignedConfig, server_public_key)


_MESSAGES_VI = {
    "extra_forbidden": "khóa không được phép (unknown key)",
    "missing": "thiếu trường bắt buộc (missing field)",
}


def format_config_errors(exc: ValidationError) -> list[str]:
    """One line per problem, `path: message`, with the bad key's full path (for the CLI)."""
    lines = []
    for error in exc.errors():
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = _MESSAGES_VI.get(error["type"], error["msg"].removeprefix("Value error, "))
        lines.append(f"{path}: {message}" if path else message)
    return lines
