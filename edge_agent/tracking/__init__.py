"""Multi-object tracking (ByteTrack-style) and rider ↔ motorbike association."""

from edge_agent.tracking.bytetrack import CLASS_GROUPS, ByteTracker, DetectionLike, TrackedObject
from edge_agent.tracking.riders import RiderLinker, link_riders, rider_overlap

__all__ = [
    "CLASS_GROUPS",
    "ByteTracker",
    "DetectionLike",
    "RiderLinker",
    "TrackedObject",
    "link_riders",
    "rider_overlap",
]
