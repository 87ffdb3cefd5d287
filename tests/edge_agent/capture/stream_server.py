"""A camera you can break: an MPEG-TS (H.264) stream over TCP that can drop and come back.

Like an RTSP camera behind a flaky link, it serves a live stream to whoever connects; the test can
cut the stream mid-way (the socket closes after `cut_after` bytes and the port refuses
connections) and bring it back (`resume()`), then watch the source reconnect.
"""

from __future__ import annotations

import socket
import threading
import time


class BreakableStream:
    """Serves `payload` to each TCP client, paced like a live camera."""

    def __init__(self, payload: bytes, *, chunk: int = 4096, bytes_per_s: float = 2e6) -> None:
        self.payload = payload
        self.chunk = chunk
        self.pause_s = chunk / bytes_per_s
        self.cut_after: int | None = None  # bytes sent on a connection before it breaks
        self.connections = 0
        self.broken = threading.Event()
        self.gone = threading.Event()  # the port refuses connections
        self._listener: socket.socket | None = None
        self._port = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the source connects."""
        return f"tcp://127.0.0.1:{self._port}"

    def start(self) -> None:
        """Listen on a free port and serve."""
        self._listen()
        self._thread = threading.Thread(target=self._serve, name="test-stream", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", self._port))
        except OSError:
            listener.close()
            raise
        self._port = listener.getsockname()[1]
        listener.listen(4)
        listener.settimeout(0.1)
        self._listener = listener

    def resume(self) -> None:
        """Accept connections again (after a break), serving the whole payload."""
        if not self.gone.wait(10):
            raise RuntimeError("the stream never broke")
        self.cut_after = None
        self.broken.clear()
        self.gone.clear()
        self._listen()

    def _serve(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                self._send(conn)
            if self.broken.is_set():
                self._listener = None
                listener.close()  # the camera is gone: connections are refused
                self.gone.set()

    def _send(self, conn: socket.socket) -> None:
        sent = 0
        limit = self.cut_after if self.cut_after is not None else len(self.payload)
        try:
            while sent < limit and not self._stop.is_set():
                piece = self.payload[sent : min(sent + self.chunk, limit)]
                conn.sendall(piece)
                sent += len(piece)
                time.sleep(self.pause_s)
        except OSError:
            return
        if self.cut_after is not None:
            self.broken.set()

    def close(self) -> None:
        """Stop serving."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._listener is not None:
            self._listener.close()
