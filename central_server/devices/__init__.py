"""Devices: enrolment records, key history with sequence ranges, revocation."""
