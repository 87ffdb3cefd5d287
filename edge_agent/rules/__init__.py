"""Violation rules: pure functions of tracks, calibrated geometry and the phase timeline.

`RuleEngine.update(tracks, timeline, now)` runs the enabled rules; `RuleStage` is the agent's rule
consumer around it (track history, signal input, head classifier, event sink).
"""

from edge_agent.rules.engine import RULE_VERSIONS, RuleEngine
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.stage import RuleStage, TrackHistory, rule_stage_factory
from edge_agent.rules.types import (
    Box,
    Finding,
    RiderObs,
    RiderView,
    TrackObs,
    TrackView,
    ViolationEvent,
)

__all__ = [
    "RULE_VERSIONS",
    "Box",
    "Finding",
    "RiderObs",
    "RiderView",
    "RuleEngine",
    "RuleSettings",
    "RuleStage",
    "TrackHistory",
    "TrackObs",
    "TrackView",
    "ViolationEvent",
    "rule_stage_factory",
]
