"""The violation catalogue: behaviour x vehicle class -> clause, fine range and points in force."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from central_server.catalogue import build
from central_server.catalogue.service import DATA_DIR, clause, load_catalogues, lookup
from protocol.enums import BehaviourCode, VehicleClass

VN = timezone(timedelta(hours=7))
IN_2026 = datetime(2026, 6, 1, 8, tzinfo=VN)
EXCERPT = Path(__file__).resolve().parents[4] / "shared" / "domain" / "nd168_excerpt.txt"

B, V = BehaviourCode, VehicleClass


@pytest.mark.parametrize(
    ("behaviour", "vehicle", "ref", "fine_min", "fine_max", "points"),
    [  # vn_traffic.md §3
        (B.red_light, V.car, "6.9.b", 18_000_000, 20_000_000, 4),
        (B.red_light, V.motorbike, "7.7.c", 4_000_000, 6_000_000, 4),
        (B.wrong_lane, V.truck, "6.5.b", 4_000_000, 6_000_000, 2),
        (B.wrong_lane, V.motorbike, "7.3.d", 600_000, 800_000, 0),
        (B.solid_line, V.bus, "6.1.a", 400_000, 600_000, 0),
        (B.solid_line, V.motorbike, "7.1.a", 200_000, 400_000, 0),
        (B.illegal_lane_change, V.car, "6.2.a", 600_000, 800_000, 0),
        (B.illegal_lane_change, V.motorbike, "7.1.e", 200_000, 400_000, 0),
        (B.no_helmet, V.motorbike, "7.2.h", 400_000, 600_000, 0),
        (B.passenger_no_helmet, V.motorbike, "7.2.i", 400_000, 600_000, 0),
        (B.wrong_way, V.car, "6.9.d", 18_000_000, 20_000_000, 4),
        (B.wrong_way, V.motorbike, "7.7.a", 4_000_000, 6_000_000, 2),
    ],
)
def test_each_behaviour_maps_to_its_clause_range_and_points(
    behaviour: BehaviourCode,
    vehicle: VehicleClass,
    ref: str,
    fine_min: int,
    fine_max: int,
    points: int,
) -> None:
    entry = lookup(behaviour, vehicle, IN_2026)
    assert entry is not None
    assert (entry.ref, entry.fine_min, entry.fine_max, entry.points) == (
        ref,
        fine_min,
        fine_max,
        points,
    )
    assert entry.legal_ref == f"168/2024 {ref}"
    assert entry.org_fine_max == 2 * fine_max  # organisations pay double


def test_what_the_excerpt_does_not_cover_has_no_entry() -> None:
    assert lookup(B.no_helmet, V.car, IN_2026) is None
    assert lookup(B.red_light, V.bicycle, IN_2026) is None  # Article 9, not in the excerpt
    # Before Decree 168 came into force no catalogue applies.
    assert lookup(B.red_light, V.car, datetime(2024, 12, 31, 23, tzinfo=VN)) is None


def test_clauses_from_articles_12_to_14_are_there_with_their_points() -> None:
    plate = clause("13.8.a", IN_2026)  # a plate not matching the registration: 10 points
    assert plate is not None and (plate.points, plate.fine_min) == (10, 20_000_000)
    organisation = clause("12.3", IN_2026)  # the organisation range is stated in the clause
    assert organisation is not None and organisation.org_fine_min == 500_000


def test_the_version_in_force_on_the_violation_date_applies(tmp_path: Path) -> None:
    current = json.loads((DATA_DIR / "nd168_2024.json").read_text(encoding="utf-8"))
    amended = current | {"id": "amended", "effective_from": "2026-08-15"}
    amended["clauses"] = [
        c | {"fine_min": 1} if c["ref"] == "6.9.b" else c for c in current["clauses"]
    ]
    (tmp_path / "a.json").write_text(json.dumps(current | {"effective_to": "2026-08-15"}))
    (tmp_path / "b.json").write_text(json.dumps(amended))
    versions = load_catalogues(tmp_path)
    assert [v.id for v in versions] == ["nd168-2024", "amended"]
    on = {v.id: v.in_force(datetime(2026, 8, 14).date()) for v in versions}
    assert on == {"nd168-2024": True, "amended": False}


@pytest.mark.skipif(not EXCERPT.exists(), reason="the decree excerpt is kept beside the repository")
def test_the_shipped_file_is_what_the_builder_makes_from_the_excerpt() -> None:
    texts = build.parse_lines(EXCERPT.read_text(encoding="utf-8").splitlines())
    shipped = json.loads((DATA_DIR / "nd168_2024.json").read_text(encoding="utf-8"))
    assert build.build(texts) == shipped
