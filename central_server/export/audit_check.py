"""Bundle checks on the audit excerpt: contiguous links, recomputed hashes, values, signed head."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from central_server.export import chain
from central_server.export import format as fmt
from central_server.export.checks import Check, fail, ok, warn
from protocol.keys import Ed25519PublicKey


def _event_problem(event: dict[str, Any], expected_id: int | None, prev: str | None) -> str | None:
    if set(event) != set(chain.EVENT_FIELDS):
        return "fields"
    if expected_id is not None and event["id"] != expected_id:
        return f"missing events before {event['id']}"
    if prev is not None and event["prev_hash"] != prev:
        return "prev_hash does not link to the previous event"
    if chain.event_hash(event) != event["hash"]:
        return "content does not match its hash"
    return None


def _links(events: list[dict[str, Any]]) -> Check:
    expected_id: int | None = None
    prev: str | None = None
    for event in events:
        try:
            problem = _event_problem(event, expected_id, prev)
        except (KeyError, TypeError, ValueError):
            problem = "malformed event"
        if problem is not None:
            return fail(
                "Chuỗi nhật ký bị đứt hoặc bị sửa",
                "Audit chain broken or altered",
                f"event {event.get('id')}: {problem}",
            )
        expected_id, prev = event["id"] + 1, event["hash"]
    first, last = events[0]["id"], events[-1]["id"]
    return ok(
        "Chuỗi nhật ký liền mạch", "Audit excerpt chain is continuous", f"events {first}–{last}"
    )


def _case_events(audit: fmt.AuditFile, violation_id: int, packet_sha256: str) -> list[Check]:
    by_id = {e["id"]: e for e in audit.events}
    checks: list[Check] = []
    for event_id in audit.case_event_ids:
        event = by_id.get(event_id)
        if event is None or (event["entity_type"], event["entity_id"]) != (
            "violation",
            str(violation_id),
        ):
            return [
                fail("Sự kiện hồ sơ thiếu trong chuỗi", "Case event not in excerpt", str(event_id))
            ]
        detail = audit.details.get(str(event_id))
        for side in ("before", "after"):
            value = None if detail is None else detail.get(side)
            if value is not None and chain.value_sha256(value) != event[f"{side}_sha256"]:
                return [
                    fail(
                        "Nội dung quyết định bị sửa", "Decision values altered", f"event {event_id}"
                    )
                ]
    ingested = [
        audit.details.get(str(e), {}).get("after") or {}
        for e in audit.case_event_ids
        if by_id[e]["action"] == "violation.ingested"
    ]
    if ingested and ingested[0].get("sha256") != packet_sha256:
        checks.append(fail("Nhật ký ghi nhận gói khác", "Audit records another packet"))
    actions = ", ".join(by_id[e]["action"] for e in audit.case_event_ids)
    checks.append(ok("Các quyết định khớp nhật ký", "Case decisions match the chain", actions))
    return checks


def _head(audit: fmt.AuditFile, server_keys: dict[str, Ed25519PublicKey]) -> Check:
    head = audit.head_signature
    if head is None:
        return warn(
            "Chưa có chữ ký đầu chuỗi sau các sự kiện này (ký hằng ngày)",
            "No signed chain head after these events yet (signed daily)",
        )
    event = next((e for e in audit.events if e["id"] == head.event_id), None)
    public = server_keys.get(head.key_id)
    if event is None or event["hash"] != head.head_hash or public is None:
        return fail("Chữ ký đầu chuỗi không khớp trích đoạn", "Signed head does not match excerpt")
    try:
        message = chain.head_message(head.event_id, head.head_hash, head.signed_at, head.key_id)
        public.verify(bytes.fromhex(head.signature), message)
    except (InvalidSignature, ValueError):
        return fail("Chữ ký đầu chuỗi KHÔNG hợp lệ", "Chain head signature INVALID")
    return ok(
        "Đầu chuỗi đã được máy chủ ký",
        "Chain head signed by the server",
        f"event {head.event_id}, {head.signed_at}",
    )


def check_audit(
    files: dict[str, bytes],
    manifest: fmt.Manifest,
    server_keys: dict[str, Ed25519PublicKey],
) -> list[Check]:
    """Every check on `audit.json`."""
    try:
        audit = fmt.AuditFile.model_validate_json(files.get(fmt.AUDIT, b""))
    except ValidationError as exc:
        return [fail("Trích nhật ký hỏng", "Audit excerpt malformed", str(exc.errors()[0]["msg"]))]
    if not audit.events or not audit.case_event_ids:
        return [fail("Không có nhật ký của hồ sơ", "No audit events for the case")]
    links = _links(audit.events)
    if links.status == "fail":
        return [links]
    return [
        links,
        *_case_events(audit, manifest.violation_id, manifest.packet_sha256),
        _head(audit, server_keys),
    ]
