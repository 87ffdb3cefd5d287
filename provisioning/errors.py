"""Exit codes of `trafficwatch provision` and the one error its commands raise.

The codes follow sysexits.h where one fits, so scripts can tell "fix the box" from "try later":
0 done; 1 a check failed; 2 bad arguments or an invalid config (as `agent run`); 69 the server,
camera or broker could not be reached; 73 a file could not be written; 77 refused (token used or
expired, key revoked, not root); 78 the box is not enrolled or its config is missing.
"""

from __future__ import annotations

OK = 0
CHECK_FAILED = 1
USAGE = 2
UNAVAILABLE = 69
SOFTWARE = 70
CANT_CREATE = 73
REFUSED = 77
NOT_CONFIGURED = 78


class ProvisionError(Exception):
    """A step that cannot be done: what (in both languages), how to fix it, and the exit code."""

    def __init__(self, code: int, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix
