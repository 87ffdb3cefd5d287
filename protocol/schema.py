"""JSON Schema of every message, for `scripts/export-schema` and for other implementations.

The binary framings (packet, chunk, sealed envelope) are documented in docs/protocol.md; these
schemas describe the JSON-mode data inside them (and the status heartbeat, which is JSON).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from protocol.ack import Ack
from protocol.commands import Command, CommandReply
from protocol.config import DeviceConfig, SignedConfig
from protocol.evidence import EvidenceHeader
from protocol.status import StatusHeartbeat

MESSAGES: dict[str, type[BaseModel]] = {
    "evidence_header": EvidenceHeader,
    "ack": Ack,
    "status_heartbeat": StatusHeartbeat,
    "command": Command,
    "command_reply": CommandReply,
    "device_config": DeviceConfig,
    "signed_config": SignedConfig,
}


def all_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of each message, keyed by file stem."""
    return {name: model.model_json_schema() for name, model in MESSAGES.items()}
