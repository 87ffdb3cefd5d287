"""The agent builds its rule stage from the config."""

from __future__ import annotations

import pytest

from edge_agent.agent.assemble import StartupError, default_rules
from edge_agent.agent.stages import NoRules
from edge_agent.rules.stage import RuleStage
from protocol.enums import SignalSource
from tests.factories import make_device_config


def test_enabled_rules_get_the_rule_stage_with_the_configured_signal() -> None:
    stage = default_rules(make_device_config())()  # red light, light read by the classifier
    assert isinstance(stage, RuleStage)
    assert stage.signal is not None and stage.signal.timeline.source is SignalSource.classifier
    stage.close()


def test_no_rules_enabled_keeps_the_counting_stage() -> None:
    assert isinstance(default_rules(make_device_config(rules={"enabled": []}))(), NoRules)


def test_a_controller_port_that_cannot_be_opened_stops_the_agent_at_start_up() -> None:
    signal = {"source": "controller", "controller": {"kind": "serial", "port": "/dev/no-such-tty"}}
    with pytest.raises(StartupError, match="signal"):
        default_rules(make_device_config(signal=signal))
