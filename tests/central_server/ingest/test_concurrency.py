"""Two workers (two ingestors, as in two processes) racing on the same packets store each once."""

from __future__ import annotations

import random
import threading

from central_server.ingest import Outcome, OutcomeKind
from central_server.models import ChunkStage, Packet, SentAck, Violation
from protocol.chunks import split_packet
from tests.central_server.ingest.conftest import IngestEnv

PACKETS = 8


def test_racing_workers_store_every_packet_exactly_once(ingest_env: IngestEnv) -> None:
    workers = [ingest_env.ingestor, ingest_env.second_ingestor()]
    messages: list[bytes] = []
    for _ in range(PACKETS):
        header, data = ingest_env.packet()
        messages += split_packet(header.packet_id, data, chunk_size=120)
    # Shared subscriptions spread chunks over workers, and QoS 1 delivers some twice: give each
    # worker its own shuffled copy of everything, so every chunk reaches both at about once.
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(len(workers))

    def run(seed: int) -> None:
        mine = random.Random(seed).sample(messages, len(messages))
        start.wait()
        for message in mine:
            outcome = ingest_env.send_chunk(message, ingestor=workers[seed])
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,), name=f"test-worker-{i}") for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 2 * len(messages)
    assert [o.kind for o in outcomes].count(OutcomeKind.stored) == PACKETS
    assert OutcomeKind.rejected not in {o.kind for o in outcomes}
    assert ingest_env.count(Packet) == PACKETS and ingest_env.count(Violation) == PACKETS
    assert len(ingest_env.audits("violation.ingested")) == PACKETS
    assert ingest_env.count(SentAck) == PACKETS
    assert ingest_env.count(ChunkStage) == 0
