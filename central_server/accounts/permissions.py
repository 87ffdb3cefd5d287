"""What each role may do: the permissions endpoints declare, and the roles that grant them."""

from __future__ import annotations

from enum import Enum

from central_server.roles import Role


class Permission(str, Enum):
    """A capability an endpoint requires; a role grants a set of them."""

    self_service = "self"  # one's own account: profile, password, TOTP, tokens, logout
    case_read = "case.read"
    evidence_view = "evidence.view"
    case_review = "case.review"  # review claims and plate corrections (the centre)
    case_transition = "case.transition"  # workflow.transition() checks the role per action
    police_record = "police.record"
    evidence_export = "evidence.export"
    user_read = "user.read"
    user_manage = "user.manage"
    master_read = "master.read"
    master_manage = "master.manage"
    audit_read = "audit.read"
    report_read = "report.read"  # list and download the monthly reports (every download audited)
    report_run = "report.run"  # make a report for a period now
    device_operate = "device.operate"  # commands to a box (snapshot, restart, log), alarm acks


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(
        {
            _P.self_service,
            _P.case_read,
            _P.evidence_view,
            _P.case_transition,  # reopening rejected and dismissed cases
            _P.evidence_export,
            _P.user_read,
            _P.user_manage,
            _P.master_read,
            _P.master_manage,
            _P.audit_read,
            _P.report_read,
            _P.report_run,
            _P.device_operate,
        }
    ),
    Role.operator: frozenset(
        {
            _P.self_service,
            _P.case_read,
            _P.evidence_view,
            _P.case_review,
            _P.case_transition,
            _P.master_read,
        }
    ),
    Role.police_officer: frozenset(
        {
            _P.self_service,
            _P.case_read,
            _P.evidence_view,
            _P.case_transition,
            _P.police_record,
            _P.evidence_export,
            _P.master_read,
        }
    ),
    Role.police_lead: frozenset(
        {
            _P.self_service,
            _P.case_read,
            _P.evidence_view,
            _P.case_transition,
            _P.police_record,
            _P.evidence_export,
            _P.master_read,
        }
    ),
    Role.technician: frozenset({_P.self_service, _P.master_read, _P.device_operate}),
    # Leaders see cases and figures, not the images (need to know: faces, plates).
    Role.leader: frozenset(
        {_P.self_service, _P.case_read, _P.master_read, _P.report_read, _P.report_run}
    ),
    Role.auditor: frozenset({_P.self_service, _P.case_read, _P.master_read, _P.audit_read}),
}


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Every permission the given roles grant together."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def roles_granting(permission: Permission) -> frozenset[Role]:
    """The roles that grant `permission` (for the docs and the role × route matrix)."""
    return frozenset(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
