"""What a command answers with: a snapshot of the newest frame, the recent log."""

from __future__ import annotations

import gzip
import logging
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from edge_agent.capture.base import Frame
from edge_agent.remote.frames import LatestFrame, SnapshotError, snapshot
from edge_agent.remote.logs import GZIP_ABOVE, RecentLog
from protocol.commands import LogUploadArgs, SnapshotArgs


def frame(age_s: float = 0.0) -> Frame:
    image = np.full((1080, 1920, 3), 120, np.uint8)
    return Frame(
        image=image,
        seq=1,
        captured_at=datetime.now(timezone.utc),
        monotonic=time.monotonic() - age_s,
    )


def test_a_snapshot_is_the_newest_frame_scaled_down() -> None:
    tap = LatestFrame()
    tap(frame())
    image = snapshot(tap.get(), SnapshotArgs(max_width=960, jpeg_quality=70), max_age_s=5)
    assert (image.width, image.height) == (960, 540)
    assert image.data[:2] == b"\xff\xd8"


def test_no_snapshot_without_a_recent_frame() -> None:
    with pytest.raises(SnapshotError, match="no frame"):
        snapshot(None, SnapshotArgs(), max_age_s=5)
    with pytest.raises(SnapshotError, match="s old"):
        snapshot(frame(age_s=30), SnapshotArgs(), max_age_s=5)


def log_with(lines: int, keep_bytes: int = 10**6) -> RecentLog:
    log = RecentLog(keep_bytes=keep_bytes)
    logger = logging.getLogger("tw-test-remote-log")
    logger.propagate = False
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    try:
        for i in range(lines):
            logger.info("dòng %05d của nhật ký / log line", i)
    finally:
        logger.removeHandler(log)
    return log


def test_a_small_log_travels_as_text() -> None:
    now = datetime.now(timezone.utc)
    upload = log_with(3).upload(LogUploadArgs(), "cam-01", now)
    assert upload.mime == "text/plain" and not upload.truncated
    assert upload.data.decode().count("\n") == 3 and "dòng 00002" in upload.data.decode()
    later = log_with(3).upload(LogUploadArgs(since=now + timedelta(hours=1)), "cam-01", now)
    assert later.data == b""


def test_a_large_log_is_cut_to_the_newest_whole_lines_and_gzipped() -> None:
    upload = log_with(5000).upload(
        LogUploadArgs(max_bytes=50_000), "cam-01", datetime.now(timezone.utc)
    )
    assert upload.mime == "application/gzip" and upload.truncated
    text = gzip.decompress(upload.data)
    assert len(text) <= 50_000 and len(text) > GZIP_ABOVE
    assert text.endswith(b"log line\n") and b"04999" in text and b"00000" not in text
    assert text.split(b"\n")[0].split(b" ")[0].startswith(b"20")  # starts on a whole line


def test_the_kept_log_is_bounded() -> None:
    log = log_with(5000, keep_bytes=20_000)
    assert 15_000 < len(log.text_since(None).encode()) <= 20_000
