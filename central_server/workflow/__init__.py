"""The case workflow: the state machine, review claims, reasons, deadlines, police records."""
