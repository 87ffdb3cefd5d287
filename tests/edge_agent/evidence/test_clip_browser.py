"""A clip plays in a browser: Debian's Chromium (the centre's review UI) plays it to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.evidence.clip import Clip
from edge_agent.evidence.segments import SegmentBuffer
from tests.edge_agent.capture.media import sample_video
from tests.edge_agent.evidence.footage import as_raw, feed_with_violation, read_h264

PLAY = """() => new Promise(done => {
  const video = document.getElementById('clip');
  video.onerror = () => done({error: video.error ? video.error.code : -1});
  video.onended = () => done({
    width: video.videoWidth,
    height: video.videoHeight,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
  });
  video.playbackRate = 8;
  video.play().catch(e => done({error: String(e)}));
})"""


def play(browser: Any, clip: Clip, folder: Path) -> dict[str, Any]:
    """Play the clip in a <video> element to its end; what the browser reports."""
    (folder / "clip.mp4").write_bytes(clip.data)
    (folder / "index.html").write_text('<video id="clip" src="clip.mp4" muted></video>')
    page = browser.new_page()
    try:
        page.goto((folder / "index.html").as_uri())
        result: dict[str, Any] = page.evaluate(PLAY)
    finally:
        page.close()
    return result


@pytest.mark.parametrize("raw", [False, True], ids=["remuxed", "encoded"])
def test_a_clip_plays_to_the_end_in_chromium(browser: Any, tmp_path: Path, raw: bool) -> None:
    info, frames = read_h264(sample_video())
    if raw:
        info, frames = as_raw(info, frames[:150])
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info)
    clip = feed_with_violation(buffer, frames[:150], violation_s=6.0, paced=raw)
    buffer.close()
    assert clip is not None and clip.remuxed is not raw

    shown = play(browser, clip, tmp_path)

    assert "error" not in shown
    assert (shown["width"], shown["height"]) == (768, 432)
    assert shown["frames"] == clip.frames
