"""UUIDv7 packet ids (RFC 9562): time-ordered, so the outbox and the database index them well.

Python 3.10 has no `uuid.uuid7`, hence this small generator. Within one millisecond the 12-bit
`rand_a` field is used as a counter (RFC 9562 §6.2, method 1) so ids from one process never go
backwards even when many are made in the same millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def _next_stamp() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, secrets.randbits(11)  # leave headroom to count up
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def uuid7_from_parts(unix_ms: int, rand_a: int, rand_b: int) -> uuid.UUID:
    """Build a UUIDv7 from its fields (48-bit ms timestamp, 12-bit rand_a, 62-bit rand_b)."""
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76 | (rand_a & 0xFFF) << 64
    value |= 0b10 << 62 | (rand_b & 0x3FFF_FFFF_FFFF_FFFF)
    return uuid.UUID(int=value)


def new_packet_id() -> uuid.UUID:
    """A fresh UUIDv7, monotonic within this process."""
    unix_ms, counter = _next_stamp()
    return uuid7_from_parts(unix_ms, counter, secrets.randbits(62))


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The Unix millisecond timestamp a UUIDv7 carries."""
    return value.int >> 80
