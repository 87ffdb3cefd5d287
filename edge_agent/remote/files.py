"""The files remote control keeps beside the running config, all replaced atomically.

    site.yaml            the config in force (the technician's, or the last pushed one)
    site.previous.yaml   the config before the last push: what a rollback restores
    site.remote.json     what the box remembers (`state.RemoteState`)
    site.replies/        replies waiting to be published (`replies.ReplySpool`)

Each is replaced with `edge_agent.atomic_files.write_atomic`: a power cut leaves the old or the
new file, never half of one.
"""

from __future__ import annotations

from pathlib import Path

from edge_agent.atomic_files import fsync_dir, write_atomic

__all__ = ["ConfigFiles", "fsync_dir", "write_atomic"]


class ConfigFiles:
    """Where the running config, the previous one, the state and the reply spool live."""

    def __init__(self, config_path: Path | str) -> None:
        self.path = Path(config_path)
        stem, suffix = self.path.stem, self.path.suffix or ".yaml"
        self.previous = self.path.with_name(f"{stem}.previous{suffix}")
        self.state = self.path.with_name(f"{stem}.remote.json")
        self.replies = self.path.with_name(f"{stem}.replies")

    def install(self, text: str) -> None:
        """Keep the running config as the previous one, then put `text` in its place."""
        write_atomic(self.previous, self.path.read_bytes())
        write_atomic(self.path, text.encode("utf-8"))

    def restore_previous(self) -> bool:
        """Put the previous config back in force; False when there is none."""
        try:
            data = self.previous.read_bytes()
        except FileNotFoundError:
            return False
        write_atomic(self.path, data)
        return True
