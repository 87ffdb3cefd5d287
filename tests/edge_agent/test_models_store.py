"""The model manifest, `models install` and `models verify`, and the hash check before loading.

Most tests use a small manifest of their own (made-up "weights", real hashes) so they run
anywhere; the checks of the real manifest against `../shared/models` skip where that is absent.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from edge_agent.models_install import install
from edge_agent.models_store import (
    Manifest,
    ModelHashError,
    ModelMissingError,
    cli_install,
    cli_verify,
    load_manifest,
    open_model,
    verify_installed,
)
from trafficwatch.cli import main as trafficwatch

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = b"\x00tflite-weights" * 1000
LABELS = b"person\nbicycle\ncar\n"


def sha(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, url: str, weights: bytes = WEIGHTS) -> Path:
    """A one-model manifest pinning `weights` and LABELS (labels inline, as YOLOX's are)."""
    entry = yaml.safe_load((ROOT / "models" / "manifest.yaml").read_text())["models"][0]
    entry.update(name="tiny", file="tiny.tflite", size=len(weights), sha256=sha(weights), url=url)
    entry["labels"] = {
        "file": "labels.txt",
        "size": len(LABELS),
        "sha256": sha(LABELS),
        "names": ["person", "bicycle", "car"],
    }
    path.write_text(yaml.safe_dump({"manifest_version": 1, "models": [entry]}))
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A folder holding the model as a technician would bring it on a USB stick."""
    folder = tmp_path / "usb" / "tiny"
    folder.mkdir(parents=True)
    (folder / "tiny.tflite").write_bytes(WEIGHTS)
    return tmp_path / "usb"


@pytest.fixture
def manifest_file(tmp_path: Path) -> Path:
    """The tiny manifest, with an upstream URL nobody can reach (copies only)."""
    return write_manifest(tmp_path / "manifest.yaml", "https://invalid.example/tiny.tflite")


def files_under(folder: Path) -> list[Path]:
    """Every file below `folder` (none when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_real_manifest_pins_both_detectors() -> None:
    manifest = load_manifest()
    assert manifest.default.name == "yolox_nano"
    assert {m.name for m in manifest.models} == {"yolox_nano", "ssd_mobilenet_v2"}
    yolox = manifest.get("yolox_nano")
    assert "3d4f1119d0694200671c08069ecb847aa0d8495a" in yolox.url
    assert (yolox.input.width, yolox.input.layout, yolox.input.pad_value) == (416, "NCHW", 114)
    assert manifest.get("ssd_mobilenet_v2").input.layout == "NHWC"


def test_real_manifest_matches_the_shared_copies() -> None:
    shared = Path(os.environ.get("TW_SHARED_MODELS") or ROOT.parent / "shared" / "models")
    if not shared.is_dir():
        pytest.skip(f"{shared} absent: the shared model copies are not on this machine")
    for entry in load_manifest().models:
        weights = shared / entry.name / entry.file
        assert sha(weights.read_bytes()) == entry.sha256
        assert weights.stat().st_size == entry.size
        labels = shared / entry.name / entry.labels.file
        assert sha(labels.read_bytes()) == entry.labels.sha256
        inline = entry.labels.content()  # what the installer writes when there is no source
        assert inline is None or sha(inline) == entry.labels.sha256


def test_install_from_folder_then_verify(
    manifest_file: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    args = ["--manifest", str(manifest_file), "--dest", str(dest)]
    assert cli_install([*args, "--from", str(source)]) == 0
    assert (dest / "tiny" / "tiny.tflite").read_bytes() == WEIGHTS
    assert (dest / "tiny" / "labels.txt").read_bytes() == LABELS  # written from the manifest
    assert cli_verify(args) == 0
    assert "tốt / ok: tiny" in capsys.readouterr().out


def test_bad_hash_is_refused_and_nothing_installed(
    manifest_file: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / "tiny" / "tiny.tflite").write_bytes(WEIGHTS + b"tampered")
    dest = tmp_path / "models"
    code = cli_install(
        ["--manifest", str(manifest_file), "--dest", str(dest), "--from", str(source)]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "sai mã băm" in err and "hash mismatch" in err
    assert sha(WEIGHTS) in err and sha(WEIGHTS + b"tampered") in err
    assert "nothing installed" in err
    assert files_under(dest) == []


def test_file_missing_from_folder_installs_nothing(
    manifest_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    dest = tmp_path / "models"
    code = cli_install(
        ["--manifest", str(manifest_file), "--dest", str(dest), "--from", str(empty)]
    )
    assert code == 1
    assert "tiny.tflite" in capsys.readouterr().err
    assert files_under(dest) == []


def test_verify_names_a_modified_and_a_missing_file(
    manifest_file: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    args = ["--manifest", str(manifest_file), "--dest", str(dest)]
    assert cli_install([*args, "--from", str(source)]) == 0
    weights = dest / "tiny" / "tiny.tflite"
    weights.write_bytes(b"X" + WEIGHTS[1:])  # same size: only the hash tells
    (dest / "tiny" / "labels.txt").unlink()
    capsys.readouterr()
    assert cli_verify(args) == 1
    err = capsys.readouterr().err
    assert f"{weights}" in err and sha(WEIGHTS) in err
    assert "labels.txt" in err and "missing" in err


def test_verify_with_nothing_installed_fails(manifest_file: Path, tmp_path: Path) -> None:
    assert cli_verify(["--manifest", str(manifest_file), "--dest", str(tmp_path / "none")]) == 1


def test_open_model_refuses_a_file_changed_after_install(
    manifest_file: Path, source: Path, tmp_path: Path
) -> None:
    manifest = load_manifest(manifest_file)
    dest = tmp_path / "models"
    install(manifest, dest, source_dir=source, stream=None)
    model = open_model("tiny", models_dir=dest, manifest=manifest)
    assert model.sha256 == sha(WEIGHTS) and model.content == WEIGHTS
    assert model.labels == {0: "person", 1: "bicycle", 2: "car"}
    weights = dest / "tiny" / "tiny.tflite"
    weights.write_bytes(b"X" + WEIGHTS[1:])
    os.utime(weights, ns=(1, 1))  # a rewrite always changes size or mtime; the cache sees it
    with pytest.raises(ModelHashError) as refused:
        open_model("tiny", models_dir=dest, manifest=manifest)
    assert refused.value.expected == sha(WEIGHTS)
    assert refused.value.actual == sha(weights.read_bytes())


def test_open_model_names_what_is_missing(manifest_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_file)
    with pytest.raises(ModelMissingError, match="models install"):
        open_model("tiny", models_dir=tmp_path, manifest=manifest)
    with pytest.raises(ModelMissingError, match="tiny"):
        open_model("yolo_huge", models_dir=tmp_path, manifest=manifest)


def test_reinstall_keeps_good_files_and_replaces_bad_ones(
    manifest_file: Path, source: Path, tmp_path: Path
) -> None:
    manifest = load_manifest(manifest_file)
    dest = tmp_path / "models"
    install(manifest, dest, source_dir=source, stream=None)
    labels = dest / "tiny" / "labels.txt"
    os.utime(labels, ns=(1, 1))
    (dest / "tiny" / "tiny.tflite").write_bytes(b"broken")
    install(manifest, dest, source_dir=source, stream=None)
    assert labels.stat().st_mtime_ns == 1  # already right: left alone
    assert (dest / "tiny" / "tiny.tflite").read_bytes() == WEIGHTS
    assert verify_installed(manifest, dest) == (["tiny"], [])


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = WEIGHTS

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep the test output clean


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real HTTP server on localhost serving WEIGHTS; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_with_progress(http_server: str, tmp_path: Path) -> None:
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", f"{http_server}/tiny.tflite"))
    dest = tmp_path / "models"
    out = io.StringIO()
    install(manifest, dest, stream=out)
    assert (dest / "tiny" / "tiny.tflite").read_bytes() == WEIGHTS
    assert "tiny.tflite" in out.getvalue() and "100%" in out.getvalue()


def test_download_of_other_bytes_is_refused(http_server: str, tmp_path: Path) -> None:
    other = b"not the pinned weights"
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", f"{http_server}/x", other))
    dest = tmp_path / "models"
    with pytest.raises(ModelHashError) as refused:
        install(manifest, dest, stream=None)
    assert refused.value.actual == sha(WEIGHTS)
    assert files_under(dest) == []


def test_trafficwatch_command_runs_the_installer(
    manifest_file: Path, source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "models"
    args = ["--manifest", str(manifest_file), "--dest", str(dest)]
    assert trafficwatch(["models", "install", *args, "--from", str(source)]) == 0
    assert trafficwatch(["models", "verify", *args]) == 0


def test_manifest_refuses_two_defaults(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "models" / "manifest.yaml").read_text())
    for entry in data["models"]:
        entry["default"] = True
    with pytest.raises(ValueError, match="exactly one"):
        Manifest.model_validate(data)
