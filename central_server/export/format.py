"""The evidence bundle's layout: file names, manifest, JSON parts (see docs/evidence-bundle.md).

Nothing here touches a database, so the verifier needs only this package and `protocol`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMAT_NAME = "trafficwatch-evidence-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
PACKET = "packet.bin"
ACK = "ack.bin"
DEVICE = "device.json"
SERVER_KEYS = "server_keys.json"
AUDIT = "audit.json"
CASE = "case.json"
README = "README.txt"
MEDIA_DIR = "media/"
MANIFEST_DOMAIN = b"trafficwatch/evidence-bundle\x00"
MAX_BUNDLE_FILE_BYTES = 256 * 1024 * 1024  # a guard while reading untrusted ZIPs
MEDIA_EXTENSIONS = {"image/jpeg": "jpg", "video/mp4": "mp4"}

Sha256 = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileEntry(_Strict):
    """One file of the bundle and its hash."""

    name: str = Field(max_length=200)
    sha256: Sha256 = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Manifest(_Strict):
    """What the bundle holds; signed by the server key in `manifest.sig`."""

    format: str
    version: int
    created_at: datetime
    exported_by: str
    violation_id: int
    packet_id: str
    packet_sha256: Sha256
    signing_key_id: str
    files: list[FileEntry]


class DeviceRecord(_Strict):
    """The device as registered on the server."""

    id: str
    site_id: str | None
    camera_id: str
    created_at: datetime
    enrolled_by: str | None
    revoked_at: datetime | None


class DeviceKeyRecord(_Strict):
    """The device key that signed the packet, with its sequence range."""

    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, hex.")
    valid_from_seq: int
    valid_to_seq: int | None
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class DeviceFile(_Strict):
    """`device.json`: the device, its key, and the audit events that enrolled them."""

    device: DeviceRecord
    key: DeviceKeyRecord
    enrolment_events: list[dict[str, Any]]


class ServerKeyRecord(_Strict):
    """A public key the server signed with."""

    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, hex.")
    created_at: datetime
    retired_at: datetime | None


class ServerKeysFile(_Strict):
    """`server_keys.json`: every server key the bundle's signatures need."""

    keys: list[ServerKeyRecord]


class HeadSignature(_Strict):
    """A daily signature of the chain head that the excerpt reaches."""

    event_id: int
    head_hash: Sha256
    key_id: str
    signature: str = Field(description="Ed25519 signature, hex.")
    signed_at: str = Field(description="As signed: YYYY-MM-DDTHH:MM:SS.ffffffZ.")


class AuditFile(_Strict):
    """`audit.json`: a contiguous slice of the chain from the case's first event on."""

    events: list[dict[str, Any]]
    case_event_ids: list[int]
    details: dict[str, dict[str, Any]]
    head_signature: HeadSignature | None
