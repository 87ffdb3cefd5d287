"""The agent's recent log, kept in memory for the `log_upload` command (bounded)."""

from __future__ import annotations

import gzip
import logging
import threading
from collections import deque
from datetime import datetime

from protocol.commands import LogFile, LogUploadArgs

DEFAULT_KEEP_BYTES = 4 * 1024 * 1024
GZIP_ABOVE = 16 * 1024  # small logs travel as plain text, readable as they are
LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


class RecentLog(logging.Handler):
    """A logging handler that keeps the newest records up to `keep_bytes` of text."""

    def __init__(self, keep_bytes: int = DEFAULT_KEEP_BYTES) -> None:
        super().__init__()
        self.keep_bytes = keep_bytes
        self._lines: deque[tuple[float, str]] = deque()
        self._size = 0
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one formatted record, dropping the oldest beyond the bound."""
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        with self._guard:
            self._lines.append((record.created, line))
            self._size += len(line.encode("utf-8"))
            while self._size > self.keep_bytes and len(self._lines) > 1:
                _, old = self._lines.popleft()
                self._size -= len(old.encode("utf-8"))

    def text_since(self, since: datetime | None) -> str:
        """Every kept line logged at or after `since` (all when None)."""
        floor = since.timestamp() if since is not None else float("-inf")
        with self._guard:
            return "".join(line for created, line in self._lines if created >= floor)

    def upload(self, args: LogUploadArgs, device_id: str, now: datetime) -> LogFile:
        """The log file for a `log_upload` command: the newest `max_bytes`, gzip when large."""
        data = self.text_since(args.since).encode("utf-8")
        truncated = len(data) > args.max_bytes
        if truncated:
            data = data[len(data) - args.max_bytes :]
            data = data[data.find(b"\n") + 1 :] or data  # start on a whole line
        name = f"{device_id}-{now:%Y%m%dT%H%M%SZ}.log"
        packed = gzip.compress(data, mtime=0) if len(data) > GZIP_ABOVE else data
        if len(packed) < len(data):
            return LogFile(
                filename=name + ".gz", mime="application/gzip", data=packed, truncated=truncated
            )
        return LogFile(filename=name, mime="text/plain", data=data, truncated=truncated)
