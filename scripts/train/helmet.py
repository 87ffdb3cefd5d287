#!/usr/bin/env python3
"""Train the experimental helmet head classifier (TFLite), and cross-validate it.

    helmet.py extract --out CROPS          # the shared valid set's head boxes as a crops folder
    helmet.py train --crops CROPS --out head.tflite [--epochs 40]
    helmet.py cv [--epochs 40]             # 5-fold CV on ../shared/data/helmets/valid

A crops folder holds `helmet/*.jpg` and `no_helmet/*.jpg`. The model is a small CNN (three
convolutions, ~25 k weights) on 64×64 RGB in 0..1 giving P(helmet): what
`edge_agent.rules.heads.TFLiteHeadClassifier` runs. Needs the `train` extra (TensorFlow); not part
of CI's default run, and no test depends on it.

Data: `helmets/valid` of the shared data (Roboflow "Bike Helmet Detection" v2, stated public domain
but web-collected and partly watermarked: internal testing only, never redistribute; 126 images,
299 head boxes, mostly bicycle riders and stock photos). Folds are grouped by source image (the
export holds several augmented copies of one photo), so no photo is in two folds.

What the figure can and cannot say: it measures telling helmet from bare head on close, mostly
frontal crops of cyclists and stock photos. It says nothing about a Vietnamese roadside camera at
10-20 m, from behind, at night, with conical hats, hoods, caps and passengers: there is no licensed
data for that, which is why the rule is experimental and off by default.

Prints readable lines, then (for `cv`) one JSON line:
{"folds": 5, "crops": …, "accuracy": …, "balanced_accuracy": …, "recall_no_helmet": …,
 "precision_no_helmet": …, "model": "tflite-cnn" | "numpy-logistic"}
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
CLASSES = ("no_helmet", "helmet")  # label 0, 1: the model outputs P(helmet)
Crops = tuple[np.ndarray, np.ndarray, np.ndarray]  # images N×64×64×3 RGB 0..1, labels, groups


def shared_data_dir() -> Path:
    """`$TW_SHARED_DATA`, else `../shared/data` beside the repository."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


def _square(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The box grown by 15 % and squared, cropped, as 64×64 RGB in 0..1."""
    x1, y1, x2, y2 = box
    side = 1.15 * max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = image.shape[:2]
    a, b = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
    c, d = int(min(cx + side / 2, w)), int(min(cy + side / 2, h))
    crop = cv2.resize(image[b:d, a:c], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def valid_crops(data: Path) -> Crops:
    """Head crops of the shared valid set, labels (1 = helmet) and source-photo groups."""
    folder = data / "helmets" / "valid"
    rows = list(csv.DictReader((folder / "_annotations.csv").open(encoding="utf-8")))
    images, labels, groups = [], [], []
    sources: dict[str, int] = {}
    for row in rows:
        image = cv2.imread(str(folder / "images" / row["filename"]))
        if image is None:
            continue
        box = tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            continue
        source = row["filename"].split(".rf.")[0]
        images.append(_square(image, box))  # type: ignore[arg-type]
        labels.append(1 if row["class"] == "With Helmet" else 0)
        groups.append(sources.setdefault(source, len(sources)))
    return np.stack(images), np.asarray(labels), np.asarray(groups)


def folder_crops(folder: Path) -> Crops:
    """A crops folder (`helmet/`, `no_helmet/`): every image is its own group."""
    images, labels = [], []
    for label, name in enumerate(CLASSES):
        for path in sorted((folder / name).glob("*")):
            image = cv2.imread(str(path))
            if image is not None:
                images.append(_square(image, (0, 0, image.shape[1], image.shape[0])))
                labels.append(label)
    if not images:
        raise SystemExit(f"no crops under {folder}/helmet or {folder}/no_helmet")
    return np.stack(images), np.asarray(labels), np.arange(len(labels))


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(len(x)) < 0.5
    x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
    gain = rng.uniform(0.7, 1.3, (len(x), 1, 1, 1))
    shift = rng.uniform(-0.1, 0.1, (len(x), 1, 1, 1))
    return np.clip(x * gain + shift, 0.0, 1.0).astype(np.float32)


def train_cnn(x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> Any:
    """A small Keras CNN trained with flips and brightness jitter, classes balanced."""
    tf = _tensorflow()
    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    model = tf.keras.Sequential(
        [
            layers.Input((SIZE, SIZE, 3)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="binary_crossentropy")
    counts = np.bincount(y, minlength=2)
    weights = {k: len(y) / (2 * max(int(counts[k]), 1)) for k in (0, 1)}
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        model.fit(_augment(x, rng), y, epochs=1, batch_size=32, class_weight=weights, verbose=0)
    return model


def to_tflite(model: Any) -> bytes:
    """The Keras model as a float32 TFLite flatbuffer."""
    tf = _tensorflow()
    return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def _features(x: np.ndarray) -> np.ndarray:
    """Without TensorFlow: a 16×16 grey thumbnail and a hue-saturation histogram per crop."""
    out = []
    for img in x:
        small = cv2.resize((img * 255).astype(np.uint8), (16, 16), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).ravel() / 255.0
        hsv = cv2.cvtColor((img * 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
        out.append(np.concatenate([grey, hist / max(hist.sum(), 1.0)]))
    return np.asarray(out)


def train_logistic(x: np.ndarray, y: np.ndarray) -> Any:
    """The numpy fallback: L2 logistic regression on `_features` (not exportable to TFLite)."""
    f = _features(x)
    mu, sd = f.mean(0), f.std(0) + 1e-6
    z = (f - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(2000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.1 * (z.T @ (p - y) / len(y) + 1e-2 * w)
        b -= 0.1 * float(np.mean(p - y))
    return lambda xs: 1 / (1 + np.exp(-(((_features(xs) - mu) / sd) @ w + b)))


def _tensorflow() -> Any:
    return importlib.import_module("tensorflow")


def _have_tensorflow() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def cross_validate(crops: Crops, epochs: int, folds: int = 5) -> dict[str, Any]:
    """Grouped, stratified-by-majority k-fold CV; P(helmet) ≥ 0.5 is "helmet"."""
    x, y, groups = crops
    rng = np.random.default_rng(0)
    unique = rng.permutation(np.unique(groups))
    fold_of = {int(g): n % folds for n, g in enumerate(unique)}
    fold = np.asarray([fold_of[int(g)] for g in groups])
    cnn = _have_tensorflow()
    predicted = np.zeros(len(y))
    for k in range(folds):
        train, test = fold != k, fold == k
        if cnn:
            model = train_cnn(x[train], y[train], epochs)
            predicted[test] = model.predict(x[test], verbose=0).ravel()
        else:
            predicted[test] = train_logistic(x[train], y[train])(x[test])
        print(
            f"fold {k + 1}/{folds}: {int(test.sum())} crops, accuracy "
            f"{np.mean((predicted[test] >= 0.5) == y[test]):.3f}"
        )
    said = predicted >= 0.5
    bare, called_bare = y == 0, ~said
    return {
        "folds": folds,
        "crops": len(y),
        "accuracy": round(float(np.mean(said == y)), 4),
        "balanced_accuracy": round(float((np.mean(said[y == 1]) + np.mean(~said[bare])) / 2), 4),
        "recall_no_helmet": round(float(np.mean(called_bare[bare])), 4),
        "precision_no_helmet": round(float(np.mean(bare[called_bare])), 4)
        if called_bare.any()
        else None,
        "model": "tflite-cnn" if cnn else "numpy-logistic",
    }


def main() -> None:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="write the valid set's head crops as a crops folder")
    ext.add_argument("--out", type=Path, required=True)
    tr = sub.add_parser("train", help="train on a crops folder and write a .tflite")
    tr.add_argument("--crops", type=Path, required=True)
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument("--epochs", type=int, default=40)
    cv = sub.add_parser("cv", help="5-fold cross-validation on the shared valid set")
    cv.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    data = shared_data_dir()
    if args.command in ("extract", "cv") and not (data / "helmets" / "valid").is_dir():
        raise SystemExit(f"{data / 'helmets' / 'valid'} not found; set TW_SHARED_DATA")
    if args.command == "extract":
        x, y, _ = valid_crops(data)
        for name in CLASSES:
            (args.out / name).mkdir(parents=True, exist_ok=True)
        for n, (img, label) in enumerate(zip(x, y, strict=True)):
            bgr = cv2.cvtColor((img * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(args.out / CLASSES[label] / f"{n:04d}.jpg"), bgr)
        print(f"wrote {len(y)} crops to {args.out}")
    elif args.command == "train":
        if not _have_tensorflow():
            raise SystemExit("TensorFlow is needed to write a .tflite: pip install '.[train]'")
        x, y, _ = folder_crops(args.crops)
        args.out.write_bytes(to_tflite(train_cnn(x, y, args.epochs)))
        print(f"trained on {len(y)} crops ({int(y.sum())} helmet); wrote {args.out}")
    else:
        crops = valid_crops(data)
        print(
            f"{len(crops[1])} crops ({int(crops[1].sum())} helmet) from "
            f"{len(np.unique(crops[2]))} source photos"
        )
        print(json.dumps(cross_validate(crops, args.epochs)))


if __name__ == "__main__":
    main()
