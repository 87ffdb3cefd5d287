"""Fixtures for the tracking tests: the real detector on the shared models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edge_agent.capture.media import install_models


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest's models, installed from the shared copies (skipped where absent)."""
    return install_models(tmp_path_factory.mktemp("models"))
