"""Where a run's files can be opened: a folder served over HTTP (``budgetwatch serve`` serves the output folder on
loopback beside the Prefect UI), so that reports and findings open from the UI, an e-mail or a webhook post.

A file outside the served folder has no address: links to it are left out rather than given as a path on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Site:
    """A folder on this machine and the http(s) URL it is served at."""

    root: Path
    url: str

    @classmethod
    def of(cls, settings: dict | None) -> Site | None:
        """From the saved setting ``{"root": folder, "url": address}``; None when nothing is served."""
        if not settings or not settings.get("root") or not settings.get("url"):
            return None
        return cls(Path(settings["root"]).resolve(), str(settings["url"]).rstrip("/") + "/")

    def link(self, path: str | Path | None) -> str | None:
        """The URL of a file under the served folder; None for anything outside it."""
        if path is None:
            return None
        target = Path(path).resolve()
        if not target.is_relative_to(self.root):
            return None
        return self.url + quote(target.relative_to(self.root).as_posix())


def link(site: Site | None, path: str | Path | None) -> str | None:
    return site.link(path) if site else None
