"""Making a detector from a manifest name: verify the model, then load it in its backend."""

from __future__ import annotations

from pathlib import Path

from edge_agent.detect.base import StagedDetector
from edge_agent.detect.ssd import SsdDetector
from edge_agent.detect.yolox import YoloxDetector
from edge_agent.models_store import Manifest, open_model

BACKENDS = {"yolox": YoloxDetector, "ssd_postprocess": SsdDetector}


def create_detector(
    name: str,
    *,
    models_dir: Path | None = None,
    threads: int = 2,
    score_threshold: float | None = None,
    manifest: Manifest | None = None,
) -> StagedDetector:
    """The detector for manifest model `name` ("" = the default model).

    Raises `ModelMissingError` if it is not installed and `ModelHashError` if its file differs
    from the manifest. `score_threshold=None` uses the model's per-label tuned defaults.
    """
    model = open_model(name or None, models_dir=models_dir, manifest=manifest)
    backend = BACKENDS[model.entry.output_format]
    return backend(model, threads=threads, score_threshold=score_threshold)
