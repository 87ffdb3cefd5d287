"""Token buckets per client address or API key, in the process (each uvicorn worker has its own)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate_per_minute` on average and `burst` at once per name; forgets the least recent."""

    def __init__(
        self, *, max_names: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_names = max_names
        self.clock = clock  # tests replace it to move time forward
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, name: str, rate_per_minute: int, burst: int) -> float:
        """Take one token: 0 when allowed, else the seconds until the next one is due."""
        rate_per_s = rate_per_minute / 60
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = _Bucket(tokens=float(burst), updated=now)
                self._buckets[name] = bucket
                if len(self._buckets) > self._max_names:
                    # A forgotten client starts with a full bucket: at worst one more burst.
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(name)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate_per_s)
                bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate_per_s


def retry_after_header(wait_s: float) -> str:
    """`Retry-After` in whole seconds, never 0 (a client retrying at once would be refused)."""
    return str(max(1, math.ceil(wait_s)))
