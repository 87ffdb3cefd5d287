#!/usr/bin/env python3
"""Detector benchmark: milliseconds a frame per detector and stage, and vehicle_recall.

Data: `../shared/data/vn_plates` (MIT, © 2023 Mai Chí Bảo; all 48 frames of 1920×1080, 83 plate
boxes), or `$TW_SHARED_DATA`. Models: installed in `$TW_MODELS_DIR` (or `--models-dir`); when
absent there they are installed for this run from `../shared/models`.

vehicle_recall (see `_recall.py`) is measured at each model's default thresholds. ms_per_frame
is the median of `detect()` on frames already decoded in memory (so JPEG decoding is excluded),
with the same thread count for every detector; stage_ms splits it into preprocess (resize,
letterbox, layout), inference and postprocess (decode, NMS, class mapping).

Prints readable lines, then one JSON line:
{"vehicle_recall": ..., "ms_per_frame": {...}, "stage_ms": {...}, "recall_by_detector": {...}}
Target: vehicle_recall >= 0.90 for the default detector (reported, never asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # before this folder: its protocol.py shadows the package
sys.path.insert(1, str(Path(__file__).resolve().parent))

from _recall import frames, shared_data_dir, vehicle_recall  # noqa: E402

from edge_agent.detect import StagedDetector, create_detector  # noqa: E402
from edge_agent.models_install import install  # noqa: E402
from edge_agent.models_store import (  # noqa: E402
    default_models_dir,
    load_manifest,
    verify_installed,
)


def models_dir(requested: Path | None, scratch: Path) -> Path:
    """The requested or default models folder, or a scratch copy from ../shared/models."""
    manifest = load_manifest()
    folder = requested or default_models_dir()
    names = [m.name for m in manifest.models]
    if not verify_installed(manifest, folder, names)[1]:
        return folder
    source = Path(os.environ.get("TW_SHARED_MODELS") or ROOT.parent / "shared" / "models")
    print(f"models not installed in {folder}: installing from {source} for this run")
    install(manifest, scratch, source_dir=source, stream=None)
    return scratch


def stage_times(detector: StagedDetector, images: list[Any], budget_s: float) -> dict[str, float]:
    """Median ms per frame of each stage and of the whole detect(), cycling over `images`."""
    laps: dict[str, list[float]] = {"preprocess": [], "infer": [], "postprocess": [], "total": []}
    detector.detect(images[0])  # warm-up: first inference allocates XNNPACK buffers
    deadline = time.perf_counter() + budget_s
    index = 0
    while time.perf_counter() < deadline or index < len(images):
        frame = images[index % len(images)]
        t0 = time.perf_counter()
        tensor, meta = detector.preprocess(frame)
        t1 = time.perf_counter()
        raw = detector.infer(tensor)
        t2 = time.perf_counter()
        detector.postprocess(raw, meta)
        t3 = time.perf_counter()
        for key, seconds in zip(laps, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            laps[key].append(seconds)
        index += 1
    return {key: round(statistics.median(v) * 1e3, 2) for key, v in laps.items()}


def main() -> int:
    """Measure every detector of the manifest and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, help="installed models ($TW_MODELS_DIR)")
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="shared data folder")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument("--seconds", type=float, default=10.0, help="timing budget per detector")
    args = parser.parse_args()

    manifest = load_manifest()
    images = [frame for _, frame, _ in frames(args.data)]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tw-models-") as scratch:
        folder = models_dir(args.models_dir, Path(scratch))
        for entry in manifest.models:
            detector = create_detector(entry.name, models_dir=folder, threads=args.threads)
            try:
                recall = vehicle_recall(detector, args.data)
                stages = stage_times(detector, images, args.seconds)
            finally:
                detector.close()
            results[entry.name] = {"recall": recall, "stages": stages}
            print(
                f"{entry.name} {entry.version}: {stages['total']:.1f} ms/frame "
                f"(preprocess {stages['preprocess']:.1f}, inference {stages['infer']:.1f}, "
                f"postprocess {stages['postprocess']:.1f}; {args.threads} threads); "
                f"vehicle_recall {recall['vehicle_recall']:.3f} "
                f"({recall['plates_found']}/{recall['plates']} plates, vn_plates all 48 frames), "
                f"{recall['boxes_per_frame']} boxes/frame; missed: {', '.join(recall['missed'])}"
            )
    default = manifest.default.name
    print(f"default detector: {default}")
    summary = {
        "vehicle_recall": results[default]["recall"]["vehicle_recall"],
        "ms_per_frame": {name: r["stages"]["total"] for name, r in results.items()},
        "stage_ms": {name: r["stages"] for name, r in results.items()},
        "recall_by_detector": {name: r["recall"]["vehicle_recall"] for name, r in results.items()},
        "boxes_per_frame": {name: r["recall"]["boxes_per_frame"] for name, r in results.items()},
        "threads": args.threads,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
