"""The signal controller's own output as the phase source: a GPIO pin or a serial line.

Hardware varies, so the wire is read through `LineReader`, which yields text tokens:
- a GPIO pin yields `1` / `0` for its level at start and on every edge (`GpioLineReader`);
- a serial line yields one token per text line (`SerialLineReader`).
Tokens `1`/`0` are the red output's level (`active_high` says which level is red; the other level
means "not red", which the timeline records as `unknown`: a red-only wire cannot tell amber from
green, so the amber duration is then unknown too). Controllers that report their whole state send
`R`/`RED`, `A`/`Y`/`AMBER`/`YELLOW` or `G`/`GREEN` instead. Anything else is logged and ignored.

The reader runs in its own thread; between edges it re-reads the held level, so the timeline
knows the phase up to the present (the rules wait until it does).
"""

from __future__ import annotations

import logging
import os
import select
import termios
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from edge_agent.signal.timeline import PhaseTimeline
from protocol.config import ControllerInput
from protocol.enums import ControllerKind, SignalPhase, SignalSource

logger = logging.getLogger(__name__)

_STATE_TOKENS = {
    "R": SignalPhase.red,
    "RED": SignalPhase.red,
    "A": SignalPhase.amber,
    "Y": SignalPhase.amber,
    "AMBER": SignalPhase.amber,
    "YELLOW": SignalPhase.amber,
    "G": SignalPhase.green,
    "GREEN": SignalPhase.green,
}


class LineReader(Protocol):
    """Where controller tokens come from."""

    def read_token(self, timeout_s: float) -> str | None:
        """The next token, or None when none came within `timeout_s`."""
        ...

    def close(self) -> None:
        """Release the line."""
        ...


def parse_token(token: str, *, active_high: bool = True) -> SignalPhase | None:
    """The phase a token reports, or None for a token the protocol does not know."""
    text = token.strip().upper()
    if text in ("1", "0"):
        return SignalPhase.red if (text == "1") == active_high else SignalPhase.unknown
    return _STATE_TOKENS.get(text)


def utc_now() -> datetime:
    """The wall clock in UTC (frames are stamped with the same clock)."""
    return datetime.now(timezone.utc)


class ControllerSignal:
    """Feeds a timeline from a controller line, in a thread of its own."""

    def __init__(
        self,
        reader: LineReader,
        *,
        active_high: bool = True,
        timeline: PhaseTimeline | None = None,
        clock: Callable[[], datetime] = utc_now,
        poll_s: float = 0.1,
    ) -> None:
        self.reader = reader
        self.active_high = active_high
        # A controller's output is clean: one reading is enough, and "not red" is immediate.
        self.timeline = timeline or PhaseTimeline(
            SignalSource.controller, hold_s=0.0, min_readings=1, unknown_after_s=0.0
        )
        self.clock = clock
        self.poll_s = poll_s
        self.bad_tokens = 0
        self._phase: SignalPhase | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> SignalPhase | None:
        """Read one token (or re-assert the held phase on a timeout) into the timeline."""
        token = self.reader.read_token(self.poll_s)
        now = self.clock()
        if token is not None:
            phase = parse_token(token, active_high=self.active_high)
            if phase is None:
                self.bad_tokens += 1
                logger.warning("signal controller: unknown token %r ignored", token)
            else:
                self._phase = phase
        if self._phase is not None:
            self.timeline.observe(now, self._phase)
        return self._phase

    def start(self) -> None:
        """Start the reading thread."""
        self._thread = threading.Thread(target=self._run, name="signal-controller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except OSError:
                logger.exception("signal controller: read failed; retrying in 1 s")
                self._stop.wait(1.0)

    def observe_frame(self, image: object, captured_at: datetime) -> None:
        """Frames carry nothing for this source."""

    def close(self) -> None:
        """Stop the thread and release the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.reader.close()


_BAUD = {
    1200: termios.B1200,
    2400: termios.B2400,
    4800: termios.B4800,
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
}


class SerialLineReader:
    """Text lines from a serial port (raw mode, 8N1), one token a line."""

    def __init__(self, port: str, baudrate: int = 9600) -> None:
        if baudrate not in _BAUD:
            raise ValueError(f"tốc độ không hỗ trợ / unsupported baud rate {baudrate}")
        self._fd = os.open(port, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        attrs = termios.tcgetattr(self._fd)
        attrs[0] = 0  # iflag: no translation, no flow control
        attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL  # cflag: 8N1, ignore modem lines
        attrs[3] = 0  # lflag: raw, no echo
        attrs[4] = attrs[5] = _BAUD[baudrate]
        termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        self._buffer = b""

    def read_token(self, timeout_s: float) -> str | None:
        """The next non-empty line, or None when no whole line came within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                return None
            chunk = os.read(self._fd, 256)
            if not chunk:
                raise OSError("serial line closed")
            self._buffer = (self._buffer + chunk)[-4096:]  # a line never needs more
        line, self._buffer = self._buffer.split(b"\n", 1)
        text = line.decode("ascii", errors="replace").strip()
        return text or self.read_token(0.0)

    def close(self) -> None:
        """Close the port."""
        os.close(self._fd)


class GpioLineReader:
    """A GPIO pin's level through libgpiod 2 (`gpiod`, present only on the box's image)."""

    def __init__(self, pin: int, chip: str = "/dev/gpiochip0", debounce_ms: int = 20) -> None:
        import gpiod  # type: ignore[import-not-found]  # only on boxes with a wired controller
        from gpiod.line import Edge  # type: ignore[import-not-found]

        self.pin = pin
        settings = gpiod.LineSettings(
            edge_detection=Edge.BOTH, debounce_period=timedelta(milliseconds=debounce_ms)
        )
        self._request: Any = gpiod.request_lines(
            chip, consumer="trafficwatch-signal", config={pin: settings}
        )
        self._first = True

    def read_token(self, timeout_s: float) -> str | None:
        """The level now at start and after every edge; None when no edge came."""
        if self._first or self._request.wait_edge_events(timedelta(seconds=timeout_s)):
            if not self._first:
                self._request.read_edge_events()
            self._first = False
            return "1" if self._request.get_value(self.pin).value else "0"
        return None

    def close(self) -> None:
        """Release the pin."""
        self._request.release()


def open_line(config: ControllerInput) -> LineReader:
    """The reader the config describes."""
    if config.kind is ControllerKind.serial:
        assert config.port is not None  # the config's validator guarantees it
        return SerialLineReader(config.port, config.baudrate)
    assert config.pin is not None
    return GpioLineReader(config.pin)
