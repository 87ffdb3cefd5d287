"""The scheduler lock: one holder at a time, taken over when the holder's lease lapses."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from central_server.scheduler.lock import DbLock
from tests.fixtures.db import Database

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=timezone.utc)
TTL = timedelta(seconds=60)


def _pair(db: Database) -> tuple[DbLock, DbLock]:
    return DbLock(db.engine, holder="a", ttl=TTL), DbLock(db.engine, holder="b", ttl=TTL)


def test_only_one_instance_holds_the_lock(db: Database) -> None:
    first, second = _pair(db)
    assert first.acquire(T0)
    assert not second.acquire(T0 + timedelta(seconds=30))
    assert first.renew(T0 + timedelta(seconds=50))
    # Renewed at 50 s: still held at 100 s.
    assert not second.acquire(T0 + timedelta(seconds=100))


def test_a_lapsed_lease_is_taken_over_and_the_old_holder_knows(db: Database) -> None:
    first, second = _pair(db)
    assert first.acquire(T0)
    assert second.acquire(T0 + timedelta(seconds=61))
    assert not first.renew(T0 + timedelta(seconds=62))
    with db.session() as session:
        assert second.held_in(session, T0 + timedelta(seconds=62))
        assert not first.held_in(session, T0 + timedelta(seconds=62))


def test_a_released_lock_is_free_at_once(db: Database) -> None:
    first, second = _pair(db)
    assert first.acquire(T0)
    first.release()
    assert second.acquire(T0 + timedelta(seconds=1))


def test_many_instances_racing_for_a_free_lock_yield_one_holder(db: Database) -> None:
    locks = [DbLock(db.engine, holder=f"i{i}", ttl=TTL) for i in range(4)]
    barrier = threading.Barrier(len(locks))
    won: list[str] = []

    def race(lock: DbLock) -> None:
        barrier.wait()
        if lock.acquire(T0):
            won.append(lock.holder)

    threads = [
        threading.Thread(target=race, args=(lock,), name=f"lock-{lock.holder}") for lock in locks
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
