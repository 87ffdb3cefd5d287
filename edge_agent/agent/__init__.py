"""The agent process: stages in threads, bounded queues, heartbeat, watchdog, config, CLI."""
