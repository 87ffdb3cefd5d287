"""Build the catalogue data file from the decree's text (one clause or point a line).

    python -m central_server.catalogue.build nd168_excerpt.txt \
        > central_server/catalogue/data/nd168_2024.json

Each input line is `article.clause.point | text`. A clause line that fines ("Phạt tiền từ X đồng
đến Y đồng ...") gives the range of its points; the point-deduction clauses ("... bị trừ điểm giấy
phép lái xe NN điểm", e.g. 6.16) give each listed point or whole clause its points. The mapping
from the box's behaviour codes to clauses is written here by hand (vn_traffic.md §3).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Behaviour code -> vehicle class -> the clause that fines it (Articles 6: cars and the like,
# 7: motorbikes). Bicycles and e-bikes fall under Article 9, outside the excerpt: no entry.
CAR_CLASSES = ("car", "bus", "truck")
BEHAVIOUR_CLAUSES: dict[str, tuple[str | None, str | None]] = {
    # behaviour: (car-like clause, motorbike clause)
    "red_light": ("6.9.b", "7.7.c"),
    "wrong_lane": ("6.5.b", "7.3.d"),
    "solid_line": ("6.1.a", "7.1.a"),
    "illegal_lane_change": ("6.2.a", "7.1.e"),
    "no_helmet": (None, "7.2.h"),
    "passenger_no_helmet": (None, "7.2.i"),
    "wrong_way": ("6.9.d", "7.7.a"),
}

_FINE = re.compile(r"Phạt tiền từ ([\d.]+) đồng đến ([\d.]+) đồng")
_ORG_FINE = re.compile(r"từ ([\d.]+) đồng đến ([\d.]+) đồng đối với tổ chức")
_POINTS = re.compile(r"bị trừ điểm giấy phép lái xe (\d+) điểm")
_TARGET = re.compile(r"điểm\s*([a-zđ])(?=[\s,;]|khoản)|khoản\s*(\d+)")


def _vnd(text: str) -> int:
    return int(text.replace(".", ""))


def parse_lines(lines: Iterable[str]) -> dict[str, str]:
    """Map each reference (`6`, `6.9`, `6.9.b`) to its text, in file order."""
    texts: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        ref, _, text = line.partition(" | ")
        texts[ref.strip()] = text.strip()
    return texts


def _deduction_targets(text: str, article: str) -> list[str]:
    """The references a point-deduction line names: `điểm a, điểm b khoản 4; khoản 6` ..."""
    listed = text.split("Điều này")[0]
    targets: list[str] = []
    pending: list[str] = []
    for match in _TARGET.finditer(listed):
        letter, clause = match.groups()
        if letter is not None:
            pending.append(letter)
            continue
        prefix = f"{article}.{clause}"
        if pending:
            targets.extend(f"{prefix}.{p}" for p in pending)
        else:
            targets.append(prefix)
        pending = []
    return targets


def _points_by_ref(texts: dict[str, str]) -> dict[str, int]:
    points: dict[str, int] = {}
    for ref, text in texts.items():
        found = _POINTS.search(text)
        if found is None or ref.count(".") != 2:
            continue
        for target in _deduction_targets(text, ref.split(".")[0]):
            points[target] = int(found.group(1))
    return points


def _fine_ranges(text: str) -> dict[str, int] | None:
    fine = _FINE.search(text)
    if fine is None:
        return None
    low, high = _vnd(fine.group(1)), _vnd(fine.group(2))
    org = _ORG_FINE.search(text)
    # Organisations pay double unless the clause states their range (Decree 168, Art. 4).
    org_low, org_high = (_vnd(org.group(1)), _vnd(org.group(2))) if org else (2 * low, 2 * high)
    return {"fine_min": low, "fine_max": high, "org_fine_min": org_low, "org_fine_max": org_high}


def _clause_entries(texts: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per fining point, or per fining clause that has no points."""
    points = _points_by_ref(texts)
    entries: list[dict[str, Any]] = []
    for ref, text in texts.items():
        parts = ref.split(".")
        if len(parts) < 2:
            continue
        clause_ref = ".".join(parts[:2])
        fines = _fine_ranges(texts.get(clause_ref, ""))
        has_points = any(r.startswith(f"{clause_ref}.") for r in texts)
        if fines is None or (len(parts) == 2 and has_points):
            continue
        deducted = points.get(ref, points.get(clause_ref, 0))
        entries.append({"ref": ref, "text_vi": text.rstrip(";."), **fines, "points": deducted})
    return entries


def build(texts: dict[str, str]) -> dict[str, Any]:
    """The catalogue document for Decree 168/2024 from the excerpt's lines."""
    behaviours: dict[str, dict[str, str]] = {}
    for code, (car_ref, moto_ref) in BEHAVIOUR_CLAUSES.items():
        by_class = {cls: car_ref for cls in CAR_CLASSES if car_ref is not None}
        if moto_ref is not None:
            by_class["motorbike"] = moto_ref
        behaviours[code] = by_class
    return {
        "id": "nd168-2024",
        "decree": "168/2024/NĐ-CP",
        "short": "168/2024",
        "effective_from": "2025-01-01",
        "effective_to": None,
        "source": "Nghị định 168/2024/NĐ-CP, Điều 6, 7, 12, 13, 14 (nd168_excerpt.txt)",
        "articles": {ref: text for ref, text in texts.items() if "." not in ref},
        "clauses": _clause_entries(texts),
        "behaviours": behaviours,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the catalogue JSON built from the excerpt file."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("excerpt", type=Path, help="nd168_excerpt.txt")
    args = parser.parse_args(argv)
    texts = parse_lines(args.excerpt.read_text(encoding="utf-8").splitlines())
    document = build(texts)
    missing = [
        ref
        for by_class in document["behaviours"].values()
        for ref in by_class.values()
        if ref not in {c["ref"] for c in document["clauses"]}
    ]
    if missing:
        sys.stderr.write(f"behaviour clauses not in the excerpt: {sorted(set(missing))}\n")
        return 1
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
