"""The enrolment API: boxes enrol, rotate their key and archive their config; admins make tokens
and revoke keys.

The box's routes need no staff login (`PUBLIC`): enrolment is authorised by the one-time token,
the later requests by the device key's signature.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from central_server.accounts.dependencies import PUBLIC, Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId, server_key
from central_server.devices import tokens
from central_server.devices.device_requests import archive_from_request, rotate_from_request
from central_server.devices.enrolment import (
    EnrolmentSettings,
    enrol_with_token,
    get_enrolment_settings,
)
from central_server.devices.models_enrolment import EnrolmentToken
from central_server.devices.schemas import (
    ConfigArchiveResponse,
    EnrolmentRequest,
    EnrolmentResponse,
    KeyRevoke,
    KeyRevoked,
    KeyRotationResponse,
    PingResponse,
    SealedRequest,
    TokenCreate,
    TokenCreated,
    TokenPublic,
)
from central_server.devices.service import DeviceError, revoke_with_cutoff
from central_server.errors import AppError
from protocol.keys import key_id

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERROR_RESPONSES)

DeviceAdmin = Annotated[Principal, Depends(Requires(Permission.master_manage))]


def enrolment_settings(request: Request) -> EnrolmentSettings:
    """The app's enrolment settings (tests set `app.state.enrolment_settings`)."""
    found: EnrolmentSettings | None = getattr(request.app.state, "enrolment_settings", None)
    return found or get_enrolment_settings()


@router.get("/enrolment/ping", dependencies=[Depends(PUBLIC)])
def ping(request: Request) -> PingResponse:
    """Máy chủ trả lời / the server answers, with the id of the key it signs with."""
    return PingResponse(status="ok", server_key_id=key_id(server_key(request)))


@router.post("/enrolment", status_code=201, dependencies=[Depends(PUBLIC)])
def enrol(body: EnrolmentRequest, request: Request, session: SessionDep) -> EnrolmentResponse:
    """Đăng ký thiết bị bằng mã một lần / enrol a box with a one-time token."""
    return enrol_with_token(
        session,
        body,
        now=now(request),
        server_key=server_key(request),
        settings=request.app.state.settings,
        enrolment=enrolment_settings(request),
        remote=request.client.host if request.client else "",
    )


@router.post("/enrolment/keys", status_code=201, dependencies=[Depends(PUBLIC)])
def rotate(body: SealedRequest, request: Request, session: SessionDep) -> KeyRotationResponse:
    """Đổi khóa thiết bị / register the box's next key, signed by its current one."""
    max_age = enrolment_settings(request).device_request_max_age_s
    return rotate_from_request(session, body.sealed, now=now(request), max_age_s=max_age)


@router.post("/enrolment/configs", dependencies=[Depends(PUBLIC)])
def archive_config(
    body: SealedRequest, request: Request, session: SessionDep
) -> ConfigArchiveResponse:
    """Lưu trữ cấu hình và hiệu chỉnh / archive the box's config and calibration by hash."""
    max_age = enrolment_settings(request).device_request_max_age_s
    return archive_from_request(session, body.sealed, now=now(request), max_age_s=max_age)


def _token_public(row: EnrolmentToken, request: Request) -> TokenPublic:
    fields = row.model_dump() | {"state": tokens.token_state(row, now(request))}
    return TokenPublic.model_validate(fields)


@router.post("/enrolment/tokens", status_code=201)
def create_token(
    body: TokenCreate, principal: DeviceAdmin, request: Request, session: SessionDep
) -> TokenCreated:
    """Tạo mã đăng ký thiết bị (hiện một lần) / make an enrolment token (shown once)."""
    made = tokens.create_token(
        session,
        site_id=body.site_id,
        ttl=timedelta(hours=body.ttl_hours),
        actor=principal.actor.audit_name,
        now=now(request),
        device_id=body.device_id,
        camera_id=body.camera_id,
    )
    row = made.row
    return TokenCreated(
        id=row.id or 0,
        token=made.secret,
        site_id=row.site_id,
        device_id=row.device_id,
        camera_id=row.camera_id,
        expires_at=row.expires_at,
    )


@router.get("/enrolment/tokens")
def list_tokens(
    principal: DeviceAdmin, request: Request, session: SessionDep, site_id: str | None = None
) -> list[TokenPublic]:
    """Danh sách mã đăng ký / enrolment tokens, newest first."""
    return [_token_public(row, request) for row in tokens.list_tokens(session, site_id=site_id)]


@router.delete("/enrolment/tokens/{token_id}")
def revoke_token(
    token_id: IntId, principal: DeviceAdmin, request: Request, session: SessionDep
) -> TokenPublic:
    """Hủy mã chưa dùng / cancel an unused enrolment token."""
    row = tokens.revoke_token(session, token_id, actor=principal.actor.audit_name, now=now(request))
    return _token_public(row, request)


@router.post("/device-keys/{key_id}/revoke")
def revoke_device_key(
    key_id: str, body: KeyRevoke, principal: DeviceAdmin, session: SessionDep
) -> KeyRevoked:
    """Thu hồi khóa thiết bị từ một số thứ tự hoặc thời điểm / revoke a key from a cut-off."""
    try:
        key, after = revoke_with_cutoff(
            session,
            key_id_=key_id,
            reason=body.reason,
            from_seq=body.from_seq,
            at=body.at,
            actor=principal.actor.audit_name,
        )
    except DeviceError as exc:
        raise AppError(404, "key_not_found", str(exc), str(exc)) from exc
    return KeyRevoked(
        key_id=key.key_id,
        device_id=key.device_id,
        valid_from_seq=key.valid_from_seq,
        valid_to_seq=key.valid_to_seq,
        revoked_at=key.revoked_at,
        revoked_reason=key.revoked_reason,
        packets_after_cutoff=after,
    )
