"""docs/operate.md's settings reference is generated from the settings classes and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "settings-reference"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )


def test_the_reference_in_operate_md_is_current() -> None:
    done = _run("--check")
    assert done.returncode == 0, done.stderr


def test_the_reference_lists_every_settings_class_and_new_fields(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# x\n<!-- settings-reference:begin -->\nstale\n<!-- settings-reference:end -->\n"
    )
    assert _run("--check", "--doc", str(doc)).returncode == 1  # drift is caught
    assert _run("--doc", str(doc)).returncode == 0
    text = doc.read_text()
    assert "stale" not in text
    for heading in ("Settings", "AuthSettings", "PublicSettings", "RetentionSettings"):
        assert f"#### `{heading}`" in text
    assert "| `TW_ALERT_DISK_USED_PCT` | `90` | number, > 0, ≤ 100 |" in text
    assert "| `TW_SECRET_KEY` | — (must be set) | secret |" in text
    assert "| `TW_PUBLIC_CORS_ORIGINS` | `[]` | list of text (JSON) |" in text
    assert "| `TW_ALERT_SMTP_SECURITY` | `starttls` | `starttls` \\| `tls` \\| `none` |" in text
    assert _run("--check", "--doc", str(doc)).returncode == 0
