"""Shared fixtures for real services: databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is
set), MQTT brokers (the machine's Mosquitto, a process of our own, or in-process amqtt), a
fault-injecting TCP proxy, and a tiny filesystem to fill up."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.brokers",
    "tests.fixtures.proxy",
    "tests.fixtures.disk",
    "tests.fixtures.browser",
]
