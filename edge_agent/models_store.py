"""The model store: the manifest in `models/`, installing and verifying model files on the box.

Weights are never committed. `models/manifest.yaml` pins every model file (and its labels file) by
upstream URL, size and sha256; `trafficwatch models install` copies or downloads each one into the
models directory and refuses any file whose hash differs; `models verify` re-checks them; the
detector opens a model only through `open_model`, which checks the hash before every load, so the
sha256 each evidence packet records is the hash of the weights that actually ran.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

logger = logging.getLogger(__name__)

MANIFEST_ENV = "TW_MODEL_MANIFEST"
MODELS_DIR_ENV = "TW_MODELS_DIR"
_SHA256 = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    """What the network takes: size, memory layout, dtype, colour order and how frames are fit."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    layout: Literal["NCHW", "NHWC"]
    dtype: Literal["float32", "uint8"]
    colour: Literal["BGR", "RGB"]
    value_range: tuple[float, float] = (0.0, 255.0)
    resize: Literal["letterbox", "stretch"]
    pad_value: int = Field(default=114, ge=0, le=255)


class LabelsSpec(_Strict):
    """The labels file: one class name per line, or "id  name" lines."""

    file: str = Field(min_length=1)
    size: int = Field(gt=0)
    sha256: str = Field(pattern=_SHA256)
    url: str | None = None
    names: tuple[str, ...] | None = Field(
        default=None, description="The file's lines, for labels with no pinned upstream copy."
    )

    @model_validator(mode="after")
    def _has_origin(self) -> LabelsSpec:
        if self.url is None and self.names is None:
            raise ValueError(f"{self.file}: needs a url or inline names")
        return self

    def content(self) -> bytes | None:
        """The file's bytes when the manifest carries them inline."""
        return None if self.names is None else ("\n".join(self.names) + "\n").encode()


class ModelEntry(_Strict):
    """One model of the manifest."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str = Field(min_length=1, max_length=200)
    description: str = ""
    default: bool = False
    file: str = Field(min_length=1)
    size: int = Field(gt=0)
    sha256: str = Field(pattern=_SHA256)
    url: str = Field(pattern=r"^(https|http|file)://")  # the sha256 check makes http safe
    source: str
    licence: str
    licence_url: str | None = None
    input: InputSpec
    output_format: Literal["yolox", "ssd_postprocess"]
    strides: tuple[int, ...] = ()
    labels: LabelsSpec
    score_thresholds: dict[str, float] = Field(description="Default score threshold per label.")
    nms_iou: float = Field(default=0.45, gt=0, le=1)


class Manifest(_Strict):
    """The whole manifest: exactly one default model, unique names."""

    manifest_version: Literal[1]
    models: tuple[ModelEntry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError("model names must be unique")
        if sum(m.default for m in self.models) != 1:
            raise ValueError("exactly one model must be the default")
        return self

    def get(self, name: str) -> ModelEntry:
        """The entry called `name`; `ModelMissingError` names the known ones otherwise."""
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(m.name for m in self.models)
        raise ModelMissingError(f"không có mô hình / unknown model {name!r} (có / known: {known})")

    @property
    def default(self) -> ModelEntry:
        """The default model."""
        return next(m for m in self.models if m.default)


class ModelError(Exception):
    """A model cannot be used: unknown, missing or altered."""


class ModelMissingError(ModelError):
    """The model is not in the manifest or not installed."""


class ModelHashError(ModelError):
    """A file's sha256 differs from the manifest's."""

    def __init__(self, path: Path | str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = Path(path), expected, actual
        super().__init__(
            f"sai mã băm, từ chối tệp / hash mismatch, file refused: {path}\n"
            f"  mong đợi / expected: {expected}\n  thực tế / actual:     {actual}"
        )


def default_manifest_path() -> Path:
    """`$TW_MODEL_MANIFEST`, else `models/manifest.yaml` of the source tree."""
    env = os.environ.get(MANIFEST_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models" / "manifest.yaml"


def default_models_dir() -> Path:
    """`$TW_MODELS_DIR`, else `~/.local/share/trafficwatch/models`."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env) if env else Path.home() / ".local" / "share" / "trafficwatch" / "models"


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and validate the manifest (default: `default_manifest_path()`)."""
    path = path or default_manifest_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"không thấy manifest / model manifest not found: {path} (set ${MANIFEST_ENV})"
        ) from None
    return Manifest.model_validate(data)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# A successful check is remembered per (path, size, mtime): a restarted stage does not hash the
# weights again, while any rewrite of the file (new size or mtime) is hashed afresh.
_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def read_verified(path: Path, expected: str) -> bytes:
    """The file's bytes if their sha256 is `expected`; else ModelHashError (or missing)."""
    try:
        with path.open("rb") as fh:
            stat = os.fstat(fh.fileno())
            data = fh.read()
    except FileNotFoundError:
        raise ModelMissingError(
            f"chưa cài / not installed: {path} (trafficwatch models install)"
        ) from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if _verified.get(key) == expected and len(data) == stat.st_size:
            return data
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelHashError(path, expected, actual)
    with _verified_lock:
        _verified[key] = actual
    return data


@dataclass(frozen=True)
class InstalledModel:
    """A verified model: its manifest entry, paths, class names by id and the verified bytes.

    The interpreter loads `content`, the very bytes that were hashed, never the path again.
    """

    entry: ModelEntry
    path: Path
    labels_path: Path
    labels: dict[int, str]
    content: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        """sha256 of the weights (what every evidence packet records)."""
        return self.entry.sha256


def model_paths(entry: ModelEntry, models_dir: Path) -> tuple[Path, Path]:
    """Where the model file and its labels file live once installed."""
    folder = models_dir / entry.name
    return folder / entry.file, folder / entry.labels.file


def parse_labels(text: str) -> dict[int, str]:
    """Class names by id: "id  name" lines keep their ids, plain lines count from 0."""
    labels: dict[int, str] = {}
    for index, line in enumerate(text.splitlines()):
        head, _, rest = line.strip().partition(" ")
        if head.isdigit() and rest.strip():
            labels[int(head)] = rest.strip()
        elif line.strip():
            labels[index] = line.strip()
    return labels


def open_model(
    name: str | None = None, *, models_dir: Path | None = None, manifest: Manifest | None = None
) -> InstalledModel:
    """Find an installed model (default: the manifest's default) and verify both its files."""
    manifest = manifest or load_manifest()
    entry = manifest.get(name) if name else manifest.default
    path, labels_path = model_paths(entry, models_dir or default_models_dir())
    content = read_verified(path, entry.sha256)
    labels = parse_labels(read_verified(labels_path, entry.labels.sha256).decode("utf-8"))
    logger.info("model %s %s verified (sha256 %s)", entry.name, entry.version, entry.sha256)
    return InstalledModel(entry, path, labels_path, labels, content)


@dataclass(frozen=True)
class Problem:
    """One installed file that fails verification."""

    model: str
    path: Path
    kind: Literal["missing", "hash"]
    detail: str


def verify_installed(
    manifest: Manifest, models_dir: Path, names: Sequence[str] = ()
) -> tuple[list[str], list[Problem]]:
    """Re-hash installed files: (models that pass, problems); skips absent unnamed models."""
    good: list[str] = []
    problems: list[Problem] = []
    for entry in [manifest.get(n) for n in names] if names else manifest.models:
        hashes = (entry.sha256, entry.labels.sha256)
        checks = list(zip(model_paths(entry, models_dir), hashes, strict=True))
        if not names and not any(p.exists() for p, _ in checks):
            continue  # a model this box never installed is not a fault
        before = len(problems)
        for path, expected in checks:
            if not path.exists():
                problems.append(Problem(entry.name, path, "missing", "chưa cài / missing"))
                continue
            actual = sha256_file(path)
            if actual != expected:
                detail = f"mong đợi / expected {expected}, thực tế / actual {actual}"
                problems.append(Problem(entry.name, path, "hash", detail))
        if len(problems) == before:
            good.append(entry.name)
    return good, problems


def cli_install(argv: Sequence[str]) -> int:
    """`trafficwatch models install [--from DIR] [--dest DIR] [NAME...]`."""
    from edge_agent.models_install import cli_install as run

    return run(argv)


def cli_verify(argv: Sequence[str]) -> int:
    """`trafficwatch models verify [--dest DIR] [NAME...]`."""
    from edge_agent.models_install import cli_verify as run

    return run(argv)
