"""Sections of the box's YAML config: identity, broker, camera, detector, evidence, outbox.

Every field has a default where one is sane, so a minimal YAML names only the device, the camera
and what calibration the enabled rules need. Descriptions are Vietnamese first, English second:
technicians read them in `--validate-config` output and in the exported JSON Schema.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from protocol.enums import BehaviourCode, CameraKind
from protocol.fields import DeviceId, Identifier, WireModel
from protocol.limits import MAX_PACKET_BYTES
from protocol.topics import DEFAULT_PREFIX, validate_prefix

GIB = 1024**3
MIB = 1024**2
EXPERIMENTAL_RULES = [BehaviourCode.no_helmet, BehaviourCode.passenger_no_helmet]


class GeoPoint(WireModel):
    """A position in WGS 84."""

    lat: float = Field(ge=-90, le=90, description="Vĩ độ, độ (latitude, degrees).")
    lon: float = Field(ge=-180, le=180, description="Kinh độ, độ (longitude, degrees).")


class DeviceSection(WireModel):
    """Who the box is and where it stands."""

    id: DeviceId = Field(
        description="Mã thiết bị: 2–63 ký tự a-z 0-9 _ - (device id, also its MQTT topic level)."
    )
    site_id: Identifier = Field(description="Mã điểm giao cắt được giám sát (site id).")
    camera_id: Identifier = Field(description="Mã camera, tức hướng tiếp cận (camera id).")
    location: GeoPoint = Field(description="Vị trí camera (camera position).")


class MqttSection(WireModel):
    """How the box reaches the broker."""

    host: str = Field(default="localhost", min_length=1, description="Máy chủ MQTT (broker host).")
    port: int = Field(default=1883, ge=1, le=65535, description="Cổng; TLS thường là 8883 (port).")
    tls: bool = Field(default=False, description="Bật TLS (use TLS).")
    ca_file: str | None = Field(
        default=None, description="Tệp CA của broker, PEM; trống = CA hệ thống (broker CA file)."
    )
    cert_file: str | None = Field(
        default=None, description="Chứng chỉ máy khách, PEM (client certificate, mutual TLS)."
    )
    key_file: str | None = Field(
        default=None, description="Khóa của chứng chỉ máy khách, PEM (client certificate key)."
    )
    username: str | None = Field(default=None, description="Tên đăng nhập MQTT (username).")
    password_file: str | None = Field(
        default=None, description="Tệp chứa mật khẩu MQTT (password file; never the password)."
    )
    topic_prefix: str = Field(
        default=DEFAULT_PREFIX, description="Tiền tố chủ đề MQTT (topic prefix)."
    )
    keepalive_s: int = Field(default=60, ge=5, le=3600, description="Keepalive, giây (seconds).")
    chunk_size: int = Field(
        default=256 * 1024,
        ge=2048,
        le=MAX_PACKET_BYTES,
        description="Kích thước mảnh gói tin, byte; nhỏ hơn giới hạn của broker (chunk size).",
    )
    max_inflight: int = Field(
        default=4, ge=1, le=100, description="Số gói đang chờ xác nhận tối đa (packets in flight)."
    )
    ack_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Chờ xác nhận bao lâu trước khi gửi lại, giây (ack timeout).",
    )
    reconnect_min_s: float = Field(
        default=1.0, gt=0, description="Chờ kết nối lại tối thiểu, giây (reconnect backoff min)."
    )
    reconnect_max_s: float = Field(
        default=120.0, gt=0, description="Chờ kết nối lại tối đa, giây (reconnect backoff max)."
    )

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return validate_prefix(value)

    @model_validator(mode="after")
    def _consistent(self) -> MqttSection:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file và key_file phải đi cùng nhau (give both or neither)")
        if self.cert_file is not None and not self.tls:
            raise ValueError("chứng chỉ máy khách cần tls: true (a client cert needs tls: true)")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s lớn hơn reconnect_max_s (min above max)")
        return self


class CameraSection(WireModel):
    """Where frames come from."""

    source: str = Field(
        min_length=1, description="Nguồn video: URI RTSP, đường dẫn tệp hoặc số thiết bị USB."
    )
    kind: CameraKind = Field(
        default=CameraKind.rtsp, description="Loại nguồn: file, rtsp, usb, picamera2 (source kind)."
    )
    width: int = Field(default=1920, gt=0, le=8192, description="Chiều rộng khung hình, pixel.")
    height: int = Field(default=1080, gt=0, le=8192, description="Chiều cao khung hình, pixel.")
    fps: float = Field(default=25.0, gt=0, le=120, description="Số khung hình/giây (frame rate).")
    realtime: bool = Field(
        default=True,
        description="Phát tệp theo thời gian thực; false = nhanh nhất có thể (replay files at "
        "real time; false for tests).",
    )


class DetectorSection(WireModel):
    """The object detector."""

    model: str = Field(
        default="yolox_nano",
        min_length=1,
        description="Tên mô hình trong models/ (model manifest name); yolox_nano or the faster "
        "ssd_mobilenet_v2.",
    )
    threads: int = Field(default=2, ge=1, le=16, description="Số luồng suy luận (threads).")
    score_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Ngưỡng điểm phát hiện cho mọi lớp (one score threshold for every class); "
        "unset: the per-class thresholds tuned in the model manifest.",
    )
    every_nth_frame: int = Field(
        default=1, ge=1, le=30, description="Chạy nhận dạng mỗi N khung hình (detect every Nth)."
    )
    motion_gate: bool = Field(
        default=True, description="Chỉ nhận dạng khi có chuyển động (skip still frames)."
    )


class TrackerSection(WireModel):
    """ByteTrack-style tracker settings."""

    track_thresh: float = Field(
        default=0.5, ge=0, le=1, description="Điểm tối thiểu để bắt đầu một vết (new-track score)."
    )
    match_thresh: float = Field(
        default=0.8, ge=0, le=1, description="Ngưỡng ghép vết (matching threshold)."
    )
    buffer_frames: int = Field(
        default=30, ge=1, le=1000, description="Giữ vết bị mất bao nhiêu khung (lost-track buffer)."
    )


class RulesSection(WireModel):
    """Which violations the box detects."""

    enabled: list[BehaviourCode] = Field(
        default_factory=lambda: [BehaviourCode.red_light],
        description="Các luật được bật (enabled behaviour codes).",
    )
    experimental: list[BehaviourCode] = Field(
        default_factory=lambda: list(EXPERIMENTAL_RULES),
        description="Luật thử nghiệm: vi phạm được đánh dấu để duyệt kỹ (experimental rules).",
    )
    cooldown_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Thời gian chờ giữa hai vi phạm cùng luật của một vết (per-track cool-down).",
    )

    @field_validator("enabled", "experimental")
    @classmethod
    def _unique(cls, value: list[BehaviourCode]) -> list[BehaviourCode]:
        if len(set(value)) != len(value):
            raise ValueError("mỗi luật chỉ ghi một lần (each code once)")
        return value


class EvidenceSection(WireModel):
    """What evidence a violation produces."""

    pre_roll_s: float = Field(default=2.0, ge=0, le=10, description="Video trước vi phạm, giây.")
    post_roll_s: float = Field(default=3.0, ge=0, le=10, description="Video sau vi phạm, giây.")
    jpeg_quality: int = Field(default=80, ge=1, le=100, description="Chất lượng JPEG (1..100).")
    clip_bitrate_kbps: int = Field(
        default=900, ge=100, le=20000, description="Tốc độ bit của clip, kbit/s (clip bitrate)."
    )
    still_max_width: int = Field(
        default=1280, ge=320, le=8192, description="Chiều rộng tối đa ảnh trước/sau, pixel."
    )


class OutboxSection(WireModel):
    """The on-disk queue of packets waiting for an ack."""

    path: str = Field(
        default="/var/lib/trafficwatch/outbox.sqlite3",
        min_length=1,
        description="Tệp SQLite của hàng đợi gửi (outbox database).",
    )
    max_bytes: int = Field(
        default=2 * GIB, ge=16 * MIB, description="Dung lượng tối đa của hàng đợi, byte."
    )
    min_free_bytes: int = Field(
        default=512 * MIB, ge=0, description="Dung lượng đĩa trống phải giữ lại, byte."
    )
    dead_letter_path: str = Field(
        default="/var/lib/trafficwatch/dead_letters",
        min_length=1,
        description="Thư mục lưu gói bị máy chủ từ chối (dead-letter store).",
    )


class HealthSection(WireModel):
    """Heartbeat settings."""

    heartbeat_s: float = Field(
        default=30.0, ge=1, le=3600, description="Chu kỳ gửi trạng thái, giây (heartbeat period)."
    )


class KeysSection(WireModel):
    """Key files provisioning put on the box."""

    device_key: str = Field(
        default="/etc/trafficwatch/device_key.pem",
        min_length=1,
        description="Khóa riêng Ed25519 của thiết bị, PEM (device private key).",
    )
    server_public_key: str = Field(
        default="/etc/trafficwatch/server_public_key.pem",
        min_length=1,
        description="Khóa công khai của máy chủ, PEM (server public key, checks acks/configs).",
    )
