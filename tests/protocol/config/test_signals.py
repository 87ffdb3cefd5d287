"""Signal sources: fixed plans add up, controllers are wired."""

from __future__ import annotations

import pytest

from protocol.config import ControllerInput, FixedPlan, SignalSection


def test_fixed_plan_must_add_up_to_its_cycle() -> None:
    phases = [{"colour": "green", "duration_s": 30}, {"colour": "red", "duration_s": 20}]
    with pytest.raises(ValueError, match="cycle_s"):
        FixedPlan.model_validate({"cycle_s": 60, "phases": phases})
    assert FixedPlan.model_validate({"cycle_s": 50, "phases": phases, "offset_s": 7}).offset_s == 7
    with pytest.raises(ValueError, match="offset_s"):
        FixedPlan.model_validate({"cycle_s": 50, "phases": phases, "offset_s": 50})
    with pytest.raises(ValueError, match="unknown"):
        FixedPlan.model_validate({"cycle_s": 5, "phases": [{"colour": "unknown", "duration_s": 5}]})


def test_controller_inputs_are_wired() -> None:
    with pytest.raises(ValueError, match="pin"):
        ControllerInput.model_validate({"kind": "gpio"})
    with pytest.raises(ValueError, match="port"):
        ControllerInput.model_validate({"kind": "serial"})
    assert ControllerInput.model_validate({"kind": "gpio", "pin": 17}).active_high


def test_source_needs_its_settings() -> None:
    with pytest.raises(ValueError, match="controller"):
        SignalSection.model_validate({"source": "controller"})
    with pytest.raises(ValueError, match="fixed_plan"):
        SignalSection.model_validate({"source": "fixed_plan"})
