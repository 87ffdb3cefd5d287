"""Muxing packets into a fast-start MP4, and the checks that read a clip back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from edge_agent.capture.base import EncodedPacket, StreamInfo
from edge_agent.evidence.clip import Clip, moov_before_mdat, mux_mp4, probe_clip, remux_check
from tests.edge_agent.capture.media import encode, moving_square, sample_video
from tests.edge_agent.evidence.footage import FPS, at, read_h264, source_packets


@pytest.fixture(scope="module")
def footage() -> tuple[Path, StreamInfo, list[EncodedPacket]]:
    """The shared sample's packets, as `AvSource` demuxes them."""
    path = sample_video()
    info, frames = read_h264(path)
    return path, info, [p for f in frames for p in f.packets]


def remuxed(info: StreamInfo, packets: list[EncodedPacket], first: int, count: int) -> Clip:
    data = mux_mp4(packets[first : first + count], width=768, height=432, extradata=info.extradata)
    start = at(first / FPS)
    end = start + timedelta(seconds=(count - 1) / FPS)
    return Clip(data, start, end, frames=count, width=768, height=432, remuxed=True)


def test_a_muxed_clip_starts_at_zero_keeps_every_packet_and_plays_while_loading(
    footage: tuple[Path, StreamInfo, list[EncodedPacket]],
) -> None:
    path, info, packets = footage
    clip = remuxed(info, packets, 120, 75)  # from the keyframe at 9.6 s, 6 s

    probe = probe_clip(clip.data)
    assert probe.fast_start and moov_before_mdat(clip.data)
    assert probe.frames == 75 and probe.duration_s == pytest.approx(74 / FPS)
    assert probe.packets == tuple(source_packets(path)[120:195])
    assert remux_check(clip, path)


def test_remux_check_refuses_what_is_not_the_files_packets(
    footage: tuple[Path, StreamInfo, list[EncodedPacket]], tmp_path: Path
) -> None:
    path, info, packets = footage
    clip = remuxed(info, packets, 60, 60)
    other = tmp_path / "square.mp4"
    other.write_bytes(encode(moving_square(50)))
    reordered = dataclasses.replace(
        clip,
        data=mux_mp4(
            packets[60:61] + packets[62:120], width=768, height=432, extradata=info.extradata
        ),
        frames=59,
    )

    assert remux_check(clip, path)
    assert not remux_check(clip, other)  # another file
    assert not remux_check(reordered, path)  # a packet missing: not a run of the source's
    assert not remux_check(dataclasses.replace(clip, remuxed=False), path)
    assert not remux_check(dataclasses.replace(clip, frames=61), path)  # decodes to other count


def test_moov_after_mdat_is_not_fast_start() -> None:
    plain = encode(moving_square(10))  # an MP4 written without +faststart

    assert not moov_before_mdat(plain)
    assert not moov_before_mdat(b"")
    assert not probe_clip(plain).fast_start


def test_a_clip_must_start_with_a_keyframe(
    footage: tuple[Path, StreamInfo, list[EncodedPacket]],
) -> None:
    _, info, packets = footage
    with pytest.raises(ValueError, match="keyframe"):
        mux_mp4(packets[1:10], width=768, height=432, extradata=info.extradata)
    with pytest.raises(ValueError, match="keyframe"):
        mux_mp4([], width=768, height=432, extradata=info.extradata)
