"""Real receivers on loopback for alert tests: an SMTP server (aiosmtpd) and a Slack-style webhook endpoint."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class _Controller(Controller):
    """aiosmtpd's controller on an ephemeral port (it probes the configured port, so read the bound one first)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """Accepts every message; ``messages`` holds (recipients, parsed message)."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self._controller = _Controller(self, hostname="127.0.0.1", port=0)

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._controller.port

    def url(self, to: str = "stewards@budgetwatch.example") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=budgetwatch@budgetwatch.example&to={to}"

    def bodies(self) -> list[str]:
        out = []
        for _, message in self.messages:
            part = message.get_body(preferencelist=("plain", "html"))
            out.append(part.get_content() if part else message.get_content())
        return out


class WebhookSink:
    """An HTTP endpoint that records JSON posts; answers ``status`` (200 unless set otherwise)."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if sink.status == 200:
                    sink.posts.append(json.loads(body))
                self.send_response(sink.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/budgetwatch"
