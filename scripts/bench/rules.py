#!/usr/bin/env python3
"""Signal-light classifier and violation-rule benchmark.

Light: `../shared/data/traffic_lights/training/{red,yellow,green}` (CC BY-SA 4.0, MIT self-driving
car course via Udacity's iSDC starter code; 1,187 crops: 723 red, 35 yellow, 429 green), or
`$TW_SHARED_DATA`. The classifier's few constants (hue bands, lamp reach) are chosen from a small
grid, so the figures are a stratified 5-fold cross-validation with the choice made inside each
fold on its training part (balanced accuracy): every crop is judged by constants chosen without
it. A crop read as `unknown` counts as wrong.

Rules: generated scenes (`tests/scenes`, seeds 1..N, 3 signal cycles each, every rule enabled,
helmets scored by the baseline head classifier on drawn heads) with ≥ 10 % of detections dropped,
3 px box noise and 1-second occlusions on a quarter of the vehicles. "gt": ground-truth tracks
(half the occluded vehicles come back under a new id); "tracked": the noisy detections through
`edge_agent.tracking`'s ByteTracker and rider linker. An event is right when it names a
(vehicle, behaviour) of the ground truth for the first time; a duplicate is a false positive.
id_switches: tracker id changes of a vehicle between frames where it was tracked, summed.

Prints readable lines, then one JSON line:
{"light_accuracy": …, "light_yellow_recall": …, "rules_precision_gt": …, "rules_recall_gt": …,
 "rules_precision_tracked": …, "rules_recall_tracked": …, "id_switches": …}
Targets (reported, never asserted): light ≥ 0.99, yellow ≥ 0.9; rules 1.0 on ground truth,
≥ 0.95 through the tracker.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # before this folder: its protocol.py shadows the package

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from edge_agent.signal.classifier import ClassifierParams, LampHue, LightClassifier  # noqa: E402
from protocol.enums import BehaviourCode, SignalPhase  # noqa: E402

COLOURS = {"red": SignalPhase.red, "yellow": SignalPhase.amber, "green": SignalPhase.green}
RED_BANDS = [LampHue(172, 16), LampHue(174, 14)]
AMBER_BANDS = [LampHue(20, 18), LampHue(20, 14), LampHue(18, 12)]
GREEN_BANDS = [LampHue(88, 16), LampHue(90, 14)]
REACHES = [0.30, 0.34]


def shared_data_dir() -> Path:
    """`$TW_SHARED_DATA`, else `../shared/data` beside the repository."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


def load_crops(folder: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """The crops and their labels (0 red, 1 yellow, 2 green)."""
    crops, labels = [], []
    for index, name in enumerate(COLOURS):
        for path in sorted((folder / name).glob("*.jpg")):
            image = cv2.imread(str(path))
            if image is not None:
                crops.append(image)
                labels.append(index)
    return crops, np.asarray(labels)


def grid() -> list[ClassifierParams]:
    """Every parameter set of the grid."""
    return [
        ClassifierParams(red=r, amber=a, green=g, lamp_reach=reach)
        for r, a, g, reach in itertools.product(RED_BANDS, AMBER_BANDS, GREEN_BANDS, REACHES)
    ]


def predictions(crops: list[np.ndarray], params: list[ClassifierParams]) -> np.ndarray:
    """Predicted class (0/1/2, 3 = unknown) of every crop under every parameter set."""
    order = list(COLOURS.values())
    out = np.full((len(params), len(crops)), 3, dtype=np.int64)
    for i, p in enumerate(params):
        clf = LightClassifier(params=p)
        for j, crop in enumerate(crops):
            phase = clf.classify(crop).phase
            out[i, j] = order.index(phase) if phase in order else 3
    return out


def balanced(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean per-class recall."""
    return float(np.mean([np.mean(pred[labels == k] == k) for k in range(3)]))


def cross_validate(
    pred: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Held-out predictions: each fold judged by the parameters best on the other folds."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=np.int64)
    for k in range(3):  # stratified: each fold gets its share of every colour
        index = np.flatnonzero(labels == k)
        rng.shuffle(index)
        fold[index] = np.arange(len(index)) % folds
    held = np.zeros(len(labels), dtype=np.int64)
    for f in range(folds):
        train = fold != f
        best = max(range(len(pred)), key=lambda i: balanced(pred[i, train], labels[train]))
        held[~train] = pred[best, ~train]
    return held


def light_figures(data: Path) -> dict[str, float] | None:
    """Cross-validated accuracy, overall and per colour; None when the data is absent."""
    folder = data / "traffic_lights" / "training"
    if not folder.is_dir():
        print(f"light: {folder} not found; set TW_SHARED_DATA (figures null)")
        return None
    crops, labels = load_crops(folder)
    params = grid()
    started = time.perf_counter()
    pred = predictions(crops, params)
    ms = 1000 * (time.perf_counter() - started) / (len(params) * len(crops))
    held = cross_validate(pred, labels)
    per = {name: float(np.mean(held[labels == k] == k)) for k, name in enumerate(COLOURS)}
    default = pred[params.index(ClassifierParams())]
    print(f"light: {len(crops)} crops {dict(Counter(labels.tolist()))}, {ms:.2f} ms a crop")
    print(f"light 5-fold CV: accuracy {np.mean(held == labels):.4f}, per colour {per}")
    print(f"light shipped defaults on all crops (not held out): {np.mean(default == labels):.4f}")
    return {"accuracy": float(np.mean(held == labels)), "yellow": per["yellow"]}


def rules_figures(seeds: list[int], cycles: int) -> dict[str, Any]:
    """Precision and recall of the rules on generated scenes, without and with the tracker."""
    from tests.scenes import detections, generate
    from tests.scenes.run import run_gt, run_tracked, score, truth

    enabled = tuple(BehaviourCode)
    pairs: dict[str, list[Any]] = {"gt": [], "tracked": []}
    real: set[tuple[int, BehaviourCode]] = set()
    switches, ms, tracked_ok = 0, [], True
    for seed in seeds:
        scene = generate(seed, cycles)
        frames = detections(scene)
        offset = seed * 1_000_000  # vehicle ids are per scene
        real |= {(offset + vid, code) for vid, code in truth(scene, enabled)}
        gt = run_gt(scene, frames, enabled)
        pairs["gt"] += [(None if v is None else offset + v, c) for v, c in gt.pairs()]
        ms.append(gt.rule_ms_per_frame)
        try:
            tr = run_tracked(scene, frames, enabled)
        except ImportError as exc:
            tracked_ok = False
            print(f"tracked: edge_agent.tracking unavailable ({exc}); figures null")
            continue
        pairs["tracked"] += [(None if v is None else offset + v, c) for v, c in tr.pairs()]
        switches += tr.id_switches or 0
    out: dict[str, Any] = {"truth": len(real), "ms": float(np.mean(ms))}
    for mode in ("gt", "tracked"):
        if mode == "tracked" and not tracked_ok:
            out[mode] = None
            continue
        s = score(pairs[mode], real)
        out[mode] = s
        print(f"rules {mode}: tp {s.tp} fp {s.fp} fn {s.fn}: ", end="")
        print(f"precision {s.precision:.4f} recall {s.recall:.4f}")
        _per_code(pairs[mode], real)
    out["id_switches"] = switches if tracked_ok else None
    print(f"rules: {len(real)} true violations in {len(seeds)} scenes; ", end="")
    print(f"engine {out['ms']:.2f} ms a frame (ground-truth run)")
    return out


def _per_code(pairs: list[Any], real: set[tuple[int, BehaviourCode]]) -> None:
    from tests.scenes.run import score

    for code in BehaviourCode:
        mine = [p for p in pairs if p[1] is code]
        truth_code = {r for r in real if r[1] is code}
        s = score(mine, truth_code)
        print(
            f"    {code.value:22s} true {len(truth_code):3d} tp {s.tp:3d} fp {s.fp:2d} fn {s.fn:2d}"
        )


def main() -> None:
    """Run both benchmarks and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=12, help="generated scenes (seeds 1..N)")
    parser.add_argument("--cycles", type=int, default=3, help="signal cycles per scene")
    args = parser.parse_args()
    light = light_figures(shared_data_dir())
    rules = rules_figures(list(range(1, args.scenes + 1)), args.cycles)
    gt, tracked = rules["gt"], rules["tracked"]
    figures = {
        "light_accuracy": None if light is None else round(light["accuracy"], 4),
        "light_yellow_recall": None if light is None else round(light["yellow"], 4),
        "rules_precision_gt": round(gt.precision, 4),
        "rules_recall_gt": round(gt.recall, 4),
        "rules_precision_tracked": None if tracked is None else round(tracked.precision, 4),
        "rules_recall_tracked": None if tracked is None else round(tracked.recall, 4),
        "id_switches": rules["id_switches"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
