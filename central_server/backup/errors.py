"""What can stop a backup or a restore, each with the exit code the command returns."""

from __future__ import annotations

# Exit codes of `trafficwatch server backup` and `restore` (docs/operate-backup.md).
EXIT_OK = 0
EXIT_INCOMPLETE = 1  # backup written with warnings / restore done but a check failed
EXIT_ERROR = 2  # nothing done: bad arguments, tools missing, database unreachable
EXIT_DAMAGED = 3  # restore refused: the backup does not match its manifest
EXIT_NOT_EMPTY = 4  # restore refused: the target already holds data (use --force)


class BackupError(Exception):
    """A backup or restore could not run; nothing was written."""

    exit_code = EXIT_ERROR


class BackupDamagedError(BackupError):
    """The backup does not match its manifest (a changed, missing or extra byte)."""

    exit_code = EXIT_DAMAGED

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
        self.problems = problems


class TargetNotEmptyError(BackupError):
    """The restore target already holds a database, evidence or keys."""

    exit_code = EXIT_NOT_EMPTY

    def __init__(self, found: list[str]) -> None:
        super().__init__("; ".join(found))
        self.found = found
