"""What the technician sees: rich tables and messages on stderr, or one JSON object on stdout.

With `--json` stdout carries exactly one JSON document (scripts parse it) and nothing else;
messages, spinners and tables go to stderr either way.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from provisioning.checks.base import CheckResult, Status
from provisioning.errors import ProvisionError

console = Console(stderr=True, highlight=False)

_STYLE = {Status.ok: "green", Status.warn: "yellow", Status.fail: "bold red", Status.skip: "dim"}
_WORD = {
    Status.ok: "đạt / ok",
    Status.warn: "lưu ý / warn",
    Status.fail: "lỗi / FAIL",
    Status.skip: "bỏ qua / skip",
}


def emit_json(document: dict[str, Any]) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def step(message: str, quiet: bool) -> Iterator[None]:
    """A spinner while a long step runs (none with --json)."""
    if quiet:
        yield
        return
    with console.status(message):
        yield


def error(exc: ProvisionError, as_json: bool) -> int:
    """Report a failed command; returns its exit code."""
    if as_json:
        emit_json({"ok": False, "exit_code": exc.code, "error": exc.message, "fix": exc.fix})
    console.print(Text.assemble(("Lỗi / error: ", "bold red"), exc.message), soft_wrap=True)
    if exc.fix:
        console.print(Text.assemble(("Cách sửa / fix: ", "yellow"), exc.fix), soft_wrap=True)
    return exc.code


def summary(title: str, fields: dict[str, Any]) -> None:
    """A short key/value table after a successful step."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in fields.items():
        if key == "warnings":
            continue
        table.add_row(key, Text("—" if value is None else str(value)))
    console.print(table)
    for warning in fields.get("warnings") or []:
        console.print(Text.assemble(("Lưu ý / note: ", "yellow"), warning), soft_wrap=True)


def check_table(results: list[CheckResult]) -> None:
    """The pass/fail table of `provision check`, with the fix beside each failure."""
    table = Table(title="Kiểm tra thiết bị / box check", title_justify="left", show_lines=True)
    table.add_column("Kiểm tra / check", style="bold")
    table.add_column("Kết quả / result")
    table.add_column("Chi tiết / detail", overflow="fold")
    table.add_column("Cách sửa / fix", overflow="fold")
    for result in results:
        word = Text(_WORD[result.status], style=_STYLE[result.status])
        table.add_row(result.title, word, Text(result.detail), Text(result.fix))
    console.print(table)
