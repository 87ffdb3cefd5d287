"""Fixtures for the agent tests: configs on disk, installed models, the server key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from protocol.keys import public_key_to_pem
from tests.edge_agent.capture.media import install_models, moving_square, write_video
from tests.factories import fixed_server_key

ConfigWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest's models, installed from the shared copies (skipped where absent)."""
    return install_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def square_clip(tmp_path: Path) -> Path:
    """A 2 s, 25 fps H.264 clip of a moving square: 50 frames."""
    return write_video(tmp_path / "square.mp4", moving_square(50))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def write_config(tmp_path: Path) -> ConfigWriter:
    """Factory: write a site.yaml for a box reading `source`, with overrides merged in."""
    key_file = tmp_path / "server_public_key.pem"
    key_file.write_bytes(public_key_to_pem(fixed_server_key().public_key()))

    def write(source: Path, **overrides: Any) -> Path:
        config: dict[str, Any] = {
            "device": {
                "id": "cam-test-01",
                "site_id": "dh-ltk-thd",
                "camera_id": "north",
                "location": {"lat": 17.4683, "lon": 106.6229},
            },
            "camera": {"source": str(source), "kind": "file", "width": 768, "height": 432},
            "rules": {"enabled": []},
            "outbox": {
                "path": str(tmp_path / "outbox" / "outbox.sqlite3"),
                "max_bytes": 64 * 1024 * 1024,
                "min_free_bytes": 0,
                "dead_letter_path": str(tmp_path / "dead_letters"),
            },
            "keys": {
                "device_key": str(tmp_path / "device_key.pem"),
                "server_public_key": str(key_file),
            },
        }
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(_merge(config, overrides)), encoding="utf-8")
        return path

    return write
