"""Entry point of the `trafficwatch` command: walks the command tree and runs one leaf lazily."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from trafficwatch import __version__
from trafficwatch.commands import COMMANDS, Command

USAGE = "usage: trafficwatch <command> [<subcommand> ...] [options]"


def _children(prefix: tuple[str, ...]) -> dict[str, list[Command]]:
    """Group the commands below `prefix` by their next word."""
    groups: dict[str, list[Command]] = {}
    for cmd in COMMANDS:
        if cmd.path[: len(prefix)] == prefix and len(cmd.path) > len(prefix):
            groups.setdefault(cmd.path[len(prefix)], []).append(cmd)
    return groups


def _print_help(prefix: tuple[str, ...], out: TextIO | None = None) -> None:
    """List the commands below `prefix`, one per line."""
    lines = [USAGE if not prefix else f"usage: trafficwatch {' '.join(prefix)} <subcommand>", ""]
    for cmd in COMMANDS:
        if cmd.path[: len(prefix)] == prefix and len(cmd.path) > len(prefix):
            lines.append(f"  {' '.join(cmd.path):<28} {cmd.help}")
    print("\n".join(lines), file=out or sys.stdout)


def _load(target: str) -> Callable[[list[str]], int]:
    """Import "module:function" only now, so each side's dependencies load on demand."""
    module_name, _, func_name = target.partition(":")
    module = importlib.import_module(module_name)
    func: Callable[[list[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Run `trafficwatch` with `argv` (default: the process arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        print(f"trafficwatch {__version__}")
        return 0
    prefix: tuple[str, ...] = ()
    while True:
        leaf = next((c for c in COMMANDS if c.path == prefix), None)
        if leaf is not None:
            return _run(leaf, args)
        groups = _children(prefix)
        if not args or args[0] in ("-h", "--help", "help"):
            _print_help(prefix)
            return 0 if args else 2
        if args[0] not in groups:
            print(f"trafficwatch: lệnh không rõ / unknown command: {args[0]!r}", file=sys.stderr)
            _print_help(prefix, sys.stderr)
            return 2
        prefix, args = (*prefix, args[0]), args[1:]


def _run(cmd: Command, args: list[str]) -> int:
    """Run one leaf command."""
    try:
        func = _load(cmd.target)
    except ImportError as exc:
        print(
            f"trafficwatch {' '.join(cmd.path)}: thiếu gói / missing dependency: "
            f"{exc.name or exc}. Cài / install: pip install 'trafficwatch[server]' (server) "
            "or 'trafficwatch[edge]' (box)",
            file=sys.stderr,
        )
        return 2
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
