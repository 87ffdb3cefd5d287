"""What a command that is not built yet says: plainly, and with a non-zero exit."""

from __future__ import annotations

import sys

EXIT_NOT_IMPLEMENTED = 69  # EX_UNAVAILABLE from sysexits.h


def not_implemented(argv: list[str], *, name: str = "", issue: int | None = None) -> int:
    """Say that the command is not implemented yet and fail."""
    where = f" (issue #{issue})" if issue else ""
    print(
        f"trafficwatch {name}: chưa được triển khai / not yet implemented{where}",
        file=sys.stderr,
    )
    return EXIT_NOT_IMPLEMENTED
