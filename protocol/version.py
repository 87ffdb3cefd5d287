"""Protocol version: a major change breaks the wire format, a minor one only adds fields."""

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 0
