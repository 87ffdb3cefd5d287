"""What the enrolment API takes and answers: the box's requests and the admin's token requests.

The box's later requests (a new key, its config for the archive) travel as sealed messages
(`protocol.sealed`, the same envelope as acks and configs) signed by the device's current key,
in a JSON body `{"sealed": "<base64>"}`; their bodies are `KeyRotationBody` and
`ConfigArchiveBody`. `provisioning/requests.py` builds the same shapes on the box.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.fields import DeviceId, Identifier, KeyId, Sha256Hex, UtcDatetime

KIND_KEY_ROTATION = "key_rotation"
KIND_CONFIG_ARCHIVE = "config_archive"
# Domain-separated proof that the box holds the private half of the key it registers.
ENROL_PROOF_DOMAIN = b"trafficwatch/enrol-proof\x00"
ROTATION_PROOF_DOMAIN = b"trafficwatch/rotation-proof\x00"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Strict):
    """A camera position in WGS 84."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class EnrolmentRequest(_Strict):
    """A box asks to be enrolled: its new public key and the one-time token."""

    token: str = Field(min_length=1, max_length=64, description="Mã đăng ký / enrolment token")
    public_key_pem: str = Field(
        min_length=1, max_length=1000, description="Ed25519 public key, SubjectPublicKeyInfo PEM"
    )
    proof: str = Field(
        min_length=1,
        max_length=200,
        description="base64 Ed25519 signature, by the new key, of "
        "b'trafficwatch/enrol-proof\\x00' + the token as typed (normalised: upper case, "
        "no spaces or dashes)",
    )
    device_id: DeviceId | None = Field(
        default=None, description="Proposed device id (the token's own wins)"
    )
    camera_id: Identifier | None = Field(default=None, description="Camera id (approach)")
    location: Location | None = Field(default=None, description="Camera position; else the site's")
    software_version: str = Field(default="", max_length=64)


class BrokerAccess(BaseModel):
    """How the box reaches the broker; the password is shown this once."""

    host: str
    port: int
    tls: bool
    username: str
    password: str
    topic_prefix: str
    ca_pem: str | None = Field(description="The broker's CA (PEM); None when TLS is off")


class EnrolmentResponse(BaseModel):
    """Everything the box needs to write its config."""

    device_id: str
    site_id: str
    camera_id: str
    location: Location
    key_id: str
    valid_from_seq: int
    broker: BrokerAccess
    server_public_key_pem: str
    server_key_id: str
    ntp_server: str | None
    enrolled_at: datetime


class SealedRequest(_Strict):
    """A sealed message signed by the device's current key (base64 of its CBOR bytes)."""

    sealed: str = Field(min_length=1, max_length=400_000)


class KeyRotationBody(_Strict):
    """Sealed by the current key: register `new_public_key_pem` from sequence `next_seq`."""

    device_id: DeviceId
    new_public_key_pem: str = Field(min_length=1, max_length=1000)
    new_key_proof: str = Field(
        min_length=1,
        max_length=200,
        description="base64 signature, by the new key, of b'trafficwatch/rotation-proof\\x00' "
        "+ device id + b'\\x00' + the current key id",
    )
    next_seq: int = Field(ge=0, description="The box's next sequence number (outbox)")
    issued_at: UtcDatetime


class KeyRotationResponse(BaseModel):
    """The new key's range and where the old one now ends."""

    device_id: str
    key_id: str
    valid_from_seq: int
    previous_key_id: str
    previous_valid_to_seq: int | None


class ConfigArchiveBody(_Strict):
    """Sealed by the current key: the config in force (camera credentials redacted)."""

    device_id: DeviceId
    config_sha256: Sha256Hex = Field(description="sha256 of the full config, as packets carry")
    calibration_sha256: Sha256Hex
    config: dict[str, Any]
    redacted: list[str] = Field(
        default_factory=list, description="Config paths whose secrets the box blanked out"
    )
    issued_at: UtcDatetime


class ConfigArchiveResponse(BaseModel):
    """What the archive holds now for these hashes."""

    device_id: str
    config_sha256: str
    calibration_sha256: str
    created: list[str] = Field(description="What this upload added: config, calibration")


class PingResponse(BaseModel):
    """The server answers, and says which key it signs with."""

    status: Literal["ok"]
    server_key_id: str


class TokenCreate(_Strict):
    """An admin asks for an enrolment token."""

    site_id: str = Field(min_length=1, max_length=64)
    ttl_hours: float = Field(default=24, gt=0, le=14 * 24, description="Hours the token lives")
    device_id: DeviceId | None = Field(default=None, description="Fix the device id (re-enrol)")
    camera_id: Identifier | None = None


class TokenCreated(BaseModel):
    """The token, shown this once."""

    id: int
    token: str
    site_id: str
    device_id: str | None
    camera_id: str | None
    expires_at: datetime


class TokenPublic(BaseModel):
    """A token as listed (never the secret)."""

    id: int
    shown_prefix: str
    site_id: str
    device_id: str | None
    camera_id: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime
    used_at: datetime | None
    used_by_device_id: str | None
    revoked_at: datetime | None
    state: Literal["live", "used", "revoked", "expired"]


class KeyRevoke(_Strict):
    """An admin revokes a device key from a sequence number or a time on (one of them)."""

    reason: str = Field(min_length=1, max_length=500)
    from_seq: int | None = Field(default=None, ge=0, description="First sequence refused")
    at: UtcDatetime | None = Field(default=None, description="Refused from this time; default now")

    @model_validator(mode="after")
    def _one_cutoff(self) -> KeyRevoke:
        if self.from_seq is not None and self.at is not None:
            raise ValueError("chọn một mốc / give one cut-off: from_seq or at")
        return self


class KeyRevoked(BaseModel):
    """The key after revocation, and how much stored evidence it signed after the cut-off."""

    key_id: KeyId
    device_id: str
    valid_from_seq: int
    valid_to_seq: int | None
    revoked_at: datetime | None
    revoked_reason: str | None
    packets_after_cutoff: int
