"""JSON Schema export: every message, every field described, committed files without drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from protocol.schema import all_schemas

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "export-schema"


def undocumented(schema: dict[str, Any]) -> list[str]:
    """Properties, in the schema or its $defs, that carry no description."""
    missing = []
    models = {"(root)": schema, **schema.get("$defs", {})}
    for model_name, model in models.items():
        for prop_name, prop in model.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{model_name}.{prop_name}")
    return missing


def test_every_message_has_a_schema() -> None:
    assert set(all_schemas()) == {
        "evidence_header",
        "ack",
        "status_heartbeat",
        "command",
        "command_reply",
        "device_config",
        "signed_config",
    }


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_every_field_is_described(name: str) -> None:
    assert undocumented(all_schemas()[name]) == []


def test_unknown_fields_are_forbidden_everywhere() -> None:
    for schema in all_schemas().values():
        for model in [schema, *schema.get("$defs", {}).values()]:
            if model.get("type") == "object" and "properties" in model:
                assert model.get("additionalProperties") is False, model.get("title")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_committed_schemas_match_the_code() -> None:
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_check_names_the_drifted_file(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "protocol" / "schemas", tmp_path, dirs_exist_ok=True)
    (tmp_path / "ack.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old_message.json").write_text("{}\n", encoding="utf-8")
    result = run("--check", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "ack.json" in result.stderr and "old_message.json" in result.stderr
    assert "evidence_header.json" not in result.stderr
    assert run("--dir", str(tmp_path)).returncode == 0
    assert run("--check", "--dir", str(tmp_path)).returncode == 0
    assert not (tmp_path / "old_message.json").exists()
