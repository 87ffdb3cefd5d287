"""Workflow: decisions and due dates on violations, reasons, claims, deadlines, holidays, police
records, the published view, the scheduler's lock and job runs.

Seeds the data the workflow runs on (admins edit it afterwards): reason codes, deadline rules
versioned by effective date, and Vietnam's public holidays for 2025-2027 (Tết included; 2027 as
announced in advance, to be checked against the Government's yearly notice).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ENUM = sa.String(length=32)
_RECORD_LAW_CHANGE = date(2026, 4, 1)

# (code, Vietnamese, English, applies_to, requires_note)
REASONS = [
    (
        "unreadable_plate",
        "Không đọc được biển số",
        "Plate unreadable",
        ["reject", "dismiss"],
        False,
    ),
    (
        "priority_vehicle",
        "Xe ưu tiên đang làm nhiệm vụ khẩn cấp",
        "Emergency or priority vehicle on duty",
        ["reject", "dismiss"],
        False,
    ),
    (
        "amber_grace",
        "Đèn vàng hoặc trong thời gian cho phép",
        "Amber light or within the grace period",
        ["reject", "dismiss"],
        False,
    ),
    (
        "detection_error",
        "Lỗi nhận dạng của hệ thống",
        "Detection error",
        ["reject", "dismiss"],
        False,
    ),
    (
        "duplicate",
        "Trùng với vi phạm đã ghi nhận",
        "Duplicate of a recorded violation",
        ["reject", "dismiss"],
        False,
    ),
    (
        "not_a_violation",
        "Không phải hành vi vi phạm",
        "Not a violation",
        ["reject", "dismiss"],
        False,
    ),
    (
        "decision_error",
        "Quyết định trước đó có sai sót",
        "The earlier decision was mistaken",
        ["reopen"],
        False,
    ),
    (
        "new_evidence",
        "Có thông tin, chứng cứ mới",
        "New information or evidence",
        ["reopen"],
        False,
    ),
    (
        "other",
        "Lý do khác (ghi rõ)",
        "Other (explain in the note)",
        ["reject", "dismiss", "reopen"],
        True,
    ),
]

# (kind, effective_from, amount, unit, legal reference)
DEADLINES = [
    ("notice", date(2025, 1, 1), 10, "days", "Thông tư 73/2024/TT-BCA, Điều 24"),
    ("escalation", date(2025, 1, 1), 20, "days", "Thông tư 73/2024/TT-BCA, Điều 24"),
    ("record", date(2022, 1, 1), 3, "working_days", "Nghị định 135/2021/NĐ-CP"),
    ("record", _RECORD_LAW_CHANGE, 5, "working_days", "Nghị định 61/2026/NĐ-CP, Điều 15"),
    ("expiry", date(2025, 1, 1), 1, "years", "Nghị định 168/2024/NĐ-CP, Điều 4"),
]

_NEW_YEAR = ("Tết Dương lịch", "New Year's Day")
_HUNG_KINGS = ("Giỗ Tổ Hùng Vương (10/3 âm lịch)", "Hung Kings' Commemoration Day")
_REUNIFICATION = ("Ngày Chiến thắng (30/4)", "Reunification Day")
_LABOUR = ("Ngày Quốc tế Lao động (1/5)", "International Labour Day")
_NATIONAL = ("Quốc khánh (2/9)", "National Day")
_CULTURE = ("Ngày Văn hóa Việt Nam (24/11)", "Vietnam Culture Day")


def _tet(year_name: str) -> tuple[str, str]:
    return (f"Tết Nguyên đán {year_name}", "Lunar New Year (Tết)")


def _swap(worked: str) -> tuple[str, str]:
    return (f"Nghỉ hoán đổi (làm bù {worked})", f"Bridge day off (worked on {worked})")


def _observed(name: tuple[str, str]) -> tuple[str, str]:
    return (f"Nghỉ bù {name[0]}", f"{name[1]} (observed)")


# (day, (Vietnamese, English), working): working=True is a weekend day worked (ngày làm bù).
HOLIDAYS: list[tuple[date, tuple[str, str], bool]] = [
    (date(2025, 1, 1), _NEW_YEAR, False),
    *((date(2025, 1, d), _tet("Ất Tỵ"), False) for d in range(27, 32)),
    (date(2025, 2, 1), _tet("Ất Tỵ"), False),
    (date(2025, 4, 7), _HUNG_KINGS, False),
    (date(2025, 4, 26), ("Làm bù cho ngày 02/5/2025", "Worked in exchange for 2 May 2025"), True),
    (date(2025, 4, 30), _REUNIFICATION, False),
    (date(2025, 5, 1), _LABOUR, False),
    (date(2025, 5, 2), _swap("26/4/2025"), False),
    (date(2025, 9, 1), _NATIONAL, False),
    (date(2025, 9, 2), _NATIONAL, False),
    (date(2026, 1, 1), _NEW_YEAR, False),
    *((date(2026, 2, d), _tet("Bính Ngọ"), False) for d in range(16, 21)),
    (date(2026, 4, 26), _HUNG_KINGS, False),
    (date(2026, 4, 27), _observed(_HUNG_KINGS), False),
    (date(2026, 4, 30), _REUNIFICATION, False),
    (date(2026, 5, 1), _LABOUR, False),
    (
        date(2026, 8, 22),
        ("Làm bù cho ngày 31/8/2026", "Worked in exchange for 31 August 2026"),
        True,
    ),
    (date(2026, 8, 31), _swap("22/8/2026"), False),
    (date(2026, 9, 1), _NATIONAL, False),
    (date(2026, 9, 2), _NATIONAL, False),
    (date(2026, 11, 24), _CULTURE, False),
    (date(2027, 1, 1), _NEW_YEAR, False),
    *((date(2027, 2, d), _tet("Đinh Mùi"), False) for d in range(4, 11)),
    (date(2027, 4, 16), _HUNG_KINGS, False),
    (date(2027, 4, 30), _REUNIFICATION, False),
    (date(2027, 5, 1), _LABOUR, False),
    (date(2027, 5, 3), _observed(_LABOUR), False),
    (date(2027, 9, 2), _NATIONAL, False),
    (date(2027, 9, 3), _NATIONAL, False),
    (date(2027, 11, 24), _CULTURE, False),
]


def _violation_columns() -> list[sa.Column[object]]:
    """Fresh Column objects each time (a Column belongs to one Table once attached)."""
    return [
        sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("claimed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason_note", sa.Text(), nullable=True),
        sa.Column("legal_ref", sa.String(length=64), nullable=True),
        sa.Column("notice_due_at", TS, nullable=True),
        sa.Column("escalation_due_at", TS, nullable=True),
        sa.Column("record_due_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
    ]


_FLAGS = ("overdue_notice", "overdue_escalation", "overdue_record")
_VIOLATION_INDEXES = {
    "ix_violation_claimed_by_user_id": ["claimed_by_user_id"],
    "ix_violation_status_notice_due_at": ["status", "notice_due_at"],
    "ix_violation_status_expires_at": ["status", "expires_at"],
}


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named by the metadata's naming convention."""
    name = f"fk_{table}_{column}_{target.split('.')[0]}"
    return sa.ForeignKeyConstraint([column], [target], name=op.f(name))


def upgrade() -> None:
    """Add the workflow columns and tables, and seed reasons, deadlines and holidays."""
    for column in _violation_columns():
        op.add_column("violation", column)
    for flag in _FLAGS:
        op.add_column(
            "violation", sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for name, columns in _VIOLATION_INDEXES.items():
        op.create_index(name, "violation", columns, unique=False)
    _create_reference_data()
    _create_case_tables()
    _create_scheduler_tables()


def _create_reference_data() -> None:
    reasons = op.create_table(
        "reason_code",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label_vi", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("applies_to", sa.JSON(), nullable=False),
        sa.Column("requires_note", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reason_code")),
    )
    op.bulk_insert(
        reasons,
        [
            {
                "code": code,
                "label_vi": vi,
                "label_en": en,
                "applies_to": applies,
                "requires_note": note,
                "active": True,
                "sort_order": (i + 1) * 10,
            }
            for i, (code, vi, en, applies, note) in enumerate(REASONS)
        ],
    )
    rules = op.create_table(
        "deadline_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", ENUM, nullable=False),
        sa.Column("legal_ref", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_rule")),
        sa.UniqueConstraint(
            "kind", "effective_from", name=op.f("uq_deadline_rule_kind_effective_from")
        ),
    )
    op.bulk_insert(
        rules,
        [
            {"kind": k, "effective_from": d, "amount": n, "unit": u, "legal_ref": ref, "note": ""}
            for k, d, n, u, ref in DEADLINES
        ],
    )
    holidays = op.create_table(
        "holiday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name_vi", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_holiday")),
    )
    op.bulk_insert(
        holidays,
        [
            {
                "day": day,
                "name_vi": vi,
                "name_en": en,
                "working": working,
                "updated_by": "system:migration",
            }
            for day, (vi, en), working in HOLIDAYS
        ],
    )


def _create_case_tables() -> None:
    op.create_table(
        "review_claim",
        sa.Column("violation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("renewed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        _fk("review_claim", "violation_id", "violation.id"),
        _fk("review_claim", "user_id", "user.id"),
        sa.PrimaryKeyConstraint("violation_id", name=op.f("pk_review_claim")),
    )
    op.create_index(op.f("ix_review_claim_user_id"), "review_claim", ["user_id"])
    op.create_index(op.f("ix_review_claim_expires_at"), "review_claim", ["expires_at"])
    op.create_table(
        "review_skip",
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("skipped_at", TS, nullable=False),
        _fk("review_skip", "violation_id", "violation.id"),
        _fk("review_skip", "user_id", "user.id"),
        sa.PrimaryKeyConstraint("violation_id", "user_id", name=op.f("pk_review_skip")),
    )
    op.create_index(op.f("ix_review_skip_skipped_at"), "review_skip", ["skipped_at"])
    op.create_table(
        "police_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        _fk("police_record", "violation_id", "violation.id"),
        _fk("police_record", "unit_id", "unit.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_police_record")),
    )
    op.create_index(op.f("ix_police_record_violation_id"), "police_record", ["violation_id"])
    _create_published_violation()


def _create_published_violation() -> None:
    op.create_table(
        "published_violation",
        sa.Column("violation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_printed", sa.String(length=32), nullable=False),
        sa.Column("plate_colour", sa.String(length=16), nullable=False),
        sa.Column("plate_colour_vi", sa.String(length=64), nullable=False),
        sa.Column("vehicle_class", sa.String(length=32), nullable=False),
        sa.Column("vehicle_type_vi", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("place", sa.String(length=500), nullable=False),
        sa.Column("behaviour", sa.String(length=32), nullable=False),
        sa.Column("behaviour_vi", sa.String(length=500), nullable=False),
        sa.Column("legal_ref", sa.String(length=64), nullable=False),
        sa.Column("status_vi", sa.String(length=32), nullable=False),
        sa.Column("penalized", sa.Boolean(), nullable=False),
        sa.Column("detecting_unit", sa.String(length=200), nullable=False),
        sa.Column("handling_unit", sa.String(length=200), nullable=False),
        sa.Column("handling_unit_address", sa.String(length=500), nullable=False),
        sa.Column("handling_unit_phone", sa.String(length=32), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("published_violation", "violation_id", "violation.id"),
        sa.PrimaryKeyConstraint("violation_id", name=op.f("pk_published_violation")),
    )
    op.create_index(
        "ix_published_violation_plate_vehicle", "published_violation", ["plate", "vehicle_class"]
    )


def _create_scheduler_tables() -> None:
    lock = op.create_table(
        "scheduler_lock",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("acquired_at", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lock")),
    )
    # The row every instance competes for (an UPDATE, never an INSERT race).
    op.bulk_insert(lock, [{"name": "scheduler"}])
    op.create_table(
        "scheduler_job_run",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_scheduler_job_run")),
    )


def downgrade() -> None:
    """Drop the workflow tables and columns, dependants first."""
    for table in (
        "scheduler_job_run",
        "scheduler_lock",
        "published_violation",
        "police_record",
        "review_skip",
        "review_claim",
        "holiday",
        "deadline_rule",
        "reason_code",
    ):
        op.drop_table(table)
    with op.batch_alter_table("violation") as batch:
        for name in _VIOLATION_INDEXES:
            batch.drop_index(name)
        for name in [*(c.name for c in _violation_columns()), *_FLAGS]:
            batch.drop_column(name)
