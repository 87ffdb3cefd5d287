"""Server settings from the environment (prefix `TW_`) and an optional env file."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

MIN_SECRET_KEY_LENGTH = 32
_PLACEHOLDER_SECRETS = frozenset({"", "changethis"})

# Paths and the database URL follow `data_dir` unless set explicitly; these are their names
# relative to it.
_DERIVED_FROM_DATA_DIR = ("database_url", "evidence_dir", "server_key_path")


class Settings(BaseSettings):
    """Everything the API, ingest and scheduler processes read at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="TW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses placeholder secrets; `development` only warns.",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Base directory for the default database, evidence store and server key.",
    )
    database_url: str = Field(
        default="sqlite:///var/trafficwatch.db",
        description="SQLAlchemy URL; default `sqlite:///{data_dir}/trafficwatch.db`. "
        "`postgresql://` is served through psycopg 3.",
    )
    evidence_dir: Path = Field(
        default=Path("var/evidence"),
        description="Root of the content-addressed evidence store; default `{data_dir}/evidence`.",
    )
    server_key_path: Path = Field(
        default=Path("var/keys/server_ed25519.pem"),
        description="The server's Ed25519 signing key (PEM, created on first start); "
        "default `{data_dir}/keys/server_ed25519.pem`.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("changethis"),
        description="Signs session cookies and tokens; at least 32 characters outside development.",
    )
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    mqtt_username: str | None = Field(default=None, description="MQTT user name, if required.")
    mqtt_password: SecretStr | None = Field(default=None, description="MQTT password.")
    mqtt_tls: bool = Field(default=False, description="Connect to the broker over TLS.")
    mqtt_ca_file: Path | None = Field(
        default=None, description="CA bundle that signed the broker's certificate (with TLS)."
    )
    topic_prefix: str = Field(default="tw/v1", description="Prefix of every MQTT topic.")
    control_enabled: bool = Field(
        default=True,
        description="Run the device control client (config pushes, commands, replies) in the "
        "ingest process; one such client is enough for a deployment.",
    )
    control_mqtt_username: str | None = Field(
        default=None,
        description="MQTT user of the control client (writes config and cmd, reads reply); "
        "default `control` when `control_mqtt_password` is set, else the ingest's login.",
    )
    control_mqtt_password: SecretStr | None = Field(
        default=None, description="Password of the control user (see broker-acl)."
    )
    control_client_id: str | None = Field(
        default=None, description="MQTT client id of the control client; default tw-control-<host>."
    )
    command_ttl_s: float = Field(
        default=600, gt=0, le=7 * 86400, description="Default lifetime of a device command."
    )
    ingest_shared_group: str | None = Field(
        default=None,
        description="When set, ingest subscribes with `$share/<group>/...` so that several "
        "workers split the stream.",
    )
    ingest_workers: int = Field(default=1, ge=1, description="Ingest worker threads per process.")
    ingest_chunk_hold_s: float = Field(
        default=2.0,
        gt=0,
        description="How long the chunks of an incomplete set wait in memory (PUBACK deferred) "
        "before they are staged in the database for another worker to complete.",
    )
    ingest_chunk_hold_max_bytes: int = Field(
        default=64 * 1024 * 1024, gt=0, description="Bound on chunk bytes held in memory."
    )
    ingest_chunk_hold_max_messages: int = Field(
        default=12,
        ge=1,
        description="Bound on chunk messages held un-PUBACKed; keep it below the broker's "
        "in-flight window (Mosquitto: 20).",
    )
    max_clock_skew_s: float = Field(
        default=300, gt=0, description="Capture time further than this from receipt is flagged."
    )
    chunk_stage_ttl_s: float = Field(
        default=600, gt=0, description="Incomplete chunk sets older than this are discarded."
    )
    chunk_stage_max_bytes_per_device: int = Field(
        default=64 * 1024 * 1024, gt=0, description="Bound on staged chunk bytes per device."
    )
    sequence_gap_report_after_s: float = Field(
        default=3600, gt=0, description="A sequence gap older than this is reported as a loss."
    )
    fleet_heartbeat_timeout_s: float = Field(
        default=120, gt=0, description="A box with no heartbeat for this long counts as offline."
    )
    fleet_offline_after_s: float = Field(
        default=600, gt=0, description="A box offline for longer than this raises an alarm."
    )
    fleet_outbox_growth_heartbeats: int = Field(
        default=5, ge=2, description="Alarm when the outbox grew over this many heartbeats."
    )
    fleet_clock_drift_ms: float = Field(
        default=1000, gt=0, description="Alarm when a box's clock offset exceeds this (ms)."
    )
    fleet_dropped_clear_after_s: float = Field(
        default=86400,
        gt=0,
        description="A dropped-evidence alarm clears after this long without new drops.",
    )
    fleet_check_every_s: float = Field(
        default=60, ge=5, description="How often the scheduler runs the fleet-health check."
    )
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    # Monitoring (central_server/metrics, central_server/alerts; docs/operate.md).
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to `/metrics`; unset: `/metrics` answers 404.",
    )
    alert_check_every_s: float = Field(
        default=60, ge=10, description="How often the scheduler evaluates the alert rules."
    )
    alert_ingest_stall_s: float = Field(
        default=900,
        gt=0,
        description="Ingest stalled: nothing (no packet, no heartbeat) received from any box for "
        "this long, or evidence waiting on an online box this long while no packet is stored.",
    )
    alert_staged_chunks_max: int = Field(
        default=256, ge=1, description="Alert when more chunks than this wait staged for siblings."
    )
    alert_disk_used_pct: float = Field(
        default=90, gt=0, le=100, description="Alert when the evidence disk is fuller than this %."
    )
    alert_report_grace_s: float = Field(
        default=6 * 3600,
        ge=0,
        description="A monthly report still missing this long after its run time is an alert.",
    )
    alert_email_to: str = Field(
        default="", description="Comma-separated addresses alerts are mailed to (empty: none)."
    )
    alert_email_from: str = Field(
        default="trafficwatch@localhost", description="Sender address of alert e-mails."
    )
    alert_smtp_host: str | None = Field(default=None, description="SMTP server for alerts.")
    alert_smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    alert_smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="`starttls` (port 587), `tls` (implicit, port 465) or `none` (a local relay).",
    )
    alert_smtp_username: str | None = Field(default=None, description="SMTP login, if any.")
    alert_smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    alert_webhook_url: str | None = Field(
        default=None, description="URL alerts are POSTed to as JSON (empty: none)."
    )
    alert_webhook_token: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer` with each webhook call."
    )
    alert_timeout_s: float = Field(
        default=10, gt=0, le=120, description="Time limit of one SMTP or webhook delivery."
    )

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        """Place the database, evidence and key under `data_dir` unless set explicitly."""
        explicit = self.model_fields_set
        derived = {
            "database_url": f"sqlite:///{self.data_dir / 'trafficwatch.db'}",
            "evidence_dir": self.data_dir / "evidence",
            "server_key_path": self.data_dir / "keys" / "server_ed25519.pem",
        }
        for name in _DERIVED_FROM_DATA_DIR:
            if name not in explicit:
                object.__setattr__(self, name, derived[name])
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        """Refuse an empty, placeholder or short secret key outside development."""
        secret = self.secret_key.get_secret_value()
        weak = secret in _PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_KEY_LENGTH
        if not weak:
            return self
        message = (
            "TW_SECRET_KEY chưa được đặt hoặc quá ngắn (cần ít nhất "
            f"{MIN_SECRET_KEY_LENGTH} ký tự ngẫu nhiên). TW_SECRET_KEY is unset, a placeholder or "
            f"shorter than {MIN_SECRET_KEY_LENGTH} characters; generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
        )
        if self.environment == "development":
            logger.warning("%s (allowed in development only)", message)
            return self
        raise ValueError(message)


def env_file() -> str:
    """The env file every settings class of the server reads: `TW_ENV_FILE`, else `./.env`."""
    return os.environ.get("TW_ENV_FILE", ".env")


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once (env file from `TW_ENV_FILE`, else `.env`)."""
    return Settings(_env_file=env_file())
