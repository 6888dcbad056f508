"""A real threaded HTTP server on 127.0.0.1 whose routes tests set and change: feeds,
article pages, redirects, errors, slow and oversized answers."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

WORDS = (
    "harbour council ferry strike wages union vote morning crossing island transport "
    "minister talks weekend service passengers timetable captain engineers dispute pay "
    "offer board meeting evening statement spokesperson routes cancelled winter storm"
).split()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    etag: str | None = None  # answer 304 when the client sends it back
    dribble: bool = False  # a status line, then one header byte every 0.2 s, never ending


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, dict[str, str]]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, route: Route | None = None, **kwargs) -> str:
        with self.lock:
            self.routes[path] = route or Route(**kwargs)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for p, headers in self.log if p == path]

    def handle_error(self, request, client_address):  # clients hanging up are expected
        pass

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FeedServer

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.log.append((self.path, dict(self.headers)))
            route = srv.routes.get(self.path)
        if route is None:
            route = Route(404, b"not here")
        if route.delay:
            time.sleep(route.delay)
        if route.dribble:
            self._dribble()
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(route.body)


    def _dribble(self) -> None:
        # each read is quick, the whole response never ends
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(100):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass
        self.close_connection = True


def article_html(title: str, seed: int, extra: str = "") -> bytes:
    """A plain news article page the extractor reads as an article."""
    paragraphs = []
    for p in range(6):
        words = [WORDS[(seed * 7 + p * 3 + i * i) % len(WORDS)] for i in range(40)]
        paragraphs.append(f"<p>{' '.join(words).capitalize()} number {seed}-{p}.</p>")
    if extra:
        paragraphs.append(f"<p>{escape(extra)}</p>")
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title>"
        f'<meta property="og:title" content="{escape(title)}"></head><body>'
        f"<header><nav><a href='/'>Home</a></nav></header><article><h1>{escape(title)}</h1>"
        f"{''.join(paragraphs)}</article><footer>Copyright</footer></body></html>"
    ).encode()


T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def rss(
    items: list[dict],
    title: str = "Harbour Times",
    ttl: int | None = None,
    link: str = "https://harbour.example/",
) -> bytes:
    """An RSS 2.0 feed; each item: title, link, guid?, summary?, content?, hours (offset)."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>news</description>",
    ]
    if ttl:
        out.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        when = item.get("when") or T0 + timedelta(hours=item.get("hours", 0))
        out.append("<item>")
        out.append(f"<title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>")
        if item.get("guid"):
            out.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        out.append(f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>")
        if item.get("summary"):
            out.append(f"<description>{escape(item['summary'])}</description>")
        if item.get("content"):
            out.append(f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def harbour_site(srv: FeedServer) -> FeedServer:
    """A site whose front page announces its RSS feed ("Harbour Times", no entries)."""
    srv.set("/feed.xml", body=rss([], title="Harbour Times"),
            headers={"Content-Type": "application/rss+xml"})
    srv.set("/", body=b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'href="/feed.xml"></head><body>site</body></html>',
            headers={"Content-Type": "text/html"})
    return srv
