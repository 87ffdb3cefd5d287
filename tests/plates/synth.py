"""Synthetic Vietnamese plates with known text, for the reader's tests and its benchmark.

Every §5 shape (the grammar data's shapes, so a new shape is rendered as soon as it is added), one
and two lines at QCVN 08:2024 proportions, the four background colours, drawn with a TrueType font
of the machine (DejaVu Sans Condensed Bold, package `fonts-dejavu-core`), then turned in 3-D by up
to 20°, blurred, lit with glare, shrunk to 20-160 px high and set in a vehicle-like crop.
Deterministic for a seed. The texts are random: no plate of any test set is drawn on purpose.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from plates.grammar import Grammar, load_grammar
from protocol.enums import PlateColour, VehicleClass

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSansCondensed-Bold.ttf",
)
MIN_PLATE_H, MAX_PLATE_H = 20, 160
MAX_TURN_DEG = 20.0
# Plate sizes (mm, QCVN 08:2024): car long, car short, motorbike.
SIZES = {"long": (520, 110), "short": (330, 165), "motorbike": (190, 140)}
INK = {  # background, characters (BGR)
    PlateColour.white: ((235, 235, 232), (25, 25, 25)),
    PlateColour.yellow: ((40, 200, 235), (25, 25, 25)),
    PlateColour.blue: ((150, 75, 20), (240, 240, 240)),
    PlateColour.red: ((40, 40, 190), (240, 240, 240)),
}
RED_INK = (30, 30, 200)
BASE_H = 220  # drawing height before the plate is turned and shrunk


def find_font() -> Path | None:
    """A bold condensed TrueType font of the machine, or None."""
    return next((Path(p) for p in FONT_PATHS if Path(p).is_file()), None)


@dataclass(frozen=True)
class SynthPlate:
    """One rendered plate in its crop, with the truth."""

    image: npt.NDArray[np.uint8]  # BGR
    text: str  # compact
    printed: tuple[str, ...]  # the printed lines
    shape: str
    colour: PlateColour
    vehicle: VehicleClass
    box: tuple[float, float, float, float]  # the plate in the image
    plate_height: int  # pixels
    turn: tuple[float, float, float]  # yaw, pitch, roll in degrees
    blur: float
    glare: bool

    @property
    def lines(self) -> int:
        """Line count."""
        return len(self.printed)


def random_text(grammar: Grammar, shape: str, colour: PlateColour, rng: random.Random) -> str:
    """A random compact plate of a shape (blue plates keep their narrower series letters)."""
    expansions = [e for e in grammar.expansions if e.shape.name == shape]
    exp = rng.choice(expansions)
    narrowed = grammar.spec.colour_classes.get(colour.value, {})
    text = ""
    for unit in exp.units:
        allowed = narrowed.get(unit.klass or "")
        options = [o for o in unit.options if allowed is None or o in allowed]
        text += rng.choice(options)
    return text


def _colour(shape: str, rng: random.Random) -> PlateColour:
    """Economic zones are yellow, foreign plates white, red (military) only on common shapes."""
    if shape == "economic_zone":
        return PlateColour.yellow
    if shape == "foreign":
        return PlateColour.white
    colours = list(INK) if shape.startswith(("car", "motorbike")) else list(INK)[:3]
    return rng.choices(colours, weights=(55, 20, 15, 10)[: len(colours)])[0]


def _layout(grammar: Grammar, shape: str, rng: random.Random) -> tuple[int, VehicleClass, str]:
    spec = grammar.shape(shape)
    lines = rng.choice(spec.layouts)
    vehicle = VehicleClass(spec.vehicles[0])
    if lines == 1:
        return 1, vehicle, "long"
    return 2, vehicle, "motorbike" if vehicle is VehicleClass.motorbike else "short"


def _draw_plate(
    lines: tuple[str, ...],
    size: tuple[int, int],
    colour: PlateColour,
    red_series: str | None,
    font_path: Path,
) -> npt.NDArray[np.uint8]:
    """The flat plate, BASE_H pixels high, BGR."""
    w_mm, h_mm = size
    h = BASE_H
    w = round(h * w_mm / h_mm)
    background, ink = INK[colour]
    plate = PilImage.new("RGB", (w, h), background[::-1])
    draw = ImageDraw.Draw(plate)
    border = max(2, h // 40)
    draw.rounded_rectangle(
        (border, border, w - border, h - border), radius=h // 14, outline=ink[::-1], width=border
    )
    line_h = 0.40 * h if len(lines) == 2 else 0.72 * h
    tops = [0.08 * h, 0.53 * h] if len(lines) == 2 else [0.14 * h]
    for text, top in zip(lines, tops, strict=True):
        colour_of = RED_INK if red_series and red_series in text else ink
        glyphs = _text_image(text, font_path, colour_of, background)
        target_w = min(0.88 * w, glyphs.width * line_h / glyphs.height * 1.15)
        glyphs = glyphs.resize((round(target_w), round(line_h)), PilImage.Resampling.LANCZOS)
        plate.paste(glyphs, (round((w - target_w) / 2), round(top)))
    pixels: npt.NDArray[np.uint8] = np.asarray(plate, np.uint8)[:, :, ::-1].copy()
    return pixels


def _text_image(
    text: str, font_path: Path, ink: tuple[int, int, int], background: tuple[int, int, int]
) -> PilImage.Image:
    font = ImageFont.truetype(str(font_path), 120)
    left, top, right, bottom = font.getbbox(text)
    size = (int(right - left) + 4, int(bottom - top) + 4)
    image = PilImage.new("RGB", size, background[::-1])
    ImageDraw.Draw(image).text((2 - left, 2 - top), text, font=font, fill=ink[::-1])
    return image


def _turn(w: int, h: int, yaw: float, pitch: float, roll: float) -> npt.NDArray[np.float32]:
    """Where the plate's corners land when it is turned in 3-D and seen by a pinhole camera."""
    ry, rp, rr = (math.radians(a) for a in (yaw, pitch, roll))
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(rp), -math.sin(rp)], [0, math.sin(rp), math.cos(rp)]])
    rot_z = np.array([[math.cos(rr), -math.sin(rr), 0], [math.sin(rr), math.cos(rr), 0], [0, 0, 1]])
    corners = np.array(
        [[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]]
    )
    turned = corners @ (rot_z @ rot_x @ rot_y).T
    focal = 2.5 * max(w, h)
    z = turned[:, 2] + focal
    return np.stack([turned[:, 0] * focal / z, turned[:, 1] * focal / z], axis=1).astype(np.float32)


def _backdrop(width: int, height: int, rng: random.Random) -> npt.NDArray[np.uint8]:
    """A vehicle-like crop: a tinted gradient, some panels and noise."""
    base = np.array([rng.randint(20, 200) for _ in range(3)], dtype=np.float32)
    ramp = np.linspace(0.6, 1.2, height, dtype=np.float32)[:, None, None]
    column = np.clip(base[None, None, :] * ramp, 0, 255).astype(np.uint8)
    image = np.ascontiguousarray(np.repeat(column, width, axis=1))
    for _ in range(rng.randint(1, 4)):
        x1, y1 = rng.randrange(width), rng.randrange(height)
        x2, y2 = x1 + rng.randint(10, width), y1 + rng.randint(5, max(6, height // 3))
        shade = tuple(rng.randint(0, 255) for _ in range(3))
        cv2.rectangle(image, (x1, y1), (x2, y2), shade, -1)
    return np.asarray(image, np.uint8)


def synth_plate(index: int, *, seed: int = 0, grammar: Grammar | None = None) -> SynthPlate:
    """The `index`-th synthetic plate of a seed (shapes and layouts cycle through the grammar)."""
    grammar = grammar or load_grammar()
    rng = random.Random(f"{seed}:{index}")
    shape = grammar.spec.shapes[index % len(grammar.spec.shapes)].name
    colour = _colour(shape, rng)
    text = random_text(grammar, shape, colour, rng)
    lines, _, _ = _layout(grammar, shape, rng)
    turn = (
        rng.uniform(-1, 1) * MAX_TURN_DEG,
        rng.uniform(-1, 1) * MAX_TURN_DEG * 0.75,
        rng.uniform(-1, 1) * MAX_TURN_DEG * 0.5,
    )
    height = round(math.exp(rng.uniform(math.log(MIN_PLATE_H), math.log(MAX_PLATE_H))))
    return render_plate(
        text,
        shape=shape,
        lines=lines,
        colour=colour,
        height=height,
        turn=turn,
        blur=rng.uniform(0.0, 1.0),
        glare=rng.random() < 0.3,
        rng=rng,
        grammar=grammar,
    )


def render_plate(
    text: str,
    *,
    shape: str,
    lines: int,
    colour: PlateColour = PlateColour.white,
    height: int = 80,
    turn: tuple[float, float, float] = (0.0, 0.0, 0.0),
    blur: float = 0.0,
    glare: bool = False,
    rng: random.Random | None = None,
    grammar: Grammar | None = None,
) -> SynthPlate:
    """One plate of a given text and look, in a vehicle-like crop."""
    font = find_font()
    if font is None:
        raise FileNotFoundError("no DejaVu Sans Condensed Bold: install fonts-dejavu-core")
    grammar = grammar or load_grammar()
    rng = rng or random.Random(text)
    spec = grammar.shape(shape)
    vehicle = VehicleClass(spec.vehicles[0])
    size = "long" if lines == 1 else "motorbike" if vehicle is VehicleClass.motorbike else "short"
    parse = grammar.match(text, lines=lines, shapes=[shape])
    assert parse is not None, text
    printed = grammar.printed(parse, lines)
    rows = tuple(printed.split(" ", 1)) if lines == 2 else (printed,)
    red = parse.group("series") if shape in ("foreign", "economic_zone") else None
    flat = _draw_plate(rows, SIZES[size], colour, red, font)
    # Turned at twice the final size (enough to anti-alias), not at the drawing size.
    pre = min(1.0, 2.5 * height / flat.shape[0])
    if pre < 1.0:
        flat = np.asarray(cv2.resize(flat, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA))
    image, box = _compose(flat, turn, rng)
    image, box = _shrink(image, box, height)
    if glare:
        _add_glare(image, box, rng)
    image = _degrade(image, blur, rng)
    return SynthPlate(image, text, rows, shape, colour, vehicle, box, height, turn, blur, glare)


def _compose(
    flat: npt.NDArray[np.uint8], turn: tuple[float, float, float], rng: random.Random
) -> tuple[npt.NDArray[np.uint8], tuple[float, float, float, float]]:
    h, w = flat.shape[:2]
    dst = _turn(w, h, *turn)
    margin_x = w * rng.uniform(0.3, 1.0)
    margin_y = h * rng.uniform(0.3, 1.2)
    dst += np.array([margin_x - dst[:, 0].min(), margin_y - dst[:, 1].min()], np.float32)
    out_w = int(dst[:, 0].max() + w * rng.uniform(0.3, 1.0))
    out_h = int(dst[:, 1].max() + h * rng.uniform(0.5, 2.0))
    backdrop = _backdrop(out_w, out_h, rng)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(flat, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (out_w, out_h))
    image = np.where(mask[:, :, None] > 127, warped, backdrop)
    box = (
        float(dst[:, 0].min()),
        float(dst[:, 1].min()),
        float(dst[:, 0].max()),
        float(dst[:, 1].max()),
    )
    return image.astype(np.uint8), box


def _shrink(
    image: npt.NDArray[np.uint8], box: tuple[float, float, float, float], plate_h: int
) -> tuple[npt.NDArray[np.uint8], tuple[float, float, float, float]]:
    scale = plate_h / (box[3] - box[1])
    size = (max(8, round(image.shape[1] * scale)), max(8, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.uint8), tuple(v * scale for v in box)  # type: ignore[return-value]


def _add_glare(image: npt.NDArray[np.uint8], box: tuple[float, ...], rng: random.Random) -> None:
    """A bright spot on the plate that leaves its characters legible."""
    x1, y1, x2, y2 = box
    cx, cy = rng.uniform(x1, x2), rng.uniform(y1, y2)
    radius = (y2 - y1) * rng.uniform(0.15, 0.4)
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * rng.uniform(0.3, 0.6)
    blended = image * (1 - spot[:, :, None]) + 255 * spot[:, :, None]
    image[:] = np.clip(blended, 0, 255).astype(np.uint8)


def _degrade(
    image: npt.NDArray[np.uint8], blur: float, rng: random.Random
) -> npt.NDArray[np.uint8]:
    """Blur, sensor noise and JPEG compression."""
    if blur > 0.05:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), blur), np.uint8)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(0, 5), image.shape)
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(60, 95)])
    assert ok
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)


def synth_set(count: int, *, seed: int = 0) -> Iterator[SynthPlate]:
    """`count` synthetic plates (every shape, layout and colour in turn)."""
    grammar = load_grammar()
    for index in range(count):
        yield synth_plate(index, seed=seed, grammar=grammar)
