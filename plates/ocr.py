"""PaddleOCR's PP-OCR models through rapidocr (its wheel ships them in ONNX), tuned for plates.

rapidocr's own pipeline upscales every image so its short side is 736 px (0.7-0.9 s a plate on
two cores) and misses text touching a tight crop's edge. Here its detector and recogniser run on
inputs sized for plates: a plate region is padded and scaled to a small pixel budget for text-line
detection, and each line goes to the recogniser at its native 48 px height. Recognition is decoded
against the plate alphabet only, keeping each character's alternatives for the grammar.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from plates.grammar import Grammar, Slot
from plates.reading import ModelRef

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]  # 4×2 corners: top-left, top-right, bottom-right, bottom-left

RAPIDOCR_VERSION = "3.10"
DET_MODEL = "PP-OCRv6_det_small"
REC_MODEL = "PP-OCRv6_rec_small"
REC_HEIGHT = 48
REC_MAX_RATIO = 16.0  # wider lines are cut off: a plate line is at most ~10 characters
ALTERNATIVES = 6
ALTERNATIVE_FLOOR = 1e-4  # rarer alternatives are noise


@dataclass(frozen=True)
class LineRead:
    """One text line as recognised: the raw text and its alphabet slots with alternatives."""

    text: str
    slots: tuple[Slot, ...]
    confidence: float


@dataclass(frozen=True)
class OcrSettings:
    """How the models run; the defaults suit plates on a small CPU."""

    threads: int = 1
    det_pixels: int = 160 * 128  # detection input budget for one plate region
    det_thresh: float = 0.3
    det_box_thresh: float = 0.5
    det_unclip: float = 1.6


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PlateOcr:
    """Text-line detection and plate-alphabet recognition on PP-OCRv6 small (ONNX Runtime)."""

    def __init__(self, grammar: Grammar, settings: OcrSettings | None = None) -> None:
        from rapidocr import RapidOCR  # heavy: imported only when a reader is made

        self.settings = settings or OcrSettings()
        import rapidocr

        root = Path(str(rapidocr.__file__)).parent / "models"
        det_path, rec_path = root / f"{DET_MODEL}.onnx", root / f"{REC_MODEL}.onnx"
        threads = self.settings.threads
        engine: Any = RapidOCR(
            params={
                "Global.log_level": "warning",
                "Global.use_cls": False,
                "Det.model_path": str(det_path),
                "Rec.model_path": str(rec_path),
                # The detector never resizes: inputs arrive sized (multiples of 32) by `_det_input`.
                "Det.limit_type": "max",
                "Det.limit_side_len": 100_000,
                "Det.thresh": self.settings.det_thresh,
                "Det.box_thresh": self.settings.det_box_thresh,
                "Det.unclip_ratio": self.settings.det_unclip,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        self._det: Any = engine._load_det_model()
        self._rec: Any = engine._load_rec_model()
        self.models = (
            ModelRef(f"{DET_MODEL} (rapidocr {RAPIDOCR_VERSION})", _sha256(det_path)),
            ModelRef(f"{REC_MODEL} (rapidocr {RAPIDOCR_VERSION})", _sha256(rec_path)),
        )
        self._decoder = _AlphabetDecoder(grammar, list(self._rec.postprocess_op.character))
        self._lock = threading.Lock()  # the detector's post-processing keeps per-call state

    # ---------------------------------------------------------------- detection

    def detect_lines(self, region: Image, pixels: int | None = None) -> list[Quad]:
        """Text-line quads in a plate region (region pixels), top to bottom.

        `pixels`: the detector's input budget, `det_pixels` unless given.
        """
        h, w = region.shape[:2]
        pad = max(4, int(0.25 * min(h, w)))  # the detector misses text touching the edge
        fill = [int(v) for v in np.median(_border_pixels(region), axis=0)]
        padded = cv2.copyMakeBorder(region, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
        budget = pixels or self.settings.det_pixels
        scale = math.sqrt(budget / (padded.shape[0] * padded.shape[1]))
        sized_h = max(32, round(padded.shape[0] * scale / 32) * 32)
        sized_w = max(32, round(padded.shape[1] * scale / 32) * 32)
        sized = cv2.resize(padded, (sized_w, sized_h), interpolation=cv2.INTER_AREA)
        with self._lock:
            out = self._det(sized)
        if out.boxes is None:
            return []
        fx, fy = padded.shape[1] / sized_w, padded.shape[0] / sized_h
        quads = []
        for box in out.boxes:
            quad = np.asarray(box, dtype=np.float32) * np.array([fx, fy], np.float32) - pad
            quad[:, 0] = np.clip(quad[:, 0], 0, w - 1)
            quad[:, 1] = np.clip(quad[:, 1], 0, h - 1)
            quads.append(quad)
        return sorted(quads, key=lambda q: float(q[:, 1].mean()))

    # ---------------------------------------------------------------- recognition

    def read_lines(self, lines: list[Image]) -> list[LineRead]:
        """Recognise rectified line images (any height) in one batch."""
        if not lines:
            return []
        ratios = [min(REC_MAX_RATIO, max(1.0, img.shape[1] / img.shape[0])) for img in lines]
        width = math.ceil(REC_HEIGHT * max(ratios))
        batch = np.zeros((len(lines), 3, REC_HEIGHT, width), dtype=np.float32)
        for i, (img, ratio) in enumerate(zip(lines, ratios, strict=True)):
            w = max(8, min(width, math.ceil(REC_HEIGHT * ratio)))
            resized = _to_height(img, w)
            batch[i, :, :, :w] = resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
        probs = np.asarray(self._rec.session(batch), dtype=np.float32)
        return [self._decoder.decode(p) for p in probs]


def _to_height(img: Image, width: int) -> Image:
    """A line at the recogniser's height.

    Plain bilinear, also for small text: sharpening an enlarged 8-10 px line (tried: unsharp
    masking, bicubic, Lanczos) reads worse on the synthetic 20-29 px plates.
    """
    return np.asarray(cv2.resize(img, (width, REC_HEIGHT), interpolation=cv2.INTER_LINEAR))


def _border_pixels(image: Image) -> npt.NDArray[np.uint8]:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, 3)


class _AlphabetDecoder:
    """Greedy CTC decoding over the plate alphabet, separators, blank and "anything else"."""

    def __init__(self, grammar: Grammar, characters: list[str]) -> None:
        alphabet = grammar.spec.alphabet
        self.alphabet = alphabet
        groups: list[list[int]] = [[] for _ in alphabet]
        separators: list[int] = []
        for index, char in enumerate(characters):
            if index == 0 or not char:
                continue  # index 0 is CTC's blank
            canonical = grammar.canonical_char(char)
            if len(canonical) == 1 and canonical in alphabet:
                groups[alphabet.index(canonical)].append(index)
            elif char in grammar.spec.separators:
                separators.append(index)
        self.columns = np.array([i for group in groups for i in group], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
        self.separators = np.array(separators, dtype=np.int64)

    def decode(self, probs: npt.NDArray[np.float32]) -> LineRead:
        """Characters, their alternatives and a line confidence from one line's CTC output."""
        alpha = np.add.reduceat(probs[:, self.columns], self.starts, axis=1)
        blank = probs[:, 0]
        sep = probs[:, self.separators].sum(axis=1)
        other = np.clip(1.0 - alpha.sum(axis=1) - blank - sep, 0.0, 1.0)
        # Classes: 0 blank, 1 separator, 2 anything else, 3+ the alphabet.
        table = np.concatenate([blank[:, None], sep[:, None], other[:, None], alpha], axis=1)
        best = table.argmax(axis=1)
        slots: list[Slot] = []
        text: list[str] = []
        peaks: list[float] = []
        t = 0
        while t < len(best):
            cls, end = int(best[t]), t + 1
            while end < len(best) and best[end] == cls:
                end += 1
            if cls >= 1:
                peaks.append(float(table[t:end, cls].max()))
            if cls >= 2:
                slot = self._slot(alpha[t:end], cls, float(table[t:end, cls].max()))
                slots.append(slot)
                text.append(slot[0][0])
            elif cls == 1:
                text.append("-")
            t = end
        confidence = float(np.prod(peaks)) if peaks else 0.0
        return LineRead("".join(text), tuple(slots), confidence)

    def _slot(self, alpha: npt.NDArray[np.float32], cls: int, peak: float) -> Slot:
        scores = alpha.max(axis=0)
        order = np.argsort(-scores)[:ALTERNATIVES]
        alternatives = [
            (self.alphabet[i], float(scores[i])) for i in order if scores[i] >= ALTERNATIVE_FLOOR
        ]
        if cls == 2:  # something outside the plate alphabet: never a plate character itself
            return (("?", peak), *alternatives)
        return tuple(alternatives)
