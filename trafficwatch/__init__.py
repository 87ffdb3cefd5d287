"""The `trafficwatch` command: a thin package that loads each side's commands lazily."""

__version__ = "0.1.0"
