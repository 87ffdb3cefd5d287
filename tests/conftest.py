"""Shared fixtures for real services: databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is
set) and MQTT brokers (the machine's Mosquitto, a process of our own, or in-process amqtt)."""

import importlib.util

_PLUGINS = ["tests.fixtures.db", "tests.fixtures.brokers", "tests.fixtures.proxy"]
pytest_plugins = [p for p in _PLUGINS if importlib.util.find_spec(p) is not None]
