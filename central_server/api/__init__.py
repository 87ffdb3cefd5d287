"""The staff API (`/api/v1/...`): cases, evidence, claims, transitions, police records, users,
master data and the audit log. Each router declares its permission per endpoint."""
