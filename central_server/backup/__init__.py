"""Backup and restore: the database and the evidence store together, consistently, with the
server's keys and a hashed manifest; restore into an empty installation, then verify it
(docs/operate-backup.md)."""
