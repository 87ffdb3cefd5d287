"""Rate limits per client address (429 + Retry-After), API keys with their own higher limits."""

from __future__ import annotations

from central_server.public.apikeys import KeyCache, create_key, revoke_key
from central_server.public.ratelimit import RateLimiter
from tests.central_server.api.harness import ApiEnv
from tests.central_server.public.conftest import SEARCH, FakeClock

PARAMS = {"plate": "73A12345", "vehicle_type": "oto"}


def _clock(env: ApiEnv) -> FakeClock:
    clock = env.app.state.public.limiter.clock
    assert isinstance(clock, FakeClock)
    return clock


def _new_key(env: ApiEnv, rate_per_minute: int) -> str:
    with env.db.session() as session:
        _, key = create_key(session, "SmartCity Huế", rate_per_minute, created_by="test")
    return key


def test_an_address_gets_its_burst_then_429_with_retry_after(public_env: ApiEnv) -> None:
    client = public_env.client()
    burst = public_env.app.state.public.settings.burst
    codes = [client.get(SEARCH, params=PARAMS).status_code for _ in range(burst)]
    assert codes == [200] * burst
    refused = client.get(SEARCH, params=PARAMS)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "thử lại" in refused.json()["error"]["message_vi"]
    _clock(public_env).now += int(refused.headers["retry-after"])
    assert client.get(SEARCH, params=PARAMS).status_code == 200


def test_an_api_key_searches_beyond_the_address_limit(public_env: ApiEnv) -> None:
    key = _new_key(public_env, rate_per_minute=6000)
    client = public_env.client()
    answers = [client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key}) for _ in range(200)]
    assert {a.status_code for a in answers} == {200}
    # The key has its own allowance: the address's is untouched.
    assert client.get(SEARCH, params=PARAMS).status_code == 200


def test_a_key_has_its_own_limit_too(public_env: ApiEnv) -> None:
    key = _new_key(public_env, rate_per_minute=60)  # burst: max(address burst, 10 s worth)
    client = public_env.client()
    headers = {"X-API-Key": key}
    codes = [client.get(SEARCH, params=PARAMS, headers=headers).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_unknown_and_revoked_keys_are_refused(public_env: ApiEnv) -> None:
    public_env.app.state.public.keys = KeyCache(public_env.db.engine, ttl_s=0)
    key = _new_key(public_env, rate_per_minute=600)
    client = public_env.client()
    unknown = client.get(SEARCH, params=PARAMS, headers={"X-API-Key": "twk_invented"})
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    assert client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key}).status_code == 200
    with public_env.db.session() as session:
        assert revoke_key(session, key[:12])
    assert client.get(SEARCH, params=PARAMS, headers={"X-API-Key": key}).status_code == 401


def test_keys_are_stored_hashed(public_env: ApiEnv) -> None:
    key = _new_key(public_env, rate_per_minute=600)
    with public_env.db.engine.connect() as conn:
        dump = repr(conn.exec_driver_sql("SELECT * FROM public_api_key").all())
    assert key not in dump and key[12:] not in dump


def test_the_limiter_refills_at_its_rate_and_forgets_old_clients() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_names=2, clock=clock)
    assert limiter.acquire("a", rate_per_minute=60, burst=1) == 0
    assert limiter.acquire("a", rate_per_minute=60, burst=1) == 1.0
    clock.now += 1
    assert limiter.acquire("a", rate_per_minute=60, burst=1) == 0
    limiter.acquire("b", 60, 1)
    limiter.acquire("c", 60, 1)  # "a" is the least recent and is forgotten: a fresh bucket
    assert limiter.acquire("a", rate_per_minute=60, burst=1) == 0
