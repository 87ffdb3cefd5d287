"""`/metrics`: the bearer token, the Prometheus text format, and figures that move with the data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import col

from central_server.models import ChunkStage, Violation
from central_server.scheduler.jobs import DailyJob, run_job
from central_server.scheduler.lock import DbLock
from tests.central_server.api.harness import ApiEnv, api_env_for, ingest_packet
from tests.factories import FIXED_TIME
from tests.fixtures.db import Database

TOKEN = "metrics-token-" + "m" * 32
RECEIVED = FIXED_TIME + timedelta(seconds=10)  # when harness.ingest_packet stores a packet

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app with a metrics token, no scrape cache, its clock just after the test packets."""
    for api_env in api_env_for(db, tmp_path):
        settings = api_env.app.state.settings
        api_env.app.state.settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
        api_env.app.state.metrics_collector.cache_s = 0
        api_env.clock.now = RECEIVED + timedelta(seconds=30)
        yield api_env


def scrape(env: ApiEnv) -> Samples:
    """Every sample of one scrape, by (name, sorted labels)."""
    response = env.client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_answer_404_until_a_token_is_configured(db: Database, tmp_path: Path) -> None:
    for env in api_env_for(db, tmp_path):
        response = env.client().get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "metrics_disabled"


def test_metrics_want_the_bearer_token(env: ApiEnv) -> None:
    client = env.client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "metrics_token_invalid"
    assert scrape(env)[("trafficwatch_devices_enrolled", ())] == 0
    # Prometheus asks for OpenMetrics first; it gets it.
    openmetrics = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    answer = client.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Accept": openmetrics}
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


def test_ingest_and_queue_figures_move_when_packets_are_stored(env: ApiEnv) -> None:
    before = scrape(env)
    assert before[("trafficwatch_ingest_packets_stored", (("window", "300s"),))] == 0
    assert ("trafficwatch_ingest_last_stored_age_seconds", ()) not in before  # nothing yet

    first, _ = ingest_packet(env, seq=1)
    for seq in (2, 3):
        ingest_packet(env, seq=seq)
    after = scrape(env)

    assert after[("trafficwatch_ingest_packets_stored", (("window", "300s"),))] == 3
    assert after[("trafficwatch_ingest_packets_stored", (("window", "60s"),))] == 3
    assert after[("trafficwatch_ingest_packets_per_second", ())] == pytest.approx(3 / 300)
    assert after[("trafficwatch_ingest_bytes_per_second", ())] > 0
    assert after[("trafficwatch_ingest_last_stored_age_seconds", ())] == pytest.approx(30)
    # The test packets arrive 10 s after their violation.
    assert after[("trafficwatch_ingest_lag_seconds", (("quantile", "0.5"),))] == pytest.approx(10)
    assert after[("trafficwatch_violations_open", (("status", "pending_review"),))] == 3
    assert after[("trafficwatch_violations_open", (("status", "approved"),))] == 0
    assert after[("trafficwatch_plate_backlog", ())] == 3  # no plate worker in this test
    assert after[("trafficwatch_devices_enrolled", ())] == 1
    assert after[("trafficwatch_ingest_staged_chunks", ())] == 0

    with env.db.session() as session:  # the server's reader got to one of them
        session.execute(
            update(Violation).where(col(Violation.id) == first).values(plate_read_at=RECEIVED)
        )
    env.clock.advance(minutes=10)
    later = scrape(env)
    assert later[("trafficwatch_ingest_packets_stored", (("window", "300s"),))] == 0
    assert later[("trafficwatch_plate_backlog", ())] == 2
    assert ("trafficwatch_ingest_lag_seconds", (("quantile", "0.5"),)) not in later


def test_staged_chunks_and_disk_are_shown(env: ApiEnv) -> None:
    with env.db.session() as session:
        for index in range(2):
            session.add(
                ChunkStage(
                    packet_id=uuid.uuid4(),
                    index=index,
                    device_id="dh-cam-001",
                    count=3,
                    total_size=300,
                    packet_sha256="0" * 64,
                    data=b"x" * 100,
                    received_at=RECEIVED,
                )
            )
    samples = scrape(env)
    assert samples[("trafficwatch_ingest_staged_chunks", ())] == 2
    assert samples[("trafficwatch_ingest_staged_bytes", ())] == 200
    assert samples[("trafficwatch_ingest_staged_oldest_age_seconds", ())] == pytest.approx(30)
    total = samples[("trafficwatch_evidence_disk_total_bytes", ())]
    assert 0 < samples[("trafficwatch_evidence_disk_free_bytes", ())] <= total


def test_scheduler_runs_are_shown_per_job(env: ApiEnv) -> None:
    lock = DbLock(env.db.engine)
    now = env.clock.now
    assert lock.acquire(now)

    def broken(_session: object, _now: object) -> None:
        raise RuntimeError("disk on fire")

    assert run_job(env.db.engine, lock, DailyJob("test.fine", lambda s, n: None), now) == "ran"
    assert run_job(env.db.engine, lock, DailyJob("test.broken", broken), now) == "failed"
    env.clock.advance(seconds=40)
    samples = scrape(env)
    assert (
        samples[("trafficwatch_scheduler_job_last_run_failed", (("scheduled_job", "test.fine"),))]
        == 0
    )
    assert (
        samples[("trafficwatch_scheduler_job_last_run_failed", (("scheduled_job", "test.broken"),))]
        == 1
    )
    age = samples[
        ("trafficwatch_scheduler_job_last_success_age_seconds", (("scheduled_job", "test.fine"),))
    ]
    assert age == pytest.approx(40)
    assert (
        "trafficwatch_scheduler_job_last_success_age_seconds",
        (("scheduled_job", "test.broken"),),
    ) not in samples
    assert samples[("trafficwatch_scheduler_lock_held", ())] == 1
