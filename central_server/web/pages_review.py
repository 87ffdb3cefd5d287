"""The operator's pages: the review queue (`/review`) and the case page (`/review/case/{id}`).

The pages only show; `static/review.js` acts through the staff API (claim, renew, approve,
reject with a reason, skip, plate correction, next case), which checks claims and states and
writes the audit rows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import Principal, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import IntId
from central_server.roles import Role
from central_server.web.auth import PageRequires
from central_server.web.formatting import behaviour_name
from central_server.web.i18n import N_, request_lang
from central_server.web.nav import NavItem
from central_server.web.review_view import CaseView, QueueForm, case_view, queue_view
from central_server.web.routing import PageRoute
from central_server.web.templating import render
from protocol.enums import BehaviourCode

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Reviewer = Annotated[Principal, Depends(PageRequires(Permission.case_review))]
NAV = [
    NavItem(
        "/review",
        N_("Duyệt vi phạm"),
        Permission.case_review,
        order=10,
        home_for=frozenset({Role.operator}),
    )
]
JS_MESSAGES = {
    "queue_empty": N_("Hết vi phạm chờ duyệt."),
    "approved": N_("Đã phê duyệt, chuyển Công an."),
    "rejected": N_("Đã loại."),
    "skipped": N_("Đã bỏ qua."),
    "plate_saved": N_("Đã lưu biển số."),
    "claim_mine": N_("Bạn đang giữ hồ sơ đến"),
    "claim_lost": N_("Bạn không còn giữ hồ sơ này; tải lại trang."),
    "claimed_by_other": N_("Đang được cán bộ khác duyệt đến"),
    "choose_reason": N_("Chọn lý do: nhấn số 1–9 (Esc để hủy)."),
    "note_needed": N_("Lý do này cần ghi rõ; nhập rồi nhấn Enter."),
    "no_next": N_("Không còn hồ sơ tiếp theo trong hàng chờ."),
    "no_prev": N_("Đây là hồ sơ đầu tiên trong hàng chờ."),
    "not_pending": N_("Hồ sơ không còn chờ duyệt."),
}

Site = Annotated[str, Query(max_length=64)]
Ward = Annotated[str, Query(max_length=100)]
Behaviour = Annotated[str, Query(max_length=32)]
Day = Annotated[str, Query(max_length=10)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.get("/review", response_class=HTMLResponse)
def review_queue_page(
    principal: Reviewer,
    request: Request,
    session: SessionDep,
    site: Site = "",
    ward: Ward = "",
    behaviour: Behaviour = "",
    day: Day = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Hàng chờ duyệt / the queue, oldest first, with filters and how many wait."""
    form = QueueForm.parse(site, ward, behaviour, day, offset)
    view = queue_view(session, principal.actor, form, now(request))
    lang = request_lang(request)
    behaviours = [(b.value, behaviour_name(lang, b)) for b in BehaviourCode]
    context = {
        "view": view,
        "form": form,
        "behaviours": behaviours,
        "js_messages": JS_MESSAGES,
        "review_data": {"api_query": form.api_query(), "page_query": form.page_query()},
    }
    return render(request, "review/queue.html", context, principal=principal)


def _script_data(view: CaseView, form: QueueForm, principal: Principal) -> dict[str, Any]:
    """What review.js needs about the case (ids, version, claim, reasons, neighbours)."""
    violation = view.violation
    claim = view.claim
    return {
        "id": violation.id,
        "version": violation.version,
        "pending": view.pending,
        "user_id": principal.user.id,
        "claim": None
        if claim is None
        else {
            "user_id": claim.user_id,
            "mine": view.claim_is_mine,
            "expires_at": claim.expires_at.isoformat(),
            "holder": view.claim_holder,
        },
        "reasons": [
            {"key": r.key, "code": r.code, "requires_note": r.requires_note} for r in view.reasons
        ],
        "prev_id": view.prev_id,
        "next_id": view.next_id,
        "api_query": form.api_query(),
        "page_query": form.page_query(),
    }


@router.get("/review/case/{violation_id}", response_class=HTMLResponse)
def review_case_page(
    violation_id: IntId,
    principal: Reviewer,
    request: Request,
    session: SessionDep,
    site: Site = "",
    ward: Ward = "",
    behaviour: Behaviour = "",
    day: Day = "",
) -> HTMLResponse:
    """Hồ sơ vi phạm / one case: stills, clip, plate, facts, approve / reject / skip."""
    form = QueueForm.parse(site, ward, behaviour, day, 0)
    view = case_view(session, principal.actor, violation_id, form, now(request))
    context = {
        "case": view,
        "v": view.violation,
        "form": form,
        "js_messages": JS_MESSAGES,
        "review_data": _script_data(view, form, principal),
    }
    return render(request, "review/case.html", context, principal=principal)
