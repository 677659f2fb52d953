"""The embedded sample portal: a small static site in the style of the district portals (TRS list pages with
createPageHTML pagination, a GBK sub-column paged by 下一页 links, article pages with metadata lines), whose
attachments are rendered from the bundled sample reports, served on loopback by budgetwatch itself.

It holds what a real column holds: reports as PDF and Word attachments, a report as an HTML table in the page, an
image-only report, a re-published file, unrelated notices, another department's report, a broken link, an off-site
link and a path robots.txt forbids. The test server can inject faults (slow answers, connection resets, 5xx, 429 with
Retry-After, spurious 304) and logs every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import socket
import struct
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image, ImageDraw
from reportlab import rl_config

from budgetwatch import sources as registry
from budgetwatch.extract import extract_path
from budgetwatch.render_office import extraction_to_docx, extraction_to_html
from budgetwatch.render_pdf import extraction_to_pdf

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
MARKER = ".sample-portal-complete"
SOURCES_FILE = "sources.yaml"  # written beside the site when it is served; not served itself
OFF_SITE = "https://www.example.org/yjs/202406/P020240601000000000001.pdf"

SOURCES_TEMPLATE = """\
# The embedded sample portal (a local test portal on loopback): crawled only when local portals are allowed.
sources:
  - id: sample
    name: 示例区（内置示例门户）
    scheme: http
    allowed_hosts: [{host}]
    local_test: true
    min_interval: 0
    departments: [医疗保障局]
    steward: steward@example.org
    columns:
      - {{url: "{base}/yjs/", verified: true}}
      - {{url: "{base}/yjs/gbk/", verified: true, note: GBK pages paged by 下一页 links}}
      - {{url: "{base}/yjs/2026/", verified: true, declared_empty: true, note: nothing published yet}}
"""


# ---------------------------------------------------------------------------------------------------- the site ---
@dataclass(frozen=True, slots=True)
class _Item:
    path: str  # article page (or document) path from the site root
    title: str
    date: str
    body: str = ""  # extra HTML in the article body (attachment links, tables, images)
    source: str = ""  # the 来源 line
    meta_date: bool = True  # whether the page carries a PubDate meta tag (else the date is in the URL only)


def _article(item: _Item, encoding: str = "utf-8", crumb: str = "预决算公开") -> str:
    meta_date = f'<meta name="PubDate" content="{item.date} 09:30">' if item.meta_date else ""
    source = html.escape(item.source or "示例区人民政府")
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={encoding}">
<meta name="ArticleTitle" content="{html.escape(item.title)}">{meta_date}
<meta name="ContentSource" content="{source}">
<title>{html.escape(item.title)}_示例区人民政府</title></head>
<body><div class="header"><img src="/images/logo.png" alt="示例区人民政府"></div>
<div class="position">当前位置：首页 &gt; 信息公开 &gt; {crumb}</div>
<div class="article"><h1>{html.escape(item.title)}</h1>
<div class="info">{"发布时间：" + item.date if item.meta_date else "发布时间："} 来源：{source} 字号：大 中 小</div>
<div class="content">{item.body}</div></div></body></html>
"""


def _list_page(items: list[_Item], *, pages: int | None, current: int, encoding: str, next_href: str | None) -> str:
    rows = "\n".join(
        f'<li><a href="/{it.path}" target="_blank" title="{html.escape(it.title)}">{html.escape(it.title)}</a>'
        f"<span>{it.date}</span></li>"
        for it in items
    )
    paging = f'<script>createPageHTML({pages}, {current}, "index", "shtml");</script>' if pages else ""
    more = f'<a href="{next_href}">下一页</a>' if next_href else ""
    return f"""<!DOCTYPE html>
<html><head><meta charset="{encoding}"><title>预决算公开_示例区人民政府</title></head>
<body><div class="position">当前位置：首页 &gt; 信息公开 &gt; 预决算公开</div>
<ul class="list">
{rows}
</ul>
<div class="page">{paging}{more}</div>
<a href="https://www.example.org/">友情链接</a></body></html>
"""


def _table_picture(seed: int) -> bytes:
    """A picture of a ruled table (how some reports publish their tables)."""
    image = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(image)
    for y in range(20, 341, 40):
        draw.line((20, y, 620, y), fill="black")
    for x in (20, 260, 380, 500, 620):
        draw.line((x, 20, x, 340), fill="black")
    for row in range(1, 8):
        draw.text((270, 32 + 40 * row), f"{(seed * 37 + row * 113) % 1000}.{row * 7 % 100:02d}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _fixed_zip(data: bytes) -> bytes:
    """The same zip (docx) with fixed member dates, so that every build of the portal serves the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, (2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(member))
    return out.getvalue()


@contextlib.contextmanager
def _reproducible_pdfs() -> Iterator[None]:
    """reportlab without creation dates and random document ids, for the duration of a build."""
    before = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = before


def build_sample_portal(directory: str | Path) -> Path:
    """Write the sample portal's files under `directory` (once: a finished build is kept)."""
    root = Path(directory)
    if (root / MARKER).exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    huangpi = extract_path(SAMPLES / "huangpi-2024-final.txt")
    hongshan = extract_path(SAMPLES / "hongshan-2024-budget.txt")
    with _reproducible_pdfs():
        huangpi_pdf = extraction_to_pdf(huangpi, with_narrative=True)
    files: dict[str, bytes] = {
        "robots.txt": b"User-agent: *\nDisallow: /internal/\n",
        "images/logo.png": _table_picture(0),
        "yjs/202508/P020250820512345678901.pdf": huangpi_pdf,
        "yjs/202602/P020260210512345678902.docx": _fixed_zip(extraction_to_docx(hongshan)),
        "yjs/202603/W020260305512345678903.png": _table_picture(1),
        "yjs/202603/W020260305512345678904.png": _table_picture(2),
        "yjs/gbk/202602/P020260215512345678905.docx": _fixed_zip(extraction_to_docx(huangpi)),
    }
    files["yjs/202509/P020250901512345678906.pdf"] = files["yjs/202508/P020250820512345678901.pdf"]  # re-published

    def attach(path: str, text: str) -> str:
        return f'<p>附件：<a href="/{path}">{html.escape(text)}</a></p>'

    yjs = [
        _Item(
            "yjs/202508/t20250820_3001.shtml",
            "武汉市黄陂区医疗保障局2024年度部门决算（汇总）公开",
            "2025-08-20",
            "<p>现将2024年度部门决算公开如下。</p>"
            + attach("yjs/202508/P020250820512345678901.pdf", "黄陂区医疗保障局2024年度部门决算.pdf"),
            "武汉市黄陂区医疗保障局",
        ),
        _Item(
            "yjs/202602/t20260210_3002.shtml",
            "武汉市洪山区医疗保障局2024年部门预算",
            "2026-02-10",
            attach("yjs/202602/P020260210512345678902.docx", "洪山区医疗保障局2024年部门预算.docx")
            + attach("yjs/202602/P020260210599999999999.pdf", "洪山区医疗保障局2024年部门预算（说明）.pdf"),
            "武汉市洪山区医疗保障局",
        ),
        _Item("yjs/202602/t20260212_3003.shtml", "关于开展2026年医保政策宣传月活动的通知", "2026-02-12"),
        _Item("yjs/202602/t20260213_3004.shtml", "区教育局2024年部门预算公开", "2026-02-13", source="区教育局"),
        _Item(
            "yjs/202603/t20260305_3005.shtml",
            "武汉市蔡甸区医疗保障局2024年部门预算",
            "2026-03-05",
            '<p>部门预算公开表：</p><p><img src="W020260305512345678903.png"></p>'
            '<p><img src="W020260305512345678904.png"></p>',
            "武汉市蔡甸区医疗保障局",
        ),
        _Item(
            "yjs/202603/t20260306_3006.shtml",
            "2023年度部门决算",
            "2026-03-06",
            "<p>本局2023年度部门决算见附件。</p>",
            "武汉市江夏区医疗保障局",
            meta_date=False,
        ),
        _Item(
            "yjs/202509/t20250901_3009.shtml",
            "武汉市黄陂区医疗保障局2024年度部门决算公开（重新发布）",
            "2025-09-01",
            attach("yjs/202509/P020250901512345678906.pdf", "黄陂区医疗保障局2024年度部门决算.pdf"),
            "武汉市黄陂区医疗保障局",
        ),
        _Item("yjs/202604/t20260401_3010.shtml", "示例区2025年区级财政预算执行情况", "2026-04-01"),
        _Item("internal/202604/t20260402_3011.shtml", "武汉市汉阳区医疗保障局2024年部门预算（内部）", "2026-04-02"),
    ]
    off_site = _Item(OFF_SITE, "武汉市新洲区医疗保障局2024年部门预算（转载）", "2026-04-03")
    pages = [yjs[0:4], yjs[4:7], yjs[7:]]
    for n, page in enumerate(pages):
        text = _list_page(page, pages=len(pages), current=n, encoding="utf-8", next_href=None)
        if n == 2:
            text = text.replace(
                "</ul>", f'<li><a href="{OFF_SITE}">{off_site.title}</a><span>{off_site.date}</span></li>\n</ul>'
            )
        files["yjs/index.shtml" if n == 0 else f"yjs/index_{n}.shtml"] = text.encode("utf-8")
    for item in yjs:
        files[item.path] = _article(item).encode("utf-8")

    tables = extraction_to_html(hongshan, "gbk").decode("gbk")
    body = tables.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    gbk = [
        _Item(
            "yjs/gbk/202602/t20260214_4001.shtml",
            "武汉市洪山区医疗保障局2024年部门预算（网页版）",
            "2026-02-14",
            body,
            "武汉市洪山区医疗保障局",
        ),
        _Item("yjs/gbk/202602/P020260215512345678905.docx", "武汉市黄陂区医疗保障局2024年度部门决算表", "2026-02-15"),
    ]
    files["yjs/gbk/index.shtml"] = _list_page(
        gbk[:1], pages=None, current=0, encoding="gbk", next_href="index_1.shtml"
    ).encode("gbk")
    files["yjs/gbk/index_1.shtml"] = _list_page(gbk[1:], pages=None, current=1, encoding="gbk", next_href=None).encode(
        "gbk"
    )
    files[gbk[0].path] = _article(gbk[0], "gbk", "预决算公开（网页版）").encode("gbk")
    files["yjs/2026/index.shtml"] = _list_page([], pages=None, current=0, encoding="utf-8", next_href=None).encode()

    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (root / MARKER).write_text("built\n", encoding="utf-8")
    return root


# -------------------------------------------------------------------------------------------------- the server ---
@dataclass(slots=True)
class Hit:
    """One request the server answered."""

    path: str
    status: int  # 0 when the connection was reset
    body_bytes: int
    headers: dict[str, str]


@dataclass(slots=True)
class Faults:
    """Faults to inject, per path, consumed one a request: "slow:SECONDS", "reset", "status:CODE",
    "retry-after:SECONDS" (429 with that header), "not-modified" (304 whatever was asked), "redirect:URL" (302);
    and extra response headers per path (e.g. a Content-Disposition with a hostile file name)."""

    queue: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, *faults: str) -> None:
        with self.lock:
            self.queue.setdefault(path, []).extend(faults)

    def next(self, path: str) -> str | None:
        with self.lock:
            waiting = self.queue.get(path)
            return waiting.pop(0) if waiting else None


class _Handler(BaseHTTPRequestHandler):
    server: _PortalServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return  # the server keeps its own log (Hit)

    def _log(self, status: int, size: int) -> None:
        with self.server.log_lock:
            self.server.hits.append(Hit(urlsplit(self.path).path, status, size, dict(self.headers.items())))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self._log(status, len(body))  # before answering: a client that has its answer finds it in the log
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        fault = self.server.faults.next(path)
        if fault and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        elif fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self._log(0, 0)
            self.connection.close()
            return
        elif fault and fault.startswith("status:"):
            self._send(int(fault.split(":", 1)[1]), b"server error", {"Content-Type": "text/plain"})
            return
        elif fault and fault.startswith("retry-after:"):
            self._send(429, b"too many requests", {"Retry-After": fault.split(":", 1)[1]})
            return
        elif fault == "not-modified":
            self._send(304)
            return
        elif fault and fault.startswith("redirect:"):
            self._send(302, b"", {"Location": fault.split(":", 1)[1]})
            return
        self._serve_file(path)

    def _serve_file(self, path: str) -> None:
        root = self.server.root
        target = (root / path.lstrip("/")).resolve()
        if path.endswith("/"):
            target = target / "index.shtml"
        hidden = target.name.startswith(".") or target == root / SOURCES_FILE
        if not target.is_relative_to(root) or not target.is_file() or hidden:
            self._send(404, b"<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"})
            return
        data = target.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        mtime = int(target.stat().st_mtime)
        headers = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True), "Content-Type": _type(target, data)}
        if self.headers.get("If-None-Match") == etag or (
            not self.headers.get("If-None-Match") and _not_modified_since(self.headers.get("If-Modified-Since"), mtime)
        ):
            self._send(304, b"", {"ETag": etag, "Last-Modified": headers["Last-Modified"]})
            return
        self._send(200, data, headers | self.server.faults.headers.get(path, {}))


def _not_modified_since(value: str | None, mtime: int) -> bool:
    if not value:
        return False
    try:
        return parsedate_to_datetime(value).timestamp() >= mtime
    except (TypeError, ValueError):
        return False


def _type(target: Path, data: bytes) -> str:
    suffix = target.suffix.lower()
    if suffix in (".shtml", ".html"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "text/html"  # the charset is in the page's meta tag only, as on many portals
        return "text/html; charset=utf-8"
    return {
        ".pdf": "application/pdf",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".png": "image/png",
        ".txt": "text/plain",
    }.get(suffix, "application/octet-stream")


class _PortalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.faults = Faults()
        self.hits: list[Hit] = []
        self.log_lock = threading.Lock()


@dataclass
class RunningPortal:
    """A portal being served: its base URL, the registry entries that crawl it, fault injection and the request log."""

    base_url: str
    sources: list[registry.Source]
    sources_file: Path
    server: _PortalServer

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def hits(self) -> list[Hit]:
        return self.server.hits

    def __iter__(self) -> Iterator:
        """Unpacks as (base_url, sources)."""
        return iter((self.base_url, self.sources))


@contextlib.contextmanager
def serve_directory(root: str | Path) -> Iterator[_PortalServer]:
    """Serve a directory on loopback (an ephemeral port) in a thread, with fault injection and a request log."""
    server = _PortalServer(Path(root))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="sample-portal", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def serve_sample_portal(directory: str | Path) -> Iterator[RunningPortal]:
    """Build the sample portal under `directory` (if not yet built) and serve it on loopback:
    `with serve_sample_portal(tmp) as (base_url, sources): crawl_sources(sources, archive, allow_local=True)`."""
    root = build_sample_portal(directory)
    with serve_directory(root) as server:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}"
        sources_file = root / SOURCES_FILE
        sources_file.write_text(SOURCES_TEMPLATE.format(host=host, base=base), encoding="utf-8")
        yield RunningPortal(base, registry.load(sources_file), sources_file, server)


def main(argv: list[str] | None = None) -> int:
    """Serve the sample portal in the foreground: python -m budgetwatch.sample_portal [FOLDER]."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="budgetwatch-portal-"))
    with serve_sample_portal(folder) as portal:
        print(f"sample portal at {portal.base_url}/yjs/ (Ctrl-C to stop)")
        print(f"crawl it: budgetwatch crawl --sources-file {portal.sources_file} --allow-local")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
