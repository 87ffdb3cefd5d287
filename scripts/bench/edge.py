#!/usr/bin/env python3
"""Edge benchmark: does the whole agent keep up, and what does each stage cost?

Footage: `../shared/data/video/car-detection.mp4` (CC BY 4.0, Intel IoT DevKit sample-videos;
768×432, 12.5 fps, 30 s) scaled up to 1920×1080 and interpolated to 25 fps (each in-between frame
blends its neighbours), encoded H.264 into a temporary file: a camera-like 1080p25 stream.

- pipeline_ratio: frames/s of the whole agent (capture → detect → track → rules in their threads,
  publisher and heartbeat running) detecting every frame of the first `--frames` frames, replayed
  as fast as possible, ÷ frames/s of decode + letterbox + inference alone, one after the other in
  one thread, on the same frames with the same inference threads. Target ≥ 0.8.
- realtime_factor: frames that went through every stage ÷ frames in the clip, replaying the whole
  clip at real speed (25 fps), detection on every 2nd frame, motion gate off (the worst case).
  Target 1.0 with dropped_frames 0.
- peak_rss_mb: peak resident memory of that real-time agent process (no evidence buffer yet).
  Target ≤ 350.
- vehicle_recall, boxes_per_frame: `_recall.py` on `../shared/data/vn_plates` (all 48 frames) at
  the detector's default thresholds. Target vehicle_recall ≥ 0.90.
- stage_ms: median wall ms a frame of decode, letterbox (preprocess), inference and postprocess
  (measured alone), and mean wall ms a frame of the agent's track and rules stages.

Each measurement runs in a process of its own, so memory and threads do not leak between them.
Prints readable lines, then one JSON line; figures for other detectors sit under "detectors".
Timing on a shared machine varies: figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # before this folder: its protocol.py shadows the package
sys.path.insert(1, str(Path(__file__).resolve().parent))

WIDTH, HEIGHT, FPS = 1920, 1080, 25


def shared_dir(kind: str) -> Path:
    """`$TW_SHARED_DATA` / `$TW_SHARED_MODELS`, else `../shared/<kind>` beside the repository."""
    env = os.environ.get(f"TW_SHARED_{kind.upper()}")
    return Path(env) if env else ROOT.parent / "shared" / kind


def make_clip(source: Path, dest: Path) -> Path:
    """The 1080p25 H.264 clip made from `source` (cached: made once per temp folder)."""
    if dest.is_file():
        return dest
    import av
    import cv2

    partial = dest.with_suffix(".partial.mp4")
    with av.open(str(source)) as inp, av.open(str(partial), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "g": "50"}
        previous = None
        for frame in inp.decode(video=0):
            image = cv2.resize(frame.to_ndarray(format="bgr24"), (WIDTH, HEIGHT))
            pictures = [image]
            if previous is not None:  # 12.5 → 25 fps: a blend of the neighbours in between
                pictures.insert(0, cv2.addWeighted(previous, 0.5, image, 0.5, 0))
            for picture in pictures:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")))
            previous = image
        out.mux(stream.encode(None))
    partial.rename(dest)
    return dest


def models_folder(requested: Path | None, scratch: Path) -> Path:
    """Installed models, or a scratch install from the shared copies."""
    from edge_agent.models_install import install
    from edge_agent.models_store import default_models_dir, load_manifest, verify_installed

    manifest = load_manifest()
    folder = requested or default_models_dir()
    if not verify_installed(manifest, folder, [m.name for m in manifest.models])[1]:
        return folder
    install(manifest, scratch, source_dir=shared_dir("models"), stream=None)
    return scratch


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- child: decode + letterbox + inference alone ---


def child_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """Time the stages one after the other on the first `frames` frames; then recall."""
    import numpy as np

    from edge_agent.capture.av_source import AvSource
    from edge_agent.detect.factory import create_detector

    detector = create_detector(args.detector, models_dir=args.models_dir, threads=args.threads)
    detector.detect(np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8))  # warm-up: XNNPACK buffers
    source = AvSource(str(args.clip), live=False)
    source.open()
    laps: dict[str, list[float]] = {"decode": [], "letterbox": [], "infer": [], "postprocess": []}
    for _ in range(args.frames):
        t0 = time.perf_counter()
        frame = source.read()
        if frame is None:
            break
        t1 = time.perf_counter()
        tensor, meta = detector.preprocess(frame.image)
        t2 = time.perf_counter()
        raw = detector.infer(tensor)
        t3 = time.perf_counter()
        detector.postprocess(raw, meta)
        t4 = time.perf_counter()
        for key, seconds in zip(laps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            laps[key].append(seconds)
    source.close()
    count = len(laps["decode"])
    baseline_s = sum(sum(laps[k]) for k in ("decode", "letterbox", "infer"))
    result: dict[str, Any] = {
        "frames": count,
        "fps": count / baseline_s,
        "stage_ms": {k: round(statistics.median(v) * 1e3, 2) for k, v in laps.items()},
    }
    result["recall"] = recall(detector)
    detector.close()
    return result


def recall(detector: Any) -> dict[str, Any] | None:
    """vehicle_recall on vn_plates through helper 4a's `_recall.py`, where both exist."""
    data = shared_dir("data")
    try:
        from _recall import vehicle_recall
    except ImportError:
        return None
    if not (data / "vn_plates").is_dir():
        return None
    figures: dict[str, Any] = vehicle_recall(detector, data)
    return figures


# --- child: the whole agent ---


class Finish:
    """The rule consumer of the benchmark: notes when each frame got through; stops at `limit`."""

    name = "bench"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.first_capture: float | None = None
        self.last_done = 0.0
        self.frames = 0
        self.agent: Any = None

    def consume(self, tracked: Any) -> None:
        """Count the frame; ask the agent to stop once `limit` frames went through."""
        if self.first_capture is None:
            self.first_capture = tracked.frame.monotonic
        self.frames += 1
        self.last_done = time.monotonic()
        if self.limit and self.frames >= self.limit and self.agent is not None:
            self.agent.request_stop()

    def close(self) -> None:
        """Nothing to release."""


def agent_config(args: argparse.Namespace, work: Path) -> Any:
    """A site config for the benchmark: the clip as the camera, a scratch outbox."""
    from protocol.config import DeviceConfig
    from protocol.keys import generate_private_key, public_key_to_pem

    key_file = work / "server_public_key.pem"
    key_file.write_bytes(public_key_to_pem(generate_private_key().public_key()))
    host, _, port = args.mqtt.partition(":")
    return DeviceConfig.model_validate(
        {
            "device": {
                "id": f"bench-{os.getpid()}",
                "site_id": "bench",
                "camera_id": "north",
                "location": {"lat": 10.78, "lon": 106.7},
            },
            "camera": {"source": str(args.clip), "kind": "file", "realtime": args.realtime},
            "detector": {
                "model": args.detector,
                "threads": args.threads,
                "every_nth_frame": args.every_nth,
                "motion_gate": False,
            },
            "rules": {"enabled": []},
            "mqtt": {"host": host, "port": int(port or 1883), "topic_prefix": "twbench/v1"},
            "outbox": {"path": str(work / "outbox.sqlite3"), "min_free_bytes": 0},
            "keys": {"server_public_key": str(key_file)},
        }
    )


def child_agent(args: argparse.Namespace) -> dict[str, Any]:
    """Run the agent on the clip (the first `frames`, or all of it) and report its figures."""
    from edge_agent.agent.assemble import build_agent

    finish = Finish(args.frames)
    with tempfile.TemporaryDirectory(prefix="tw-bench-") as work:
        config = agent_config(args, Path(work))
        agent = build_agent(config, models_dir=args.models_dir, make_rules=lambda: finish)
        finish.agent = agent
        agent.start()
        agent.wait()
        snapshot = agent.snapshot()  # before the stop: the threads' CPU figures go with them
        agent.stop()
    figures = agent.stage_figures()
    cpu_ms = {
        n: round(1000 * snapshot.stage_cpu_s[n] / items, 2)
        for n, items in snapshot.stage_items.items()
        if items
    }
    span = finish.last_done - (finish.first_capture or finish.last_done)
    return {
        "frames_in": snapshot.frames_in,
        "frames_done": finish.frames,
        "dropped_frames": snapshot.dropped_frames,
        "fps": finish.frames / span if span > 0 else 0.0,
        "wall_ms": {n: round(f.wall_ms_per_item, 2) for n, f in figures.items()},
        "cpu_ms": cpu_ms,
        "detections": agent.detect_counters.runs,
        "boxes_per_detection": round(
            agent.detect_counters.boxes / max(agent.detect_counters.runs, 1), 2
        ),
        "peak_rss_mb": peak_rss_mb(),
        "exit_code": agent.exit_code,
    }


# --- the parent: run the children, sum up ---


def run_child(
    mode: str, detector: str, clip: Path, models: Path, args: argparse.Namespace, **extra: Any
) -> dict[str, Any]:
    """Run one measurement in a fresh process; its last stdout line is the JSON result."""
    command = [sys.executable, __file__, "--child", mode, "--detector", detector]
    command += ["--clip", str(clip), "--models-dir", str(models), "--threads", str(args.threads)]
    command += ["--mqtt", args.mqtt]
    for key, value in extra.items():
        flag = f"--{key.replace('_', '-')}"
        command += [flag] if value is True else [flag, str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{mode} run for {detector} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(detector: str, clip: Path, models: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure for one detector."""
    base = run_child("baseline", detector, clip, models, args, frames=args.frames)
    flat = run_child("agent", detector, clip, models, args, frames=args.frames, every_nth=1)
    live = run_child("agent", detector, clip, models, args, realtime=True, every_nth=2)
    total = clip_frames(clip)
    rec = base.get("recall") or {}
    stage_ms = dict(base["stage_ms"])
    stage_ms.update(track=flat["wall_ms"]["track"], rules=flat["wall_ms"]["rules"])
    return {
        "pipeline_ratio": round(flat["fps"] / base["fps"], 3),
        "realtime_factor": round(live["frames_done"] / total, 4),
        "dropped_frames": live["dropped_frames"],
        "peak_rss_mb": live["peak_rss_mb"],
        "vehicle_recall": rec.get("vehicle_recall"),
        "boxes_per_frame": rec.get("boxes_per_frame"),
        "stage_ms": stage_ms,
        "details": {
            "baseline_fps": round(base["fps"], 2),
            "agent_fps": round(flat["fps"], 2),
            "frames_timed": base["frames"],
            "clip_frames": total,
            "realtime_frames_done": live["frames_done"],
            "agent_cpu_ms": live["cpu_ms"],
            "agent_wall_ms": flat["wall_ms"],
            "peak_rss_mb_flat_out": flat["peak_rss_mb"],
            "video_boxes_per_detection": live["boxes_per_detection"],
        },
    }


def clip_frames(clip: Path) -> int:
    """Frames in the clip, counted by decoding (container counts can be off by one)."""
    import av

    with av.open(str(clip)) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def report(name: str, f: dict[str, Any]) -> None:
    """One readable paragraph per detector."""
    d = f["details"]
    print(
        f"{name}: pipeline_ratio {f['pipeline_ratio']} (agent {d['agent_fps']} fps vs decode + "
        f"letterbox + inference {d['baseline_fps']} fps, {d['frames_timed']} frames 1080p); "
        f"realtime_factor {f['realtime_factor']} ({d['realtime_frames_done']}/{d['clip_frames']}"
        f" frames at 25 fps, detection every 2nd), dropped {f['dropped_frames']}; "
        f"peak RSS {f['peak_rss_mb']} MB; vehicle_recall {f['vehicle_recall']} "
        f"(vn_plates, all 48 frames), {f['boxes_per_frame']} boxes/frame; stage ms {f['stage_ms']}"
    )


def main() -> int:
    """Measure the default detector and the others; print the figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("baseline", "agent"), help=argparse.SUPPRESS)
    parser.add_argument("--detector", default="", help="one manifest model (default: all)")
    parser.add_argument("--models-dir", type=Path, help="installed models ($TW_MODELS_DIR)")
    parser.add_argument("--clip", type=Path, help="a 1080p25 clip (default: made from the sample)")
    parser.add_argument("--frames", type=int, default=300, help="frames timed for the ratio")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    parser.add_argument("--every-nth", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--realtime", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "baseline":
        print(json.dumps(child_baseline(args)))
        return 0
    if args.child == "agent":
        if args.realtime:
            args.frames = 0  # the whole clip
        print(json.dumps(child_agent(args)))
        return 0
    return parent(args)


def parent(args: argparse.Namespace) -> int:
    """Prepare the clip and the models, then measure each detector."""
    from edge_agent.models_store import load_manifest

    manifest = load_manifest()
    names = (
        [args.detector]
        if args.detector
        else [manifest.default.name]
        + [m.name for m in manifest.models if m.name != manifest.default.name]
    )
    sample = shared_dir("data") / "video" / "car-detection.mp4"
    cache = Path(tempfile.gettempdir()) / "trafficwatch-bench"
    cache.mkdir(exist_ok=True)
    clip = args.clip or make_clip(sample, cache / "car-detection-1080p25.mp4")
    print(f"clip: {clip} (from {sample.name}, CC BY 4.0 Intel IoT DevKit; 1920x1080, 25 fps)")
    with tempfile.TemporaryDirectory(prefix="tw-models-") as scratch:
        models = models_folder(args.models_dir, Path(scratch))
        results = {name: measure(name, clip, models, args) for name in names}
    for name, figures in results.items():
        report(name, figures)
    default = results[names[0]]
    summary = {k: v for k, v in default.items() if k != "details"}
    summary["detector"] = names[0]
    summary["threads"] = args.threads
    summary["detectors"] = {n: f for n, f in results.items() if n != names[0]}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
