"""The trafficwatch wire contract: messages, enums, encodings, signatures, topics, config schema.

Imports nothing of the project and does no I/O; runs on the box (Python 3.10) and the server.
"""

from protocol.ack import Ack, open_ack, seal_ack
from protocol.chunks import Chunk, decode_chunk, reassemble, split_packet
from protocol.commands import (
    Command,
    CommandReply,
    open_command,
    open_reply,
    seal_command,
    seal_reply,
)
from protocol.config import DeviceConfig, SignedConfig, config_sha256
from protocol.enums import (
    AckStatus,
    BehaviourCode,
    CameraProblem,
    ClockSource,
    CommandName,
    CommandResult,
    DeviceState,
    MediaRole,
    PlateColour,
    RejectReason,
    RiderPosition,
    SignalPhase,
    SignalSource,
    VehicleClass,
)
from protocol.envelope import (
    MAX_PACKET_BYTES,
    MAX_PARTS,
    EvidencePacket,
    VerifyReport,
    decode_packet,
    drop_parts,
    encode_packet,
    open_packet,
    packet_sha256,
    verify_packet,
)
from protocol.errors import (
    ChunkError,
    MalformedError,
    PartHashError,
    ProtocolError,
    SignatureError,
    SizeError,
    TopicError,
    VersionError,
)
from protocol.evidence import EvidenceHeader, PartDescriptor, make_part, new_packet_id
from protocol.keys import generate_private_key, key_id
from protocol.sealed import peek, seal, unseal
from protocol.status import StatusHeartbeat, decode_status, encode_status, offline_status
from protocol.topics import TopicKind, Topics, validate_device_id
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR
from protocol.violation import Violation

__all__ = [
    "MAX_PACKET_BYTES",
    "MAX_PARTS",
    "PROTOCOL_MAJOR",
    "PROTOCOL_MINOR",
    "Ack",
    "AckStatus",
    "BehaviourCode",
    "CameraProblem",
    "Chunk",
    "ChunkError",
    "ClockSource",
    "Command",
    "CommandName",
    "CommandReply",
    "CommandResult",
    "DeviceConfig",
    "DeviceState",
    "EvidenceHeader",
    "EvidencePacket",
    "MalformedError",
    "MediaRole",
    "PartDescriptor",
    "PartHashError",
    "PlateColour",
    "ProtocolError",
    "RejectReason",
    "RiderPosition",
    "SignalPhase",
    "SignalSource",
    "SignatureError",
    "SignedConfig",
    "SizeError",
    "StatusHeartbeat",
    "TopicError",
    "TopicKind",
    "Topics",
    "VehicleClass",
    "VerifyReport",
    "VersionError",
    "Violation",
    "config_sha256",
    "decode_chunk",
    "decode_packet",
    "decode_status",
    "drop_parts",
    "encode_packet",
    "encode_status",
    "generate_private_key",
    "key_id",
    "make_part",
    "new_packet_id",
    "offline_status",
    "open_ack",
    "open_command",
    "open_packet",
    "open_reply",
    "packet_sha256",
    "peek",
    "reassemble",
    "seal",
    "seal_ack",
    "seal_command",
    "seal_reply",
    "split_packet",
    "unseal",
    "validate_device_id",
    "verify_packet",
]
