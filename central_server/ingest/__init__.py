"""Evidence ingest (`trafficwatch server ingest`): verify, deduplicate, store and ack packets.

`Ingestor` is the database logic (one message in, one outcome out; `ingest_once` calls it without
MQTT); `IngestService` runs it behind an MQTT consumer with worker threads.
"""

from central_server.ingest.runner import IngestService, SchemaNotCurrentError, main
from central_server.ingest.schemas import Outcome, OutcomeKind
from central_server.ingest.service import IngestLimits, Ingestor, ingest_once

__all__ = [
    "IngestLimits",
    "IngestService",
    "Ingestor",
    "Outcome",
    "OutcomeKind",
    "SchemaNotCurrentError",
    "ingest_once",
    "main",
]
