"""Actors: who is recorded in the audit chain, roles and scopes."""

from __future__ import annotations

from central_server.roles import Actor, Role


def test_people_and_processes_have_distinct_audit_names() -> None:
    person = Actor(user_id=7, name="nguyenvana", roles=frozenset({Role.operator}))
    process = Actor.system("scheduler")
    assert (person.audit_name, process.audit_name) == ("user:7", "system:scheduler")
    assert process.is_system and not person.is_system
    assert person.has(Role.operator, Role.admin) and not person.has(Role.admin)


def test_an_empty_scope_means_everywhere() -> None:
    anywhere = Actor(1, "a", frozenset({Role.operator}))
    ward = Actor(2, "b", frozenset({Role.operator}), scopes=frozenset({"Phường Đồng Hới"}))
    assert anywhere.in_scope("site-9")
    assert ward.in_scope("site-9", "Phường Đồng Hới") and not ward.in_scope(
        "site-9", "Phường Đồng Sơn"
    )
