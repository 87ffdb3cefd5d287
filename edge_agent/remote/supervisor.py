"""The agent's life cycle under remote control: run, restart on command, try a pushed config and
roll it back when it fails to start. `trafficwatch agent run` hands the agent to `Supervisor.run`.

One agent runs at a time. A restart or a config trial stops the running agent (in reverse start
order, as always), then starts the next; a config that fails its trial is stopped, its file
replaced by the previous one, and the agent started again on that. Commands and config messages
are handled meanwhile by the remote worker (`control.RemoteControl`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.agent.assemble import StartupError, publisher_settings, server_public_key
from edge_agent.agent.config_loader import ConfigError
from edge_agent.agent.runtime import Agent
from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher
from edge_agent.remote.commands import DEFAULT_MAX_AGE_S, SNAPSHOT_MAX_AGE_S, CommandTools
from edge_agent.remote.config_apply import TrialLimits, needs_link, render_yaml, watch_trial
from edge_agent.remote.control import Action, Keys, RemoteControl, Restart
from edge_agent.remote.files import ConfigFiles
from edge_agent.remote.frames import LatestFrame
from edge_agent.remote.logs import RecentLog
from edge_agent.remote.state import Trial
from protocol.config import DeviceConfig, SignedConfig, config_sha256
from protocol.enums import ConfigApplyState
from protocol.errors import ProtocolError
from protocol.keys import private_key_from_pem
from protocol.status import StatusHeartbeat

logger = logging.getLogger(__name__)

BuildAgent = Callable[[DeviceConfig], Agent]
EXIT_FAILED = 1


@dataclass(frozen=True)
class RemoteOptions:
    """Limits of remote control on the box."""

    trial: TrialLimits = field(default_factory=TrialLimits)
    command_max_age_s: float = DEFAULT_MAX_AGE_S
    snapshot_max_age_s: float = SNAPSHOT_MAX_AGE_S


def load_keys(config: DeviceConfig) -> Keys | None:
    """The keys remote control needs; None (remote control off, logged) when one is missing."""
    try:
        device = private_key_from_pem(Path(config.keys.device_key).read_bytes())
        server = server_public_key(config.keys.server_public_key)
    except (OSError, ProtocolError, StartupError) as exc:
        logger.error("remote configuration and commands are off: %s", exc)
        return None
    return Keys(device=device, server=server)


class Supervisor:
    """Runs one agent at a time for the config file at `config_path`."""

    def __init__(
        self,
        config_path: Path | str,
        config: DeviceConfig,
        build: BuildAgent,
        options: RemoteOptions | None = None,
        log: RecentLog | None = None,
    ) -> None:
        self.files = ConfigFiles(config_path)
        self.config = config
        self.build = build
        self.options = options or RemoteOptions()
        self.frames = LatestFrame()
        self.agent: Agent | None = None
        self.exit_code = 0
        self._stop = threading.Event()
        self.remote = self._make_remote(config, log)

    def _make_remote(self, config: DeviceConfig, log: RecentLog | None) -> RemoteControl | None:
        keys = load_keys(config)
        if keys is None:
            return None
        tools = CommandTools(
            latest_frame=self.frames.get,
            outbox=self._outbox,
            log=log,
            snapshot_max_age_s=self.options.snapshot_max_age_s,
        )
        return RemoteControl(
            self.files, config.device.id, keys, tools, self.options.command_max_age_s
        )

    def _outbox(self) -> Outbox | None:
        agent = self.agent
        return agent.parts.outbox if agent is not None else None

    def request_stop(self) -> None:
        """Stop the running agent and end `run()` (signal handlers call this)."""
        self._stop.set()
        agent = self.agent
        if agent is not None:
            agent.request_stop()

    def run(self) -> int:
        """Run until told to stop, the stream ends or the watchdog gives up; the exit code.

        Raises `StartupError` (or what `Agent.start` raised) when the config in force cannot
        start at all: that is the technician's to fix, not something to roll back.
        """
        agent: Agent | None = self._start(self.config)
        if self.remote is not None:
            self.remote.start()
        try:
            while agent is not None:
                action = self._wait(agent)
                if action is None:
                    return agent.stop()
                if isinstance(action, Restart):
                    agent.stop()
                    logger.warning("restarting the agent on command: %s", action.reason or "-")
                    agent = self._start_or_give_up(self.config)
                    continue
                text = self._prepare(action.signed)
                if text is not None:
                    agent.stop()
                    agent = self._apply(action.signed, text)
            return self.exit_code
        finally:
            self.agent = None
            if self.remote is not None:
                self.remote.stop()

    def _wait(self, agent: Agent) -> Action | None:
        while True:
            finished = agent.wait(timeout=0.5)
            if self._stop.is_set():
                return None
            action = self.remote.take_action() if self.remote is not None else None
            if action is not None or finished:
                return action

    # --- starting an agent ---

    def _start(self, config: DeviceConfig) -> Agent:
        agent = self.build(config)
        self._attach(agent, config)
        self.agent = agent
        try:
            agent.start()
        except Exception:
            agent.stop()
            self.agent = None
            raise
        return agent

    def _start_or_give_up(self, config: DeviceConfig) -> Agent | None:
        try:
            return self._start(config)
        except Exception:
            logger.exception("the agent failed to start again")
            self.exit_code = EXIT_FAILED
            return None

    def _attach(self, agent: Agent, config: DeviceConfig) -> None:
        """Show the camera's frames to the snapshot tap; give the publisher the remote inbox."""
        parts = agent.parts
        parts.frame_taps = (*parts.frame_taps, self.frames)
        if self.remote is None or parts.make_publisher is None or parts.outbox is None:
            return
        settings = dataclasses.replace(publisher_settings(config), remote=self.remote.inbox)
        key, outbox = server_public_key(config.keys.server_public_key), parts.outbox

        def make_publisher(online: Callable[[], StatusHeartbeat]) -> Publisher:
            return Publisher(settings, outbox, key, online_status=online)

        parts.make_publisher = make_publisher

    # --- restarts and config trials ---

    def _prepare(self, signed: SignedConfig) -> str | None:
        """The YAML to try; None (answered) when it needs no trial: it is what runs already,
        or it does not survive being written out."""
        assert self.remote is not None
        version, sha = signed.version, config_sha256(signed.config)
        if sha == config_sha256(self.config):
            self._record_running(version, sha, trial=False)
            message = "đã chạy đúng cấu hình này / already running this config"
            self.remote.report_config(ConfigApplyState.applied, version, sha, message)
            return None
        try:
            return render_yaml(signed)
        except ConfigError as exc:
            with self.remote.store.update() as state:
                state.seen_version = max(state.seen_version, version)
            message = "; ".join(exc.problems)
            self.remote.report_config(ConfigApplyState.refused, version, sha, message)
            return None

    def _record_running(self, version: int, sha: str, *, trial: bool) -> None:
        assert self.remote is not None
        with self.remote.store.update() as state:
            state.seen_version = max(state.seen_version, version)
            state.trial = Trial(version, sha, time.time()) if trial else None
            if not trial:
                state.running_version, state.running_sha256 = version, sha

    def _apply(self, signed: SignedConfig, text: str) -> Agent | None:
        assert self.remote is not None
        old, new = self.config, signed.config
        version, sha = signed.version, config_sha256(new)
        self._record_running(version, sha, trial=True)  # first: a crash from here rolls back
        logger.warning("trying config version %d (sha256 %s)", version, sha)
        try:
            self.files.install(text)
        except OSError as exc:
            failure: str | None = f"không ghi được tệp cấu hình / cannot write the config: {exc}"
            agent = None
        else:
            agent, failure = self._try(new, needs_link(old, new))
        if agent is not None:
            self._record_running(version, sha, trial=False)
            self.config = new
            self.remote.report_config(
                ConfigApplyState.applied, version, sha, "đã áp dụng / applied"
            )
            logger.warning("config version %d applied", version)
            return agent
        logger.error("config version %d failed (%s): rolling back", version, failure)
        self.files.restore_previous()
        with self.remote.store.update() as state:
            state.trial = None
        message = f"đã quay về cấu hình trước / rolled back: {failure}"
        self.remote.report_config(ConfigApplyState.rolled_back, version, sha, message)
        return None if self._stop.is_set() else self._start_or_give_up(old)

    def _try(self, config: DeviceConfig, link: bool) -> tuple[Agent | None, str | None]:
        try:
            agent = self._start(config)
        except Exception as exc:
            logger.exception("the new config does not start")
            return None, f"không khởi động được / does not start: {exc}"
        failure = watch_trial(agent, self.options.trial, link, self._stop)
        if failure is not None:
            agent.stop()
            self.agent = None
            return None, failure
        return agent, None
