"""Vietnamese licence-plate reading and grammar, importable by the box and the server (issue #7).

`read_plates(image, hint=PlateHint(...))` returns ranked `PlateReading`s; `load_grammar()` gives
the §5 grammar (compact form, validation, printed form) without loading any model. The reader
and its models are imported on first use, so grammar users do not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plates.grammar import Grammar, Parse, load_grammar
from plates.reading import (
    AUTO_ACCEPT_CONFIDENCE,
    READER_NAME,
    READER_VERSION,
    ModelRef,
    PlateHint,
    PlateReading,
)

if TYPE_CHECKING:
    from plates.image import PlateImageError, decode_image
    from plates.reader import PlateReader, ReaderSettings, default_reader, read_plates

_LAZY = {
    "PlateReader": "plates.reader",
    "ReaderSettings": "plates.reader",
    "default_reader": "plates.reader",
    "read_plates": "plates.reader",
    "PlateImageError": "plates.image",
    "decode_image": "plates.image",
}

__all__ = [
    "AUTO_ACCEPT_CONFIDENCE",
    "READER_NAME",
    "READER_VERSION",
    "Grammar",
    "ModelRef",
    "Parse",
    "PlateHint",
    "PlateImageError",
    "PlateReader",
    "PlateReading",
    "ReaderSettings",
    "decode_image",
    "default_reader",
    "load_grammar",
    "read_plates",
]


def __getattr__(name: str) -> Any:
    """Import the reader (OpenCV, ONNX Runtime) only when it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plates' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
