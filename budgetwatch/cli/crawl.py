"""`budgetwatch crawl`: crawl configured sources, an ad-hoc column URL, or the embedded sample portal, and report."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from budgetwatch.acquire import sources
    from budgetwatch.acquire.crawl import SourceResult

# the crawler's modules are imported when a crawl runs: building the command line's parser needs none of them

DEFAULT_ARCHIVE = "budgetwatch-archive"
CRAWL_WORKERS = int(os.environ.get("BUDGETWATCH_CRAWL_WORKERS") or 4)  # sources are on different hosts


class UsageError(Exception):
    """Wrong arguments or configuration (exit status 2)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crawl",
        help="fetch and archive new reports from the portal columns; exit 0 clean, 1 a source failed, 2 bad arguments",
    )
    p.add_argument("urls", nargs="*", metavar="URL", help="ad-hoc column URLs (no configuration entry needed)")
    p.add_argument(
        "--source", action="extend", nargs="+", default=[], metavar="ID", help="only these configured sources"
    )
    p.add_argument("--sources-file", help="a registry file (default: the bundled budgetwatch/data/sources.yaml)")
    p.add_argument("--sample-portal", action="store_true", help="serve the embedded sample portal and crawl it")
    p.add_argument(
        "--department",
        action="append",
        default=[],
        metavar="NAME",
        help="follow only this department's reports (repeatable; default: the source's, for a URL every department)",
    )
    p.add_argument("--allow-local", action="store_true", help="permit a loopback test portal (and nothing else)")
    p.add_argument("--archive", default=DEFAULT_ARCHIVE, help=f"archive folder (default: ./{DEFAULT_ARCHIVE})")
    p.add_argument("--force", action="store_true", help="download everything again (ignore ETag / Last-Modified)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--workers", type=int, default=CRAWL_WORKERS, help=f"sources crawled side by side (default {CRAWL_WORKERS})"
    )
    p.set_defaults(run=run)


def adhoc_source(url: str, departments: list[str], allow_local: bool) -> sources.Source:
    """A generic-portal source for one column URL: its own host only."""
    from budgetwatch.acquire import sources  # noqa: PLC0415

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url}: not an http(s) URL")
    return sources.Source(
        id=url,
        name=parts.hostname,
        scheme=parts.scheme,
        allowed_hosts=(parts.hostname,),
        columns=(sources.Column(url=url),),
        platform="generic",
        departments=tuple(departments),  # none given: every department's reports
        local_test=allow_local,
        min_interval=0.0 if allow_local else 1.0,
    )


def configured_sources(file: str | None, wanted: list[str], departments: list[str]) -> list[sources.Source]:
    from budgetwatch.acquire import sources  # noqa: PLC0415

    try:
        registry = sources.load(file)
    except (sources.RegistryError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    by_id = {s.id: s for s in registry}
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise UsageError(f"unknown source {', '.join(unknown)} (see `budgetwatch sources`)")
    chosen = [by_id[i] for i in wanted] if wanted else [s for s in registry if s.enabled]
    disabled = [s.id for s in chosen if not s.enabled]
    if disabled:
        raise UsageError(f"source {', '.join(disabled)} is disabled in the registry")
    unsound = [f"{s.id} {s.name}: {p}" for s in chosen for p in s.problems]
    if unsound:
        raise UsageError("; ".join(unsound))
    if departments:
        chosen = [_with_departments(s, departments) for s in chosen]
    return chosen


def _with_departments(source: sources.Source, departments: list[str]) -> sources.Source:
    fields = {name: getattr(source, name) for name in source.__dataclass_fields__ if name != "problems"}
    return type(source)(**{**fields, "departments": tuple(departments)})


@contextlib.contextmanager
def _targets(args: argparse.Namespace) -> Iterator[tuple[list[sources.Source], bool]]:
    """The sources to crawl and whether local test portals are allowed."""
    from budgetwatch.fixtures.sample_portal import serve_sample_portal  # noqa: PLC0415

    if args.urls and (args.source or args.sources_file or args.sample_portal):
        raise UsageError("give column URLs, or configured sources (--source / --sources-file / --sample-portal)")
    if args.urls:
        yield [adhoc_source(u, args.department, args.allow_local) for u in args.urls], args.allow_local
    elif args.sample_portal:
        with tempfile.TemporaryDirectory(prefix="budgetwatch-portal-") as folder, serve_sample_portal(folder) as portal:
            chosen = portal.sources
            if args.source:
                chosen = [s for s in chosen if s.id in args.source]
            if args.department:
                chosen = [_with_departments(s, args.department) for s in chosen]
            yield chosen, True
    else:
        yield configured_sources(args.sources_file, args.source, args.department), args.allow_local


def report_text(results: list[SourceResult]) -> str:
    lines = []
    for r in results:
        counts = {s: sum(x.status == s for x in r.reports) for s in ("new", "changed", "unchanged")}
        lines.append(
            f"{r.source_id} {r.name}: {len(r.reports)} reports ({counts['new']} new, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged), {len(r.skipped)} skipped, {len(r.refused)} refused, "
            f"{len(r.failures)} failures; {r.requests} requests, {r.not_modified} not modified, "
            f"{r.document_bytes:,} document bytes"
        )
        for x in r.reports:
            kind = {"budget": "预算", "final_account": "决算"}.get(x.kind or "", "?")
            lines.append(f"  {x.status:9} {x.fiscal_year or '????'} {kind} {x.department or '?'}  {x.title}")
            lines.append(f"            {x.url} → {x.path}" + (f" (same as {x.same_as})" if x.same_as else ""))
        lines.extend(_departments_text(r))
        lines.extend(f"  failure   {f['url']}: {f['error']}" for f in r.failures)
        lines.extend(f"  refused   {f['url']}: {f['reason']}" for f in r.refused)
        lines.extend(f"  skipped   {f['title']} ({f['reason']})" for f in r.skipped)
    return "\n".join(lines)


def _departments_text(r: SourceResult) -> list[str]:
    """Which departments the crawl followed, and the items it skipped for being another department."""
    about = r.departments_json()
    scope = "only " + "、".join(about["restricted_to"]) if about["restricted_to"] else "every department"
    followed = ", ".join(f"{d['department'] or '(not named)'} ({d['items']})" for d in about["followed"]) or "none"
    lines = [f"  departments: {scope}; followed: {followed}"]
    if about["skipped_other"]:
        other = ", ".join(f"{d['department']} ({d['items']})" for d in about["skipped_other"])
        lines.append(f"  skipped as another department: {other}")
    return lines


class _Stream:
    """Each source's report printed as soon as its crawl is done, so a source that stalls hides no other's. In JSON
    the sources array is written one source at a time and the summary closes the document."""

    def __init__(self, format: str):
        self.json = format == "json"
        self.count = 0
        self._lock = threading.Lock()

    def source(self, result: SourceResult) -> None:
        with self._lock:
            if self.json:
                if self.count == 0:
                    print('{\n  "schema_version": 1,\n  "sources": [')
                body = json.dumps(result.to_json(), ensure_ascii=False, indent=2).replace("\n", "\n    ")
                print(("    " if self.count == 0 else ",\n    ") + body, end="", flush=True)
            else:
                print(report_text([result]), flush=True)
            for f in result.failures:
                print(f"error: {result.source_id}: {f['url']}: {f['error']}", file=sys.stderr, flush=True)
            self.count += 1

    def end(self, results: list[SourceResult]) -> None:
        if not self.json:
            return
        if self.count == 0:
            print('{\n  "schema_version": 1,\n  "sources": [', end="")
        from budgetwatch.acquire.crawl import crawl_json  # noqa: PLC0415

        summary = json.dumps(crawl_json(results)["summary"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
        print(f'\n  ],\n  "summary": {summary}\n}}', flush=True)


def run(args: argparse.Namespace) -> int:
    from budgetwatch.acquire.archive import Archive  # noqa: PLC0415
    from budgetwatch.acquire.crawl import crawl_sources  # noqa: PLC0415
    from budgetwatch.locking import Busy  # noqa: PLC0415

    stream = _Stream(args.format)
    try:
        with _targets(args) as (chosen, allow_local), Archive(Path(args.archive)) as archive:
            results = crawl_sources(
                chosen,
                archive,
                force_refetch=args.force,
                allow_local=allow_local,
                on_result=stream.source,
                workers=args.workers,
            )
    except (UsageError, Busy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stream.end(results)
    return 0 if all(r.ok for r in results) else 1
