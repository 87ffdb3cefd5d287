"""The box's config schema (`DeviceConfig`), its signed push form, and config hashes."""

from protocol.config.calibration import Calibration, Lane, LightRegion, SolidLine
from protocol.config.device import (
    DeviceConfig,
    SignedConfig,
    calibration_sha256,
    config_sha256,
    format_config_errors,
    open_config,
    seal_config,
)
from protocol.config.sections import (
    CameraSection,
    DetectorSection,
    DeviceSection,
    EvidenceSection,
    GeoPoint,
    HealthSection,
    KeysSection,
    MqttSection,
    OutboxSection,
    RulesSection,
    TrackerSection,
)
from protocol.config.signals import ControllerInput, FixedPlan, PhaseStep, SignalSection

__all__ = [
    "Calibration",
    "CameraSection",
    "ControllerInput",
    "DetectorSection",
    "DeviceConfig",
    "DeviceSection",
    "EvidenceSection",
    "FixedPlan",
    "GeoPoint",
    "HealthSection",
    "KeysSection",
    "Lane",
    "LightRegion",
    "MqttSection",
    "OutboxSection",
    "PhaseStep",
    "RulesSection",
    "SignalSection",
    "SignedConfig",
    "SolidLine",
    "TrackerSection",
    "calibration_sha256",
    "config_sha256",
    "format_config_errors",
    "open_config",
    "seal_config",
]
