"""The centre's review: the queue, the next case, and claims (held 10 minutes, renewed, skipped)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId
from central_server.api.violations.presenters import detail_of, summaries_of
from central_server.api.violations.schemas import (
    PlateQuery,
    ReviewClaimPublic,
    ShortId,
    UtcTime,
    ViolationDetail,
    ViolationPage,
    Ward,
)
from central_server.workflow.models import ReviewClaim
from central_server.workflow.publication import compact_plate
from central_server.workflow.service import (
    QueueFilters,
    claim_for_review,
    next_for_review,
    release_claim,
    renew_claim,
    review_queue,
)
from protocol.enums import BehaviourCode, VehicleClass

router = APIRouter(prefix="/api/v1", tags=["review"], responses=ERROR_RESPONSES)

Reviewer = Annotated[Principal, Depends(Requires(Permission.case_review))]


class QueueQuery(BaseModel):
    """What a reviewer narrows the queue to."""

    model_config = ConfigDict(extra="forbid")

    site_id: list[ShortId] = Field(default_factory=list, max_length=100)
    ward: list[Ward] = Field(default_factory=list, max_length=100)
    behaviour: list[BehaviourCode] = Field(default_factory=list, max_length=32)
    vehicle_class: list[VehicleClass] = Field(default_factory=list, max_length=16)
    occurred_from: UtcTime | None = None
    occurred_to: UtcTime | None = None
    plate: PlateQuery | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)

    def filters(self) -> QueueFilters:
        """As the workflow's queue filters."""
        return QueueFilters(
            site_ids=frozenset(self.site_id),
            wards=frozenset(self.ward),
            behaviours=frozenset(self.behaviour),
            vehicle_classes=frozenset(self.vehicle_class),
            occurred_from=self.occurred_from,
            occurred_to=self.occurred_to,
            plate=compact_plate(self.plate) if self.plate else None,
        )


def _claim(claim: ReviewClaim) -> ReviewClaimPublic:
    return ReviewClaimPublic(
        user_id=claim.user_id, claimed_at=claim.claimed_at, expires_at=claim.expires_at
    )


@router.get("/review/queue")
def queue(
    query: Annotated[QueueQuery, Query()],
    principal: Reviewer,
    request: Request,
    session: SessionDep,
) -> ViolationPage:
    """Hàng chờ duyệt / pending cases, oldest first, without those others hold."""
    at = now(request)
    rows = review_queue(
        session,
        actor=principal.actor,
        filters=query.filters(),
        limit=query.limit + 1,
        offset=query.offset,
        now=at,
    )
    more = len(rows) > query.limit
    return ViolationPage(
        items=summaries_of(session, rows[: query.limit], at),
        next_offset=query.offset + query.limit if more else None,
    )


@router.post(
    "/review/next",
    responses={204: {"description": "Hết vi phạm chờ duyệt / the queue is empty"}},
    response_model=ViolationDetail,
)
def take_next(
    query: Annotated[QueueQuery, Query()],
    principal: Reviewer,
    request: Request,
    session: SessionDep,
) -> ViolationDetail | Response:
    """Nhận vi phạm tiếp theo / claim the next case to review (your own claim first)."""
    at = now(request)
    violation = next_for_review(session, actor=principal.actor, filters=query.filters(), now=at)
    if violation is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return detail_of(session, violation, at, media_urls=True)


@router.post("/violations/{violation_id}/claim")
def claim(
    violation_id: IntId, principal: Reviewer, request: Request, session: SessionDep
) -> ReviewClaimPublic:
    """Nhận duyệt / hold a pending case for 10 minutes (409 if another reviewer holds it)."""
    held = claim_for_review(
        session, violation_id=violation_id, actor=principal.actor, now=now(request)
    )
    return _claim(held)


@router.post("/violations/{violation_id}/claim/renew")
def renew(
    violation_id: IntId, principal: Reviewer, request: Request, session: SessionDep
) -> ReviewClaimPublic:
    """Gia hạn / keep holding the case another 10 minutes while working on it."""
    held = renew_claim(session, violation_id=violation_id, actor=principal.actor, now=now(request))
    return _claim(held)


@router.delete(
    "/violations/{violation_id}/claim",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
def release(
    violation_id: IntId,
    principal: Reviewer,
    request: Request,
    session: SessionDep,
    skip: Annotated[bool, Query(description="Bỏ qua: my queue passes over it for now")] = True,
) -> None:
    """Trả lại / give the case back to the queue (skip it, by default)."""
    release_claim(
        session, violation_id=violation_id, actor=principal.actor, skip=skip, now=now(request)
    )
