from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from central_server.settings import Settings, get_settings

STRONG_SECRET = "k" * 48


def test_defaults_live_under_the_data_dir(clean_env: Path) -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///var/trafficwatch.db"
    assert settings.evidence_dir == Path("var/evidence")
    assert settings.server_key_path == Path("var/keys/server_ed25519.pem")
    assert (settings.mqtt_host, settings.mqtt_port, settings.topic_prefix) == (
        "127.0.0.1",
        1883,
        "tw/v1",
    )
    assert settings.chunk_stage_max_bytes_per_device == 64 * 1024 * 1024
    assert settings.ingest_shared_group is None


def test_paths_follow_a_moved_data_dir(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_DATA_DIR", "/srv/tw")
    settings = Settings()
    assert settings.database_url == "sqlite:////srv/tw/trafficwatch.db"
    assert settings.evidence_dir == Path("/srv/tw/evidence")
    assert settings.server_key_path == Path("/srv/tw/keys/server_ed25519.pem")


def test_explicit_values_win_over_derived_ones(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TW_DATA_DIR", "/srv/tw")
    monkeypatch.setenv("TW_DATABASE_URL", "postgresql://tw@db/tw")
    monkeypatch.setenv("TW_INGEST_SHARED_GROUP", "ingest")
    monkeypatch.setenv("TW_MQTT_PORT", "8883")
    settings = Settings()
    assert settings.database_url == "postgresql://tw@db/tw"
    assert settings.evidence_dir == Path("/srv/tw/evidence")
    assert settings.ingest_shared_group == "ingest"
    assert settings.mqtt_port == 8883


def test_env_file_is_read(clean_env: Path) -> None:
    (clean_env / "tw.env").write_text("TW_API_PORT=9000\nTW_MQTT_TLS=true\n", encoding="utf-8")
    settings = Settings(_env_file=clean_env / "tw.env")
    assert settings.api_port == 9000
    assert settings.mqtt_tls is True


@pytest.mark.parametrize("secret", ["", "changethis", "short-but-not-placeholder"])
def test_production_refuses_a_weak_secret(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("TW_ENVIRONMENT", "production")
    monkeypatch.setenv("TW_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="TW_SECRET_KEY"):
        Settings()


def test_production_accepts_a_strong_secret(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TW_ENVIRONMENT", "production")
    monkeypatch.setenv("TW_SECRET_KEY", STRONG_SECRET)
    assert Settings().secret_key.get_secret_value() == STRONG_SECRET


def test_development_only_warns_about_the_placeholder(
    clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="central_server.settings"):
        settings = Settings()
    assert settings.environment == "development"
    assert "TW_SECRET_KEY" in caplog.text


def test_secrets_stay_out_of_repr(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("TW_MQTT_PASSWORD", "broker-password")
    text = repr(Settings())
    assert STRONG_SECRET not in text
    assert "broker-password" not in text


def test_get_settings_is_read_once(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_API_PORT", "8100")
    first = get_settings()
    monkeypatch.setenv("TW_API_PORT", "8200")
    assert get_settings() is first
    assert first.api_port == 8100


def test_get_settings_reads_the_env_file_named_by_tw_env_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "prod.env").write_text("TW_TOPIC_PREFIX=hcm/tw/v1\n", encoding="utf-8")
    monkeypatch.setenv("TW_ENV_FILE", str(clean_env / "prod.env"))
    assert get_settings().topic_prefix == "hcm/tw/v1"
