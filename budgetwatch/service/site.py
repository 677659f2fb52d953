"""The output folder served read-only over HTTP (on loopback unless told otherwise), so that run reports and findings
files open from the Prefect UI, an e-mail or a webhook post; browsers refuse ``file://`` links from a web page."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
          ".csv": "text/csv; charset=utf-8", ".svg": "image/svg+xml"}  # fmt: skip


class _Handler(SimpleHTTPRequestHandler):
    """Files under the folder, GET and HEAD only; no request log on the terminal (the server's own)."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TYPES}  # noqa: RUF012 - the base class's own

    def log_message(self, format: str, *args: object) -> None:
        return


class ReportSite:
    """A folder served at ``url`` by a thread of this process."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Handler, directory=str(self.root))
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="budgetwatch-reports", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> ReportSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def settings(self) -> dict[str, str]:
        """What the flows need to link files under the folder: ``{"root": folder, "url": address}``."""
        return {"root": str(self.root), "url": self.url}
