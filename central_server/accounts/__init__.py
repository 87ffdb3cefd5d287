"""Staff accounts: users, roles and scopes, passwords, sessions, API tokens and TOTP."""
