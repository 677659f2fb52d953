"""Reading portal pages (pure functions over HTML text): list pages with their pagination, and article pages with
their title, date, department and attachments. Written for TRS-style government CMS pages, generic otherwise."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".zip")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
_ARTICLE_URL = re.compile(r"/t(20\d{6})_\d+\.s?html?$", re.IGNORECASE)
_DATE = re.compile(r"(20\d\d)\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_NEXT_TEXT = ("下一页", "下页", "后一页", "next", "›", "»")
_META_TITLE = ("ArticleTitle", "title", "og:title")
_META_DATE = ("PubDate", "pubdate", "publishdate", "firstpublishedtime")
_META_SOURCE = ("ContentSource", "source")
_ORG = re.compile(r"[\u4e00-\u9fff（）()]{2,30}?(?:局|委员会|办公室|委|办|院|馆|中心|所|站|队|政府)")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    text: str
    published: str | None = None


@dataclass(frozen=True, slots=True)
class Pagination:
    pages: int  # how many list pages the column has
    current: int  # 0-based index of this page
    prefix: str = "index"
    extension: str = "shtml"


@dataclass(slots=True)
class ListPage:
    items: list[Link]
    pagination: Pagination | None = None
    next_url: str | None = None


@dataclass(slots=True)
class Article:
    url: str
    title: str | None
    published: str | None
    department: str | None
    breadcrumb: list[str] = field(default_factory=list)
    source_line: str | None = None
    attachments: list[Link] = field(default_factory=list)
    images: list[Link] = field(default_factory=list)
    table_count: int = 0  # ruled tables with figures in the article body
    text: str = ""


def iso_date(text: str | None) -> str | None:
    """The first date written as 2024-01-16, 2024/1/16, 2024.01.16 or 2024年1月16日, as ISO."""
    m = _DATE.search(text or "")
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def date_from_url(url: str) -> str | None:
    """The publication date TRS portals put in article URLs: …/202401/t20240116_2343539.shtml."""
    m = _ARTICLE_URL.search(urlsplit(url).path)
    if not m:
        return None
    s = m.group(1)
    return iso_date(f"{s[:4]}-{s[4:6]}-{s[6:]}")


def is_document_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(DOCUMENT_EXTENSIONS)


def is_article_url(url: str) -> bool:
    return bool(_ARTICLE_URL.search(urlsplit(url).path))


def _absolute(base: str, href: str) -> str:
    joined = urljoin(base, href.strip())
    parts = urlsplit(joined)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))  # fragments name no resource


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _anchor(el: Tag) -> Tag | None:
    if el.name == "a" and el.get("href"):
        return el
    found = el.find("a", href=True)
    return found if isinstance(found, Tag) else None


def _row_date(anchor: Tag) -> str | None:
    """The date printed beside a list item: in the link's row (li, tr, dd …), else the URL's."""
    row = anchor.find_parent(("li", "tr", "dd", "dt", "p", "div"))
    return iso_date(row.get_text(" ") if row else anchor.get_text(" "))


def parse_pagination(html: str) -> Pagination | None:
    """The page count TRS list pages announce: createPageHTML(pages, current, "index", "shtml"), also in the form
    createPageHTML('page_div', pages, current, 'index', 'shtml', total)."""
    m = _CREATE_PAGE.search(html)
    if not m:
        return None
    args = [a.strip().strip("'\"") for a in m.group(1).split(",")]
    while args and not args[0].isdigit():
        args.pop(0)
    if len(args) < 2 or not args[1].isdigit():
        return None
    prefix = args[2] if len(args) > 2 and args[2] else "index"
    extension = args[3] if len(args) > 3 and args[3] else "shtml"
    return Pagination(pages=max(1, int(args[0])), current=int(args[1]), prefix=prefix, extension=extension)


def page_urls(list_url: str, pagination: Pagination, limit: int) -> list[str]:
    """Every list page of a TRS column after the first: index_1.shtml … index_{pages-1}.shtml (at most limit pages
    in all)."""
    parts = urlsplit(list_url)
    folder = parts.path if parts.path.endswith("/") else posixpath.dirname(parts.path) + "/"
    return [
        urlunsplit((parts.scheme, parts.netloc, f"{folder}{pagination.prefix}_{n}.{pagination.extension}", "", ""))
        for n in range(1, min(pagination.pages, limit))
    ]


def parse_list_page(html: str, url: str, item_selector: str | None = None) -> ListPage:
    """The items of one list page (article or document links, with the date printed beside them), its pagination
    and its "next page" link. Without a selector, links whose URL looks like an article or a document are items."""
    soup = BeautifulSoup(html, "html.parser")
    if item_selector:
        anchors = [a for a in map(_anchor, soup.select(item_selector)) if a is not None]
    else:
        anchors = [a for a in soup.find_all("a", href=True) if isinstance(a, Tag)]
    items: list[Link] = []
    seen: set[str] = set()
    for a in anchors:
        href = str(a.get("href", ""))
        if not href or href.startswith("#") or href.lower().startswith("javascript:"):
            continue
        target = _absolute(url, href)
        if not item_selector and not (is_article_url(target) or is_document_url(target)):
            continue
        if target in seen:
            continue
        seen.add(target)
        text = _squeeze(str(a.get("title") or "") or a.get_text(" "))
        items.append(Link(url=target, text=text, published=_row_date(a) or date_from_url(target)))
    next_url = None
    for a in soup.find_all("a", href=True):
        label = _squeeze(a.get_text(" ")).lower()
        if "next" in (a.get("rel") or []) or label in _NEXT_TEXT:
            href = str(a["href"])
            if not href.lower().startswith("javascript:") and href != "#":
                next_url = _absolute(url, href)
                break
    return ListPage(items=items, pagination=parse_pagination(html), next_url=next_url)


def _meta(soup: BeautifulSoup, names: tuple[str, ...]) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if isinstance(tag, Tag) and str(tag.get("content") or "").strip():
            return _squeeze(str(tag["content"]))
    return None


def _breadcrumb(soup: BeautifulSoup) -> list[str]:
    """The 当前位置 trail: an element classed as a breadcrumb, else the smallest element starting with 当前位置."""
    candidates = []
    for el in soup.find_all(True):
        classes = " ".join(el.get("class") or []) + " " + str(el.get("id") or "")
        text = _squeeze(el.get_text(" "))
        if re.search(r"bread|crumb|position|location|dqwz|weizhi", classes, re.IGNORECASE) and len(text) < 200:
            candidates.append((0, len(text), text))
        elif text.startswith(("当前位置", "您现在的位置", "您的位置")):
            candidates.append((1, len(text), text))
    if not candidates:
        return []
    text = re.sub(r"^(?:当前位置|您现在的位置|您的位置)\s*[:：]?", "", min(candidates)[2])
    return [p.strip() for p in re.split(r"\s*[>＞»/]\s*", text) if p.strip()]


def _figures(table: Tag) -> bool:
    """A ruled table with figures: at least three rows and amounts in its cells (not a layout table)."""
    rows = table.find_all("tr")
    amounts = sum(bool(re.fullmatch(r"-?[\d,]+\.\d+", _squeeze(td.get_text()))) for td in table.find_all(("td", "th")))
    return len(rows) >= 3 and amounts >= 3


def parse_article(html: str, url: str) -> Article:
    """Title (meta ArticleTitle, heading, <title>), date (meta PubDate, a 发布时间/日期 line, else the URL), department
    (meta ContentSource, a 来源 line, else the breadcrumb), attachments, images and tables with figures."""
    soup = BeautifulSoup(html, "html.parser")
    text = _squeeze(soup.get_text(" "))
    title = _meta(soup, _META_TITLE)
    if not title:
        heading = soup.find(("h1", "h2"))
        title = _squeeze(heading.get_text(" ")) if heading else None
    if not title and soup.title:
        title = _squeeze(soup.title.get_text(" ")) or None
    source_line = None
    m = re.search(r"来源\s*[:：]\s*([^\s|｜]+)", text)
    if m:
        source_line = m.group(1)
    published = iso_date(_meta(soup, _META_DATE))
    if not published:
        dated = re.search(r"(?:发布时间|发布日期|日期|时间)\s*[:：]\s*(20\d\d[-年/.]\d{1,2}[-月/.]\d{1,2})", text)
        published = iso_date(dated.group(1)) if dated else None
    published = published or date_from_url(url)
    breadcrumb = _breadcrumb(soup)
    department = _meta(soup, _META_SOURCE) or source_line
    if not department:
        department = next((p for p in reversed(breadcrumb) if _ORG.fullmatch(p)), None)
    attachments: list[Link] = []
    seen: set[str] = set()
    for a in soup.find_all("a", href=True):
        target = _absolute(url, str(a["href"]))
        label = _squeeze(a.get_text(" "))
        if (is_document_url(target) or label.lower().endswith(DOCUMENT_EXTENSIONS)) and target not in seen:
            seen.add(target)
            attachments.append(Link(url=target, text=label))
    images = []
    folder = posixpath.dirname(urlsplit(url).path)
    for img in soup.find_all("img", src=True):
        target = _absolute(url, str(img["src"]))
        path = urlsplit(target).path
        # content images sit beside the article (…/202401/W0….png); logos and icons live elsewhere
        if path.lower().endswith(IMAGE_EXTENSIONS) and posixpath.dirname(path) == folder and target not in seen:
            seen.add(target)
            images.append(Link(url=target, text=_squeeze(str(img.get("alt") or ""))))
    tables = sum(_figures(t) for t in soup.find_all("table"))
    return Article(
        url=url,
        title=title,
        published=published,
        department=department,
        breadcrumb=breadcrumb,
        source_line=source_line,
        attachments=attachments,
        images=images,
        table_count=tables,
        text=text,
    )
