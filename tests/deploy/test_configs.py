"""The other files in deploy/: the env file example, nginx, Mosquitto, Prometheus, the admin
wrapper. Each is checked by the program that reads it when that program is here (nginx -t,
a real mosquitto, promtool), and against the code it must agree with."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError

from central_server.accounts.settings import AuthSettings
from central_server.devices.enrolment import EnrolmentSettings
from central_server.metrics.collector import SnapshotCollector
from central_server.metrics.service import (
    DiskFigures,
    FleetFigures,
    IngestFigures,
    JobFigures,
    Snapshot,
)
from central_server.public.settings import PublicSettings
from central_server.reports.jobs import ReportSettings
from central_server.retention.settings import RetentionSettings
from central_server.settings import Settings
from tests.fixtures.brokers import find_mosquitto, free_port, probe_mqtt

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "server.env.example"
SETTINGS_CLASSES = (
    Settings,
    AuthSettings,
    EnrolmentSettings,
    PublicSettings,
    ReportSettings,
    RetentionSettings,
)
WAIT_S = 20.0


def _known_variables() -> set[str]:
    names = {"TW_ENV_FILE"}
    for cls in SETTINGS_CLASSES:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        names |= {prefix + name.upper() for name in cls.model_fields}
    return names


def _tool(env_name: str, binary: str) -> str:
    found = os.environ.get(env_name) or shutil.which(binary)
    if found is None:
        pytest.skip(f"{binary} is not installed here (or set {env_name} to one)")
    return found


def test_the_env_example_names_only_real_settings() -> None:
    variables = dotenv_values(ENV_EXAMPLE)
    unknown = sorted(set(variables) - _known_variables())
    assert unknown == []


def test_the_env_example_parses_and_refuses_its_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("TW_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ValidationError, match="TW_SECRET_KEY"):
        Settings(_env_file=ENV_EXAMPLE)
    filled = tmp_path / "server.env"
    filled.write_text(
        ENV_EXAMPLE.read_text().replace("TW_SECRET_KEY=CHANGE-ME", "TW_SECRET_KEY=" + "k" * 48)
    )
    settings = Settings(_env_file=filled)
    assert settings.environment == "production" and settings.ingest_shared_group == "ingest"
    assert settings.evidence_dir == Path("/srv/trafficwatch/evidence")
    assert [a.strip() for a in settings.alert_email_to.split(",")] == [
        "it@donghoi.gov.vn",
        "truc-ban@donghoi.gov.vn",
    ]
    assert PublicSettings(_env_file=filled).cors_origins == ["https://smartcity.donghoi.gov.vn"]
    assert AuthSettings(_env_file=filled).require_totp_for_police
    assert EnrolmentSettings(_env_file=filled).device_mqtt_port == 8883


def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    nginx = _tool("TW_TEST_NGINX", "nginx")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=test"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = (DEPLOY / "nginx" / "trafficwatch.conf").read_text()
    site = site.replace("/etc/ssl/trafficwatch/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/trafficwatch/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path / 'site.conf'}; }}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_mosquitto_starts_with_the_tuning_file(tmp_path: Path) -> None:
    mosquitto = find_mosquitto()
    if mosquitto is None:
        pytest.skip("mosquitto is not installed here")
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    shutil.copy(DEPLOY / "mosquitto" / "trafficwatch-tuning.conf", conf_d)
    port = free_port()
    main = tmp_path / "mosquitto.conf"
    main.write_text(
        f"persistence false\ninclude_dir {conf_d}\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    )
    process = subprocess.Popen(
        [mosquitto, "-c", str(main), "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while not probe_mqtt("127.0.0.1", port) and time.monotonic() < deadline:
            assert process.poll() is None, "mosquitto refused the configuration"
            time.sleep(0.1)
        assert probe_mqtt("127.0.0.1", port)
    finally:
        process.terminate()
        output = process.communicate(timeout=WAIT_S)[0].decode()
    assert f"Loading config file {conf_d / 'trafficwatch-tuning.conf'}" in output


def _full_snapshot() -> Snapshot:
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    return Snapshot(
        now=now,
        ingest=IngestFigures({60: 1, 300: 5}, 10, now, {"0.99": 2.0}, 0, 1, 10, now),
        fleet=FleetFigures(1, 1, now, {"offline": 1}, ("x",), ()),
        disk=DiskFigures(Path("/"), 100, 50),
        violations_open={"pending_review": 1},
        plate_backlog=0,
        jobs={"alerts.check": JobFigures("alerts.check", now, True, now, None)},
        scheduler_lock_held=True,
        audit_head_signed_at=now,
        alerts_firing=("disk_nearly_full",),
    )  # fmt: skip


def test_the_prometheus_rules_use_only_metrics_the_server_exports() -> None:
    families = list(SnapshotCollector(_full_snapshot).collect())
    exported = {family.name for family in families}
    # Prometheus owns `job` and `instance` (the scrape's): a metric's own would be renamed.
    labels = {name for family in families for s in family.samples for name in s.labels}
    assert not labels & {"job", "instance"}
    rules = (DEPLOY / "prometheus" / "trafficwatch-rules.yml").read_text()
    used = set(re.findall(r"\b(trafficwatch_[a-z_]+)\b", rules))
    assert used and used <= exported, sorted(used - exported)


def test_promtool_accepts_the_rules_and_the_scrape_config(tmp_path: Path) -> None:
    promtool = _tool("TW_TEST_PROMTOOL", "promtool")
    rules = DEPLOY / "prometheus" / "trafficwatch-rules.yml"
    for name in ("token", "ca.crt"):
        (tmp_path / name).write_text("x\n")
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/trafficwatch-rules.yml", str(rules))
    config = config.replace("/etc/prometheus/trafficwatch-metrics-token", str(tmp_path / "token"))
    config = config.replace("/etc/prometheus/trafficwatch-ca.crt", str(tmp_path / "ca.crt"))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 13 rules found" in done.stdout


def test_the_admin_wrapper_runs_a_command_with_the_settings_file(tmp_path: Path) -> None:
    wrapper = DEPLOY / "bin" / "trafficwatch-admin"
    subprocess.run(["sh", "-n", str(wrapper)], check=True, timeout=30)
    if os.geteuid() != 0:
        pytest.skip("the wrapper switches users: needs root")
    env_file = tmp_path / "server.env"
    env_file.write_text("TW_PUBLIC_CORS_ORIGINS='[\"https://app.example.vn\"]'\n")
    probe = (
        "import os, sys; from central_server.public.settings import PublicSettings; "
        "print(PublicSettings().cors_origins, os.environ['TW_ENV_FILE'])"
    )
    fake = tmp_path / "venv" / "bin"
    fake.mkdir(parents=True)
    # The wrapper runs <venv>/bin/trafficwatch: here a stand-in that prints what it was given.
    (fake / "trafficwatch").write_text(f'#!/bin/sh\nexec {sys.executable} -c "{probe}"\n')
    (fake / "trafficwatch").chmod(0o755)
    done = subprocess.run(
        [str(wrapper), "server", "anything"],
        env={
            "PATH": os.environ["PATH"],
            "TW_ADMIN_USER": "root",
            "TW_VENV": str(tmp_path / "venv"),
            "TW_ENV_FILE": str(env_file),
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"['https://app.example.vn'] {env_file}"
