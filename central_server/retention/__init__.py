"""Retention: purge media and personal fields when the law no longer needs them (hashes stay)."""
