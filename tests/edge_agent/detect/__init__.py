"""Tests of the detector: letterboxing, NMS, both TFLite backends on real frames."""
