"""The transition table (DESIGN.md, Workflow) as data: one row per action."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from central_server.models import ViolationStatus as S
from central_server.roles import Role
from central_server.workflow.models import PoliceRecordKind
from central_server.workflow.reasons import DISMISS, REJECT, REOPEN


class Action(str, Enum):
    """What an actor does to a case; each maps to one row of DESIGN.md's transition table."""

    approve = "approve"
    reject = "reject"
    claim = "claim"
    release = "release"
    confirm = "confirm"
    dismiss = "dismiss"
    notify = "notify"
    penalize = "penalize"
    pay = "pay"
    close = "close"
    expire = "expire"
    reopen_review = "reopen_review"
    reopen_approved = "reopen_approved"


class Who(str, Enum):
    """Extra conditions on the actor beyond holding a role."""

    anyone = "anyone"  # any holder of the roles
    not_approver = "not_approver"  # the approver may not verify (user ids compared)
    claimant = "claimant"  # only whoever claimed the case (verifying)
    claimant_or_lead = "claimant_or_lead"  # the claimant, or a police lead
    system = "system"  # the scheduler, never a person


@dataclass(frozen=True)
class Rule:
    """One row of the transition table."""

    sources: frozenset[S]
    target: S
    roles: frozenset[Role]
    who: Who = Who.anyone
    reason: str | None = None  # the reason purpose required (reasons.REJECT ...), if any
    record: PoliceRecordKind | None = None  # the police record `data` must describe, if any


def _rule(
    sources: set[S],
    target: S,
    roles: set[Role],
    *,
    who: Who = Who.anyone,
    reason: str | None = None,
    record: PoliceRecordKind | None = None,
) -> Rule:
    return Rule(frozenset(sources), target, frozenset(roles), who, reason, record)


_POLICE = {Role.police_officer, Role.police_lead}
_OPEN = {S.approved, S.verifying, S.confirmed, S.notified}
_CLOSED_NEGATIVE = {S.rejected, S.dismissed}

TRANSITIONS: dict[Action, Rule] = {
    Action.approve: _rule({S.pending_review}, S.approved, {Role.operator}),
    Action.reject: _rule({S.pending_review}, S.rejected, {Role.operator}, reason=REJECT),
    Action.claim: _rule({S.approved}, S.verifying, {Role.police_officer}, who=Who.not_approver),
    Action.release: _rule({S.verifying}, S.approved, _POLICE, who=Who.claimant_or_lead),
    Action.confirm: _rule({S.verifying}, S.confirmed, {Role.police_officer}, who=Who.claimant),
    Action.dismiss: _rule(
        {S.verifying}, S.dismissed, {Role.police_officer}, who=Who.claimant, reason=DISMISS
    ),
    Action.notify: _rule(
        {S.confirmed}, S.notified, {Role.police_officer}, record=PoliceRecordKind.notice
    ),
    Action.penalize: _rule(
        {S.notified}, S.penalized, {Role.police_lead}, record=PoliceRecordKind.penalty_decision
    ),
    Action.pay: _rule({S.penalized}, S.paid, _POLICE, record=PoliceRecordKind.payment),
    Action.close: _rule({S.penalized}, S.closed, _POLICE),
    Action.expire: _rule(_OPEN, S.expired, set(), who=Who.system),
    Action.reopen_review: _rule(_CLOSED_NEGATIVE, S.pending_review, {Role.admin}, reason=REOPEN),
    Action.reopen_approved: _rule(_CLOSED_NEGATIVE, S.approved, {Role.admin}, reason=REOPEN),
}

# Public status of the published states (vn_traffic.md §4); every other state is unpublished.
NOT_YET_PENALIZED = "Chưa xử phạt"
PENALIZED = "Đã xử phạt"
PUBLISHED_STATUS: dict[S, str] = {
    S.confirmed: NOT_YET_PENALIZED,
    S.notified: NOT_YET_PENALIZED,
    S.penalized: PENALIZED,
    S.paid: PENALIZED,
    S.closed: PENALIZED,  # only reachable from penalized: closed after a penalty
}

STATUS_LABELS_VI: dict[S, str] = {
    S.pending_review: "Chờ duyệt",
    S.approved: "Đã phê duyệt, chuyển Công an",
    S.rejected: "Đã loại",
    S.verifying: "Đang xác minh",
    S.confirmed: "Kết luận có vi phạm",
    S.dismissed: "Kết luận không vi phạm",
    S.notified: "Đã gửi thông báo",
    S.penalized: "Đã ra quyết định xử phạt",
    S.paid: "Đã nộp phạt",
    S.closed: "Đã kết thúc",
    S.expired: "Hết thời hiệu",
}


def allowed_actions(status: S) -> list[Action]:
    """The actions the table allows from `status` (whoever the actor)."""
    return [action for action, rule in TRANSITIONS.items() if status in rule.sources]
