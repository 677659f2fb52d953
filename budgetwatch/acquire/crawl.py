"""Crawl the configured portal columns: list pages → articles → attachments; archive what is new and report, per
source, the reports found, the items skipped (with the reason), the links refused and the failures."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from budgetwatch import formats
from budgetwatch.acquire.archive import Archive, Description
from budgetwatch.acquire.classify import Classification, classify, every_department
from budgetwatch.acquire.fetch import Fetcher, FetchError, Guard, Refused, Response, decode_html, garbled
from budgetwatch.acquire.portal_pages import (
    Article,
    Link,
    ListPage,
    is_document_url,
    page_urls,
    parse_article,
    parse_list_page,
)
from budgetwatch.acquire.sources import Column, Source
from budgetwatch.errors import BudgetwatchError

log = logging.getLogger(__name__)
log.addHandler(
    logging.NullHandler()
)  # shown where the application configures logging (Prefect, a CLI -v), not by default
_NOT_NAMED = "the department is not named"
# one source's crawl, wall clock: past it the source stops, its failure says so, and the other sources go on
SOURCE_DEADLINE = float(os.environ.get("BUDGETWATCH_SOURCE_DEADLINE") or 3600)


class _OutOfTime(Exception):
    """A source's crawl went past its deadline (not a BudgetwatchError: it ends the source, not one item)."""


@dataclass(slots=True)
class ReportItem:
    url: str
    article_url: str | None
    title: str | None
    published: str | None
    department: str | None
    fiscal_year: int | None
    kind: str | None
    sha256: str
    status: str  # new | unchanged | changed
    path: Path  # the archived file
    scope: str | None = None
    media_type: str | None = None
    same_as: str | None = None  # an earlier URL with identical bytes (a re-publication)

    def to_json(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


@dataclass(slots=True)
class SourceResult:
    source_id: str
    name: str = ""
    steward: str | None = None  # who is told of this source's failures (None: the run's default recipients)
    reports: list[ReportItem] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"url", "title", "reason"}
    refused: list[dict] = field(default_factory=list)  # {"url", "reason"}
    failures: list[dict] = field(default_factory=list)  # {"url", "error"}
    requests: int = 0
    not_modified: int = 0
    document_bytes: int = 0  # bytes of documents downloaded (304s and pages not counted)
    restricted_to: tuple[str, ...] = ()  # the departments the crawl follows; empty: every department
    followed: dict[str | None, int] = field(default_factory=dict)  # items followed per department (None: not named)

    @property
    def ok(self) -> bool:
        return not self.failures

    def departments_json(self) -> dict:
        """Which departments' items were followed, and which were skipped for being another department."""
        other: dict[str | None, int] = {}
        for item in self.skipped:
            if item.get("category") == "other_department":
                other[item.get("department")] = other.get(item.get("department"), 0) + 1
        return {
            "restricted_to": list(self.restricted_to) or None,
            "followed": [{"department": d, "items": n} for d, n in self.followed.items()],
            "skipped_other": [{"department": d, "items": n} for d, n in other.items()],
        }

    def to_json(self) -> dict:
        return {
            "source_id": self.source_id,
            "name": self.name,
            "steward": self.steward,
            "reports": [r.to_json() for r in self.reports],
            "skipped": self.skipped,
            "refused": self.refused,
            "failures": self.failures,
            "departments": self.departments_json(),
            "stats": {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "document_bytes": self.document_bytes,
            },
        }


def crawl_json(results: Iterable[SourceResult]) -> dict:
    """The crawl report (docs/crawl-report.schema.json)."""
    results = list(results)
    return {
        "schema_version": 1,
        "sources": [r.to_json() for r in results],
        "summary": {
            "sources": len(results),
            "failed_sources": sum(not r.ok for r in results),
            "reports": sum(len(r.reports) for r in results),
            "new": sum(x.status == "new" for r in results for x in r.reports),
            "changed": sum(x.status == "changed" for r in results for x in r.reports),
            "document_bytes": sum(r.document_bytes for r in results),
        },
    }


class _SourceCrawl:
    """One source's crawl; every failure lands in its result, none escapes to the other sources."""

    def __init__(self, source: Source, archive: Archive, fetcher: Fetcher, *, force: bool, allow_local: bool):
        self.source = source
        self.archive = archive
        self.fetcher = fetcher
        self.force = force
        self.guard = Guard(source.allowed_hosts, allow_loopback=allow_local and source.local_test)
        self.result = SourceResult(
            source_id=source.id,
            name=source.name,
            steward=source.steward,
            restricted_to=() if every_department(source.departments) else tuple(source.departments),
        )
        self._seen_documents: set[str] = set()
        self.until = time.monotonic() + SOURCE_DEADLINE

    def _fail(self, url: str, error: str) -> None:
        log.warning("%s: failure: %s: %s", self.source.id, url, error)
        self.result.failures.append({"url": url, "error": error})

    def _refuse(self, url: str, reason: str) -> None:
        log.info("%s: refused: %s: %s", self.source.id, url, reason)
        self.result.refused.append({"url": url, "reason": reason})

    # HTTP ---------------------------------------------------------------------------------------------------------
    def _get(
        self, url: str, etag: str | None, last_modified: str | None, accept_errors=(), max_bytes: int | None = None
    ) -> Response:
        if time.monotonic() > self.until:
            raise _OutOfTime(f"not finished within {SOURCE_DEADLINE:.0f} s (BUDGETWATCH_SOURCE_DEADLINE)")
        self.result.requests += 1  # counted when asked for, answered or not
        response = self.fetcher.get(
            url,
            self.guard,
            etag=None if self.force else etag,
            last_modified=None if self.force else last_modified,
            min_interval=self.source.min_interval,
            http_fallback=self.source.http_fallback,
            accept_errors=accept_errors,
            max_bytes=max_bytes,
            until=self.until,
        )
        self.result.not_modified += response.not_modified
        return response

    def _page(self, url: str, accept_errors=()) -> Response:
        """A list or article page (or robots.txt), revalidated against the archived copy."""
        kept = None if self.force else self.archive.page(url)
        validators = (kept[1], kept[2]) if kept else (None, None)
        response = self._get(url, *validators, accept_errors, max_bytes=self.fetcher.max_page_bytes)
        if response.not_modified:
            if not kept:
                raise FetchError(url, "304 Not Modified to a request that asked for the full page")
            return Response(url=response.url, status=200, headers=response.headers, content=kept[0])
        if response.status == 200:
            self.archive.record_page(url, response.content, response.headers)
        return response

    def _allowed(self, url: str) -> bool:
        """Guard and robots.txt; a refusal is recorded."""
        reason = self.guard.reason_to_refuse(url)
        if reason is None and not self.fetcher.robots_allows(url, lambda u: self._page(u, range(400, 500))):
            reason = "robots.txt disallows it"
        if reason:
            self._refuse(url, reason)
            return False
        return True

    def _html(self, url: str) -> str:
        response = self._page(url)
        return decode_html(response.content, response.headers.get("content-type"), self.source.encoding)

    # list pages -----------------------------------------------------------------------------------------------------
    def _list_pages(self, column: Column) -> list[Link]:
        first = parse_list_page(self._html(column.url), column.url, self.source.item_selector)
        pages: list[ListPage] = [first]
        style = self.source.pagination
        if style in ("auto", "trs") and first.pagination:
            for url in page_urls(column.url, first.pagination, self.source.max_pages):
                try:  # a page that fails is reported; the items of the other pages are still followed
                    if self._allowed(url):
                        pages.append(parse_list_page(self._html(url), url, self.source.item_selector))
                except (FetchError, Refused) as exc:
                    self._fail(url, f"list page: {exc.reason}")
        elif style in ("auto", "next"):
            visited = {column.url}
            page = first
            while page.next_url and page.next_url not in visited and len(pages) < self.source.max_pages:
                url = page.next_url
                visited.add(url)
                try:
                    if not self._allowed(url):
                        break
                    page = parse_list_page(self._html(url), url, self.source.item_selector)
                except (FetchError, Refused) as exc:
                    self._fail(url, f"list page: {exc.reason}")  # the pages read so far are still followed
                    break
                pages.append(page)
        items: dict[str, Link] = {}
        for page in pages:
            for item in page.items:
                items.setdefault(item.url, item)
        return list(items.values())

    def crawl_column(self, column: Column) -> None:
        try:
            if not self._allowed(column.url):
                self._fail(column.url, "column not crawled: its URL is refused")
                return
            items = self._list_pages(column)
        except (FetchError, Refused) as exc:
            robots = exc.url.endswith("/robots.txt")  # only robots.txt was asked for: say so, not "list page"
            self._fail(column.url, f"{'robots.txt' if robots else 'list page'}: {exc.reason}")
            return
        if not items and not column.declared_empty:
            self._fail(column.url, "the list page yields no items (declare the column empty if it is)")
            return
        titles = [item.text for item in items if item.text]
        if titles and all(garbled(title) for title in titles):
            self._fail(column.url, "every title on the list page is garbled: its encoding is wrong (set `encoding`)")
            return
        for item in items:
            try:
                self.crawl_item(item)
            except Refused as exc:
                self._refuse(exc.url, exc.reason)
            except BudgetwatchError as exc:
                self._fail(getattr(exc, "url", item.url), _reason(exc))

    # items ----------------------------------------------------------------------------------------------------------
    def _skip(self, link: Link, title: str | None, found: Classification) -> None:
        self.result.skipped.append(
            {
                "url": link.url,
                "title": title or link.text,
                "reason": found.skip_reason or "",
                "category": found.skip_category,
                "department": found.department,
            }
        )

    def _follow(self, found: Classification) -> None:
        self.result.followed[found.department] = self.result.followed.get(found.department, 0) + 1

    def crawl_item(self, item: Link) -> None:
        followed = self.source.departments
        first_look = classify(item.text, followed=followed)
        cut = item.text.endswith(("…", "..."))  # a list title cut short may have lost the words that matter
        if first_look.skip_reason and not cut and not first_look.skip_reason.startswith(_NOT_NAMED):
            self._skip(item, item.text, first_look)  # no need to open it
            return
        if not self._allowed(item.url):
            return
        if is_document_url(item.url):  # a list item that is the document itself: its title is all there is
            if first_look.wanted:
                self._follow(first_look)
                self._document(item.url, None, item.text, item.published, first_look)
            else:
                self._skip(item, item.text, first_look)
            return
        article = parse_article(self._html(item.url), item.url)
        title = article.title or item.text
        found = classify(title, department=article.department, text=article.text, followed=followed)
        if not found.wanted:
            self._skip(item, title, found)
            return
        self._follow(found)
        self._article_documents(article, title, item.published, found)

    def _article_documents(self, article: Article, title: str, listed: str | None, found: Classification) -> None:
        published = article.published or listed
        if article.attachments:
            for link in article.attachments:
                self._guarded_document(link.url, article.url, title, published, found)
        elif article.table_count:  # the tables are in the page itself
            self._document(article.url, article.url, title, published, found, page_itself=True)
        elif article.images:  # tables published as pictures: archived so that the report shows them as images
            for link in article.images:
                self._guarded_document(link.url, article.url, title, published, found)
        else:
            self._fail(article.url, "a report article without an attachment, a table or an image")

    def _guarded_document(self, url, article_url, title, published, found) -> None:
        try:
            if self._allowed(url):
                self._document(url, article_url, title, published, found)
        except Refused as exc:
            self._refuse(exc.url, exc.reason)
        except BudgetwatchError as exc:
            self._fail(getattr(exc, "url", url), _reason(exc))

    def _document(
        self,
        url: str,
        article_url: str | None,
        title: str | None,
        published: str | None,
        found: Classification,
        *,
        page_itself: bool = False,
    ) -> None:
        if url in self._seen_documents:
            return
        self._seen_documents.add(url)
        about = Description(
            article_url=article_url,
            source_id=self.source.id,
            title=title,
            published=published,
            department=found.department,
            fiscal_year=found.fiscal_year,
            kind=str(found.kind) if found.kind else None,
            scope=found.scope,
        )
        previous = None if self.force else self.archive.latest(url)
        if page_itself:  # already fetched (and revalidated) as the article page
            kept = self.archive.page(url)
            assert kept is not None
            validators = {"etag": kept[1] or "", "last-modified": kept[2] or ""}
            response = Response(url=url, status=200, headers=validators, content=kept[0])
        else:
            response = self._get(url, previous.etag if previous else None, previous.last_modified if previous else None)
        if response.not_modified:
            if previous is None:
                raise FetchError(url, "304 Not Modified to a request that asked for the full document")
            self._report(
                url, about, "unchanged", sha=previous.sha256, path=previous.path, media_type=previous.media_type
            )
            return
        data = response.content
        if not data:
            raise FetchError(url, "empty document (0 bytes)")
        media_type = formats.sniff(data)
        if media_type == formats.HTML and not page_itself:
            raise FetchError(url, "an HTML page where a document was linked (a missing file or a login page?)")
        if not page_itself:
            self.result.document_bytes += len(data)
        headers = {k: v for k, v in response.headers.items() if v}
        recorded = self.archive.record(url, data, headers, response.status, about)
        s = recorded.stored
        self._report(
            url, about, recorded.status, sha=s.sha256, path=s.path, media_type=s.media_type, same_as=recorded.same_as
        )

    def _report(self, url: str, about: Description, status: str, *, sha, path, media_type, same_as=None) -> None:
        self.result.reports.append(
            ReportItem(
                url=url,
                article_url=about.article_url,
                title=about.title,
                published=about.published,
                department=about.department,
                fiscal_year=about.fiscal_year,
                kind=about.kind,
                sha256=sha,
                status=status,
                path=path,
                scope=about.scope,
                media_type=media_type,
                same_as=same_as,
            )
        )


def _reason(exc: BudgetwatchError) -> str:
    return getattr(exc, "reason", None) or str(exc)


def crawl_sources(
    sources: Iterable[Source],
    archive: Archive,
    *,
    force_refetch: bool = False,
    allow_local: bool = False,
    session: Fetcher | None = None,
    on_result: Callable[[SourceResult], None] | None = None,
    workers: int = 1,
) -> list[SourceResult]:
    """Crawl each enabled source's columns and archive what is new. A source that fails (a portal down, a list page
    with no items, its deadline passed, anything unexpected) fails alone; the others are still crawled, `workers` at
    a time. `on_result` is given each source's result as soon as it is done. `allow_local` lets sources marked
    `local_test` reach loopback; `force_refetch` ignores the archived validators (full downloads)."""
    fetcher = session or Fetcher()
    enabled = [s for s in sources if s.enabled]

    def one(source: Source) -> SourceResult:
        result = _crawl_one(source, archive, fetcher, force=force_refetch, allow_local=allow_local)
        if on_result is not None:
            on_result(result)
        return result

    if workers <= 1 or len(enabled) < 2:
        return [one(s) for s in enabled]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enabled))


def _crawl_one(source: Source, archive: Archive, fetcher: Fetcher, *, force: bool, allow_local: bool) -> SourceResult:
    crawl = _SourceCrawl(source, archive, fetcher, force=force, allow_local=allow_local)
    for problem in source.problems:
        crawl._fail("", f"configuration: {problem}")
    if source.problems:
        return crawl.result
    try:
        for column in source.columns:
            crawl.crawl_column(column)
    except _OutOfTime as exc:
        crawl._fail(source.columns[0].url if source.columns else "", f"source stopped: {exc}")
    except Exception as exc:  # whatever broke, this source fails alone and says why
        log.exception("%s: crawl broke", source.id)
        crawl._fail("", f"crawl broke: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return crawl.result


def paths_to_check(results: Iterable[SourceResult], *, only_new: bool = True) -> list[Path]:
    """The archived files to check, each once (a re-published file shares its path with the first publication):
    new and changed ones, or every report found when `only_new` is false."""
    out: dict[str, Path] = {}
    for result in results:
        for report in result.reports:
            if not only_new or report.status in ("new", "changed"):
                out.setdefault(report.sha256, report.path)
    return list(out.values())
