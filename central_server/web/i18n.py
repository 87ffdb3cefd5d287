"""Gettext catalogues (Babel): Vietnamese is the source language, English the translation.

Templates and Python code mark Vietnamese text with `_("...")`; the English `.po` file translates
it. The `.po` files are compiled in memory when first used (no binary `.mo` is committed), and a
missing translation falls back to the Vietnamese text.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
from importlib import resources
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request

logger = logging.getLogger(__name__)

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
LANG_COOKIE = "tw_lang"
LANG_PARAM = "lang"
DOMAIN = "messages"


def _po_text(lang: Lang) -> bytes:
    path = resources.files("central_server.web").joinpath(f"locales/{lang}/LC_MESSAGES/{DOMAIN}.po")
    return path.read_bytes()


@functools.cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (read and compiled once per process)."""
    catalog = read_po(io.BytesIO(_po_text(lang)), locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    logger.debug("catalogue %s: %d messages", lang, len(catalog))
    return compiled


def as_lang(value: str | None) -> Lang | None:
    """`value` as a supported language, or None."""
    if value == "vi":
        return "vi"
    if value == "en":
        return "en"
    return None


def request_lang(request: Request) -> Lang:
    """The page language: `?lang=` first, then the cookie, then Vietnamese."""
    return (
        as_lang(request.query_params.get(LANG_PARAM))
        or as_lang(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LANG
    )


def translate(lang: Lang, message: str) -> str:
    """`message` (Vietnamese) in `lang`."""
    return translations(lang).gettext(message)


def pick(lang: Lang, vi: str, en: str) -> str:
    """One of two texts already in both languages (AppError messages, reason labels)."""
    return en if lang == "en" else vi


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for the marker
    """Mark a Vietnamese msgid for extraction without translating it here (done at render)."""
    return message
