"""A Prometheus collector that reads the snapshot at scrape time (cached for a few seconds).

Names follow Prometheus' conventions: the `trafficwatch_` prefix, base units (seconds, bytes) in
the name, gauges for figures read from the database. "Seconds since" figures are given directly
so that a rule needs no `time()` arithmetic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from central_server.metrics.service import Snapshot

logger = logging.getLogger(__name__)

CACHE_S = 5.0  # several Prometheus servers, or a retried scrape, read the database once
P = "trafficwatch_"


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily | None:
    if value is None:
        return None  # absent rather than a made-up number: `absent()` rules can see it
    return GaugeMetricFamily(P + name, doc, value=value)


def _labelled(name: str, doc: str, label: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(P + name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def ingest_metrics(s: Snapshot) -> list[GaugeMetricFamily | None]:
    """Ingest rate, lag, staged chunks, quarantine and the plate backlog."""
    i = s.ingest
    stored = {f"{w}s": float(n) for w, n in i.stored.items()}
    return [
        _labelled(
            "ingest_packets_stored", "Packets stored within the trailing window.", "window", stored
        ),
        _gauge(
            "ingest_packets_per_second",
            "Packets stored per second, averaged over the last 5 minutes.",
            i.stored.get(300, 0) / 300.0,
        ),
        _gauge(
            "ingest_bytes_per_second",
            "Packet bytes stored per second, averaged over the last 5 minutes.",
            i.bytes_5m / 300.0,
        ),
        _gauge(
            "ingest_last_stored_age_seconds",
            "Seconds since the newest packet was stored.",
            _age(s.now, i.last_stored_at),
        ),
        _labelled(
            "ingest_lag_seconds",
            "Capture-to-stored delay of the packets stored in the last 5 minutes (quantiles).",
            "quantile",
            i.lag_s,
        ),
        _gauge(
            "ingest_staged_chunks", "Chunks staged waiting for their siblings.", i.staged_chunks
        ),
        _gauge("ingest_staged_bytes", "Bytes of the staged chunks.", i.staged_bytes),
        _gauge(
            "ingest_staged_oldest_age_seconds",
            "Age of the oldest staged chunk.",
            _age(s.now, i.oldest_staged_at),
        ),
        _gauge(
            "ingest_quarantined_last_hour",
            "Messages quarantined in the last hour.",
            i.quarantined_1h,
        ),
        _gauge(
            "plate_backlog",
            "Recent violations whose plate the server has not read yet.",
            s.plate_backlog,
        ),
    ]


def workflow_metrics(s: Snapshot) -> list[GaugeMetricFamily | None]:
    """Queue sizes by status: `pending_review` is the review queue, `approved` the police's."""
    return [
        _labelled(
            "violations_open",
            "Cases in each open workflow status.",
            "status",
            {k: float(v) for k, v in s.violations_open.items()},
        )
    ]


def fleet_metrics(s: Snapshot) -> list[GaugeMetricFamily | None]:
    """Boxes enrolled and online, open fleet alarms, the last status heard."""
    f = s.fleet
    return [
        _gauge("devices_enrolled", "Enrolled boxes (not revoked).", f.enrolled),
        _gauge("devices_online", "Boxes online with a recent heartbeat.", f.online),
        _labelled(
            "device_alarms_open",
            "Open fleet alarms by code.",
            "code",
            {k: float(v) for k, v in f.alarms_open.items()},
        ),
        _gauge(
            "devices_last_status_age_seconds",
            "Seconds since any box's status was recorded.",
            _age(s.now, f.last_status_at),
        ),
    ]


def system_metrics(s: Snapshot) -> list[GaugeMetricFamily | None]:
    """Evidence disk, scheduler jobs and lock, the signed audit head."""
    families: list[GaugeMetricFamily | None] = []
    if s.disk is not None:
        families += [
            _gauge(
                "evidence_disk_free_bytes", "Free bytes on the evidence store.", s.disk.free_bytes
            ),
            _gauge("evidence_disk_total_bytes", "Size of the evidence store.", s.disk.total_bytes),
        ]
    since_success = {job: _age(s.now, figures.last_success_at) for job, figures in s.jobs.items()}
    families += [
        _labelled(
            "scheduler_job_last_success_age_seconds",
            "Seconds since each scheduled job last succeeded.",
            "scheduled_job",
            {job: age for job, age in since_success.items() if age is not None},
        ),
        _labelled(
            "scheduler_job_last_run_failed",
            "1 when a job's latest run failed.",
            "scheduled_job",
            {job: 0.0 if f.last_ok else 1.0 for job, f in s.jobs.items()},
        ),
        _gauge(
            "scheduler_lock_held",
            "1 while a scheduler instance holds its lease.",
            1.0 if s.scheduler_lock_held else 0.0,
        ),
        _gauge(
            "audit_head_signed_age_seconds",
            "Seconds since the audit chain head was last signed.",
            _age(s.now, s.audit_head_signed_at),
        ),
        _labelled(
            "alerts_firing",
            "Alerts firing now, by kind (central_server.alerts).",
            "kind",
            _by_kind(s.alerts_firing),
        ),
    ]
    return families


def _by_kind(keys: tuple[str, ...]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for key in keys:
        kind = key.split(":", 1)[0]
        counts[kind] = counts.get(kind, 0.0) + 1.0
    return counts


class SnapshotCollector(Collector):
    """Yields the metric families of a snapshot read by `read()` (at most every CACHE_S)."""

    def __init__(self, read: Callable[[], Snapshot], cache_s: float = CACHE_S) -> None:
        self._read = read
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._cached: tuple[float, Snapshot] | None = None

    def snapshot(self) -> Snapshot:
        """The cached snapshot, read again once older than the cache time."""
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] >= self.cache_s:
                self._cached = (time.monotonic(), self._read())
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        """Every family of the snapshot (a failing database raises: the scrape fails, visibly)."""
        s = self.snapshot()
        for builder in (ingest_metrics, workflow_metrics, fleet_metrics, system_metrics):
            for family in builder(s):
                if family is not None:
                    yield family
