"""One line of a verification report: passed, failed or a warning, in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fail", "warn"]


@dataclass(frozen=True)
class Check:
    """A check and its outcome."""

    status: Status
    label_vi: str
    label_en: str
    detail: str = ""

    def line(self) -> str:
        """The report line: a mark, the Vietnamese, the English, the detail."""
        mark = {"ok": "[ĐẠT / OK]  ", "fail": "[LỖI / FAIL]", "warn": "[LƯU Ý / NOTE]"}[self.status]
        detail = f" — {self.detail}" if self.detail else ""
        return f"{mark} {self.label_vi} / {self.label_en}{detail}"


def ok(label_vi: str, label_en: str, detail: str = "") -> Check:
    """A passed check."""
    return Check("ok", label_vi, label_en, detail)


def fail(label_vi: str, label_en: str, detail: str = "") -> Check:
    """A failed check: the bundle does not hold."""
    return Check("fail", label_vi, label_en, detail)


def warn(label_vi: str, label_en: str, detail: str = "") -> Check:
    """Something the reader should know that does not fail the bundle."""
    return Check("warn", label_vi, label_en, detail)
