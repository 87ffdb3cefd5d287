"""The ACL plan and its Mosquitto and EMQX renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central_server.broker.acl import (
    Access,
    AclError,
    AclPlan,
    BrokerUser,
    UserRole,
    filter_covers,
    make_plan,
)
from central_server.broker.emqx import EmqxExportError, acl_conf, users_csv, users_json
from central_server.broker.mosquitto import acl_file, password_file, read_password_file
from central_server.broker.passwords import PasswordHash, hash_password
from protocol.topics import Topics

A, B = "dh-cam-001", "dh-cam-002"
HASHES = {
    name: hash_password(f"{name}-password-0123456789") for name in ("ingest", "control", A, B)
}


def _plan(shared_group: str | None = "ingest", prefix: str = "tw/v1") -> AclPlan:
    users = [
        BrokerUser(B, UserRole.device, HASHES[B].mosquitto()),
        BrokerUser(A, UserRole.device, HASHES[A].mosquitto()),
        BrokerUser("control", UserRole.control, HASHES["control"].mosquitto()),
        BrokerUser("ingest", UserRole.ingest, HASHES["ingest"].mosquitto()),
    ]
    return make_plan(users, Topics(prefix), shared_group)


def test_the_plan_fences_each_box_into_its_own_topics() -> None:
    plan = _plan()
    allows = plan.allows
    assert allows(A, Access.write, f"tw/v1/{A}/evidence")
    assert allows(A, Access.write, f"tw/v1/{A}/reply")
    assert not allows(A, Access.write, f"tw/v1/{B}/evidence")
    assert not allows(A, Access.write, f"tw/v1/{A}/config")  # only control sets a config
    assert allows(A, Access.read, f"tw/v1/{A}/cmd")
    assert not allows(A, Access.read, f"tw/v1/{B}/ack")
    assert not allows(A, Access.read, "tw/v1/+/ack")
    assert allows("ingest", Access.read, "$share/ingest/tw/v1/+/evidence")
    assert allows("ingest", Access.write, f"tw/v1/{B}/ack")
    assert not allows("ingest", Access.write, f"tw/v1/{B}/cmd")
    assert allows("control", Access.write, f"tw/v1/{B}/config")
    assert not allows("control", Access.read, "tw/v1/+/evidence")
    assert not allows(None, Access.read, "tw/v1/+/status")


def test_topic_filters_match_as_mqtt_does() -> None:
    assert filter_covers("tw/v1/+/ack", "tw/v1/x/ack")
    assert filter_covers("tw/v1/+/ack", "tw/v1/+/ack")
    assert not filter_covers("tw/v1/+/ack", "tw/v1/#")
    assert not filter_covers("tw/v1/x/ack", "tw/v1/+/ack")
    assert not filter_covers("tw/v1/+/ack", "tw/v1/x/ack/more")


def test_users_that_cannot_coexist_are_refused() -> None:
    hashed = HASHES[A].mosquitto()
    with pytest.raises(AclError, match="duplicate"):
        make_plan([BrokerUser(A, UserRole.device, hashed)] * 2, Topics(), None)
    with pytest.raises(AclError, match="service"):
        make_plan([BrokerUser("ingest", UserRole.device, hashed)], Topics(), None)


def test_the_mosquitto_files_list_every_user_and_grant(tmp_path: Path) -> None:
    plan = _plan(prefix="city/tw/v1")
    acl = acl_file(plan)
    assert f"user {A}\ntopic write city/tw/v1/{A}/evidence\n" in acl
    assert "user ingest\ntopic read city/tw/v1/+/evidence\n" in acl
    assert "#" not in acl.replace("# ", "")  # no multi-level wildcard anywhere
    passwd = tmp_path / "passwd"
    passwd.write_text(password_file(plan))
    names = list(read_password_file(passwd))
    assert names == ["ingest", "control", A, B]  # services first, then boxes by id


def test_the_emqx_files_carry_the_same_rules_and_hashes() -> None:
    plan = _plan()
    conf = acl_conf(plan)
    assert f'{{allow, {{username, "{A}"}}, publish, ["tw/v1/{A}/evidence", ' in conf
    assert '"$share/ingest/tw/v1/+/evidence"' in conf
    assert conf.rstrip().endswith("{deny, all}.")
    rows = json.loads(users_json(plan))
    row = next(r for r in rows if r["user_id"] == A)
    digest = PasswordHash(101, row["salt"].encode(), bytes.fromhex(row["password_hash"]))
    assert digest.verify(f"{A}-password-0123456789")
    header = users_csv(plan).splitlines()[0]
    assert header == "user_id,password_hash,salt,is_superuser"


def test_emqx_export_names_the_boxes_whose_salt_is_not_text() -> None:
    raw = hash_password("x" * 20, salt=bytes(range(12))).mosquitto()
    plan = make_plan([BrokerUser(A, UserRole.device, raw)], Topics(), None)
    with pytest.raises(EmqxExportError, match=A):
        users_csv(plan)
