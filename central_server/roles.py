"""Roles and the actor every workflow and audit call is made on behalf of."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Role(str, Enum):
    """What a user may do; a user holds a set of them (DESIGN.md, Roles)."""

    admin = "admin"
    operator = "operator"
    police_officer = "police_officer"
    police_lead = "police_lead"
    technician = "technician"
    leader = "leader"
    auditor = "auditor"


ROLE_LABELS_VI: dict[Role, str] = {
    Role.admin: "Quản trị viên",
    Role.operator: "Cán bộ Trung tâm (duyệt vi phạm)",
    Role.police_officer: "Cán bộ CSGT",
    Role.police_lead: "Lãnh đạo CSGT",
    Role.technician: "Kỹ thuật viên",
    Role.leader: "Lãnh đạo (báo cáo)",
    Role.auditor: "Kiểm toán viên",
}

POLICE_ROLES = frozenset({Role.police_officer, Role.police_lead})


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user or a named system process (the scheduler, ingest)."""

    user_id: int | None
    name: str
    roles: frozenset[Role]
    # Site ids and ward names this actor is limited to; empty means everywhere.
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def audit_name(self) -> str:
        """The actor string recorded in the audit chain: `user:<id>` or `system:<name>`."""
        if self.user_id is None:
            return f"system:{self.name}"
        return f"user:{self.user_id}"

    @property
    def is_system(self) -> bool:
        """Whether this is a system process rather than a person."""
        return self.user_id is None

    def has(self, *roles: Role) -> bool:
        """Whether the actor holds at least one of `roles`."""
        return any(role in self.roles for role in roles)

    def in_scope(self, site_id: str, ward: str = "") -> bool:
        """Whether a case at `site_id` (in `ward`) is within this actor's scopes."""
        if not self.scopes:
            return True
        return site_id in self.scopes or (bool(ward) and ward in self.scopes)

    @classmethod
    def system(cls, name: str) -> Actor:
        """A system actor (no user, no roles; allowed only the system's own transitions)."""
        return cls(user_id=None, name=name, roles=frozenset())
