"""Fixtures for the edge-agent tests: outboxes, and a tiny filesystem to fill up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher, PublisherSettings
from tests.edge_agent.packets import SERVER_KEY


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """An outbox with generous bounds, in the test's own directory."""
    box = Outbox(tmp_path / "outbox.db", max_bytes=10**9, min_free_bytes=0)
    yield box
    box.close()


@pytest.fixture
def device_id() -> str:
    """A device id (and so an MQTT client id) no other test uses."""
    return f"cam-{uuid.uuid4().hex[:10]}"


PublisherFactory = Callable[..., Publisher]


@pytest.fixture
def start_publisher() -> Iterator[PublisherFactory]:
    """Factory: start a Publisher with test-friendly timings; stopped at teardown."""
    started: list[Publisher] = []

    def factory(outbox: Outbox, host: str, port: int, **overrides: Any) -> Publisher:
        fields: dict[str, Any] = {
            "host": host,
            "port": port,
            "poll_interval": 0.05,
            "reconnect_min": 0.1,
            "reconnect_max": 0.5,
            "chunk_size": 64 * 1024,
            "shutdown_timeout": 5.0,
            **overrides,
        }
        publisher = Publisher(PublisherSettings(**fields), outbox, SERVER_KEY.public_key())
        publisher.start()
        started.append(publisher)
        return publisher

    yield factory
    for publisher in reversed(started):
        publisher.stop()
