"""The camera opens and delivers frames of the configured size at the configured rate."""

from __future__ import annotations

from edge_agent.capture.base import redact_url
from provisioning.camera import read_frames
from provisioning.checks.base import CheckResult, Context, fail, ok, skip, warn

NAME, TITLE = "camera", "Camera / camera"
_FIX_OPEN = (
    "Kiểm tra camera.source (địa chỉ, mật khẩu RTSP), cáp mạng và nguồn điện của camera / "
    "check camera.source (address, RTSP credentials), the cable and the camera's power"
)


def check_camera(ctx: Context) -> CheckResult:
    """Read frames for a few seconds and compare rate and size with the config."""
    if ctx.config is None:
        return skip(NAME, TITLE, "cấu hình không hợp lệ / no valid config")
    camera, opts = ctx.config.camera, ctx.options
    capture = read_frames(camera, seconds=opts.camera_seconds, timeout_s=opts.camera_timeout_s)
    source = redact_url(camera.source)
    if capture.frames == 0:
        return fail(
            NAME,
            TITLE,
            f"Không mở được camera / cannot open the camera {source}: "
            f"{capture.error or 'no frames'}",
            _FIX_OPEN,
        )
    expected = camera.fps * opts.min_fps_ratio
    measured = capture.fps
    if capture.frames > 1 and measured < expected:
        return fail(
            NAME,
            TITLE,
            f"Camera chỉ đạt {measured:.1f} khung/giây, cần ≥ {expected:.1f} / the camera "
            f"delivers {measured:.1f} fps, expected {camera.fps:g}",
            "Giảm độ phân giải hoặc kiểm tra mạng, luồng phụ của camera; hoặc sửa camera.fps / "
            "lower the stream's resolution, check the network, or set camera.fps to the real rate",
        )
    size = (capture.width, capture.height)
    if size != (camera.width, camera.height):
        return warn(
            NAME,
            TITLE,
            f"Khung {size[0]}×{size[1]} khác cấu hình {camera.width}×{camera.height} / frames "
            "differ from camera.width×height: the calibration's pixels would not match",
            f"trafficwatch provision config --set camera.width={size[0]} "
            f"--set camera.height={size[1]}, then calibrate again",
        )
    rate = f"{measured:.1f} fps" if capture.frames > 1 else "1 frame"
    return ok(NAME, TITLE, f"{capture.frames} khung / frames, {rate}, {size[0]}×{size[1]}")
