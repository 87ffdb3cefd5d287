"""The field technician's tools: enrol, configure, calibrate and check a box (issue #12)."""
