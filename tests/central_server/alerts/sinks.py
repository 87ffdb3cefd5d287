"""Local receivers for alert deliveries: a tiny SMTP server and an HTTP webhook endpoint.

The SMTP sink speaks just enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for
`smtplib` to deliver a message over a real TCP connection; each message is parsed with `email`.
The webhook sink records each POST's headers and JSON body and answers with the status it is
told to (a list, one per call, then 200).
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SmtpSink:
    """Messages received, with their envelope recipients."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        self._say("220 sink ESMTP")
        rcpts: list[str] = []
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._say("250-sink")
                self._say("250 8BITMIME")
            elif verb in ("HELO", "MAIL", "NOOP"):
                self._say("250 OK")
            elif verb == "RSET":
                rcpts = []
                self._say("250 OK")
            elif verb == "RCPT":
                rcpts.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with <CRLF>.<CRLF>")
                sink.messages.append(self._read_data())
                sink.recipients.append(rcpts)
                rcpts = []
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not implemented")

    def _read_data(self) -> EmailMessage:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        parsed = message_from_bytes(b"".join(lines), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server on a free local port for the block."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    sink = SmtpSink("127.0.0.1", server.server_address[1])
    server.sink = sink  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="smtp-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class WebhookSink:
    """Calls received; `answers` are the statuses of the next calls (then 200)."""

    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        sink: WebhookSink = self.server.sink  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sink.calls.append({"headers": dict(self.headers), "json": json.loads(body)})
        status = sink.answers.pop(0) if sink.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows stderr of failing tests only."""


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    """An HTTP server on a free local port taking POSTs at /hook for the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    server.daemon_threads = True
    sink = WebhookSink(f"http://127.0.0.1:{server.server_address[1]}/hook")
    server.sink = sink  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="webhook-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
