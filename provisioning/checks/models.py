"""The detector's model and labels are installed, with the manifest's sha256."""

from __future__ import annotations

from pydantic import ValidationError

from edge_agent.models_store import (
    ModelError,
    default_models_dir,
    load_manifest,
    verify_installed,
)
from provisioning.checks.base import CheckResult, Context, fail, ok, skip

NAME, TITLE = "models", "Mô hình / models"


def check_models(ctx: Context) -> CheckResult:
    """Hash the configured model's files against the manifest."""
    if ctx.config is None:
        return skip(NAME, TITLE, "cấu hình không hợp lệ / no valid config")
    try:
        manifest = load_manifest(ctx.options.manifest)
    except (ModelError, ValidationError, OSError) as exc:
        return fail(
            NAME,
            TITLE,
            f"Manifest hỏng / unreadable manifest: {exc}",
            "Cài lại phần mềm / reinstall the software",
        )
    detector = ctx.config.detector
    try:
        entry = manifest.get(detector.model) if "model" in detector.model_fields_set else None
    except ModelError as exc:
        return fail(NAME, TITLE, str(exc), "Sửa / fix detector.model")
    name = (entry or manifest.default).name
    models_dir = ctx.options.models_dir or default_models_dir()
    good, problems = verify_installed(manifest, models_dir, [name])
    if not problems:
        return ok(NAME, TITLE, f"{', '.join(good)}: sha256 khớp / matches the manifest")
    first = problems[0]
    install = f"trafficwatch models install --dest {models_dir} {name}"
    if first.kind == "missing":
        return fail(NAME, TITLE, f"Chưa cài mô hình / model not installed: {first.path}", install)
    return fail(
        NAME,
        TITLE,
        f"Tệp mô hình bị thay đổi (sai sha256) / model file altered (sha256 mismatch): "
        f"{first.path}: {first.detail}",
        f"Cài lại / reinstall: {install}",
    )
