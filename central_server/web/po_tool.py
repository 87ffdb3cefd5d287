"""Keep the catalogues in step with the code: `python -m central_server.web.po_tool [--check]`.

Extracts every msgid (`_()`, `gettext()`, `N_()` in the web package's Python; `_()` and
`{% trans %}` in its templates) plus the label tables the filters translate (behaviours,
states, roles, vehicle classes), then rewrites `locales/{vi,en}/LC_MESSAGES/messages.po`
keeping every translation already there. `--check` changes nothing and exits 1 when a msgid is
missing from a catalogue or has no English translation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from central_server.catalogue.service import BEHAVIOUR_LABELS_VI
from central_server.roles import ROLE_LABELS_VI
from central_server.web.formatting import VEHICLE_LABELS_VI
from central_server.web.i18n import DOMAIN, LANGS
from central_server.workflow.states import STATUS_LABELS_VI

WEB_DIR = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
HEADER = (
    "# The staff web UI's messages. Vietnamese is the source language: every msgid is the\n"
    "# Vietnamese text (the vi catalogue stays untranslated), the en catalogue translates it.\n"
    "# Update with `python -m central_server.web.po_tool`."
)
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def _label_tables() -> Iterator[str]:
    for table in (BEHAVIOUR_LABELS_VI, STATUS_LABELS_VI, ROLE_LABELS_VI, VEHICLE_LABELS_VI):
        yield from table.values()


def extracted() -> dict[str, list[str]]:
    """Every msgid the web UI uses, with where it is used."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        WEB_DIR, METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    for label in _label_tables():
        found.setdefault(label, []).append("labels")
    return found


def po_path(lang: str) -> Path:
    """The `.po` file of `lang`."""
    return WEB_DIR / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    """The catalogue of `lang` as stored."""
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def problems() -> list[str]:
    """What `--check` complains about: missing msgids, English left untranslated."""
    found = extracted()
    issues = []
    for lang in LANGS:
        catalog = read_catalog(lang)
        for msgid in sorted(found):
            entry = catalog.get(msgid)
            if entry is None:
                issues.append(f"{lang}: missing {msgid!r} ({found[msgid][0]})")
            elif lang == "en" and not entry.string:
                issues.append(f"en: untranslated {msgid!r} ({found[msgid][0]})")
    return issues


def update() -> None:
    """Rewrite both catalogues with every current msgid, keeping existing translations."""
    found = extracted()
    for lang in LANGS:
        old = read_catalog(lang) if po_path(lang).exists() else Catalog(locale=lang)
        new = Catalog(
            locale=lang,
            domain=DOMAIN,
            header_comment=HEADER,
            project="trafficwatch",
            version="1",
            creation_date=old.creation_date,
            revision_date=old.revision_date,
            last_translator="trafficwatch developers",
            language_team=f"{lang} <trafficwatch>",
            fuzzy=False,
        )
        for msgid in sorted(found):
            entry = old.get(msgid)
            new.add(msgid, entry.string if entry is not None else "", locations=())
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as handle:
            write_po(handle, new, width=100, omit_header=False, sort_output=True)


def main(argv: list[str] | None = None) -> int:
    """Update the catalogues, or check them with `--check`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report problems, change nothing")
    args = parser.parse_args(argv)
    if not args.check:
        update()
    issues = problems()
    for issue in issues:
        print(issue, file=sys.stderr)  # noqa: T201 - a developer's command
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
