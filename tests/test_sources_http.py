"""Fetcher against a real HTTP server on 127.0.0.1, plus MockTransport unit tests."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tidings.sources.http import Fetcher, FetchError, FetchResult, is_public_address
from tidings.sources.robots import RobotsRules, product_token

MB = 1024 * 1024
PAGE = b"<html><head><title>Ferry</title></head><body><p>The ferry sails.</p></body></html>"


# --- a real server -----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: C901 - a route table
        srv = self.server
        with srv.lock:
            srv.log.append((self.path, dict(self.headers), time.monotonic()))
            srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
            hits = srv.hits[self.path]
        path = self.path
        if path == "/robots.txt":
            body = b"User-agent: *\nDisallow: /private/\nAllow: /private/ok\n"
            self._send(200, body, {"Content-Type": "text/plain"})
        elif path in ("/page", "/private/x", "/private/ok", "/count"):
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, headers={"ETag": '"v1"'})
            else:
                self._send(
                    200,
                    PAGE,
                    {
                        "Content-Type": "text/html; charset=utf-8",
                        "ETag": '"v1"',
                        "Last-Modified": "Tue, 03 Nov 2026 07:40:00 GMT",
                    },
                )
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/page" if left == 0 else f"/redirect/{left - 1}"
            self._send(302 if left % 2 else 301, headers={"Location": target})
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path == "/big":
            # 50 MB, no Content-Length: only the streaming cap can stop it
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<p>" + b"x" * (64 * 1024 - 3)
            try:
                for _ in range(50 * 16):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client hung up at its cap, as it should
            self.close_connection = True
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(50 * MB))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
        elif path == "/bomb":
            self._send(200, srv.bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        elif path == "/gzipped":
            body = gzip.compress(PAGE)
            self._send(200, body, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/flaky":
            if hits == 1:
                self._send(503, b"busy", {"Retry-After": "1"})
            else:
                self._send(200, PAGE, {"Content-Type": "text/html"})
        elif path == "/down":
            self._send(503, b"busy", {"Retry-After": "3600"})
        elif path == "/missing":
            self._send(404, b"nope")
        else:
            self._send(404, b"nope")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.log: list[tuple[str, dict, float]] = []
        self.hits: dict[str, int] = {}
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = b"\0" * MB
        self.bomb = b"".join(compressor.compress(zeros) for _ in range(50)) + compressor.flush()

    def handle_error(self, request, client_address):  # client hang-ups are expected here
        pass

    def paths(self):
        with self.lock:
            return [entry[0] for entry in self.log]


@pytest.fixture(scope="module")
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def base(server):
    with server.lock:
        server.log.clear()
        server.hits.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def fetcher():
    made = []

    def make(**kwargs):
        kwargs.setdefault("allow_private", True)
        kwargs.setdefault("per_host_interval", 0)
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("backoff", 0.01)
        f = Fetcher(**kwargs)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def test_normal_page(base, fetcher):
    result = fetcher().fetch(base + "/page")
    assert isinstance(result, FetchResult)
    assert result.status == 200
    page = result.page
    assert page.content == PAGE
    assert page.url == base + "/page"
    assert page.final_url == base + "/page"
    assert page.content_type == "text/html; charset=utf-8"
    assert page.fetched is not None and page.fetched.tzinfo is not None
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 03 Nov 2026 07:40:00 GMT"


def test_user_agent_and_accept_encoding_sent(server, base, fetcher):
    fetcher(user_agent="TidingsTest/9", respect_robots=False).fetch(base + "/page")
    (_, headers, _) = server.log[-1]
    assert headers["User-Agent"] == "TidingsTest/9"
    assert headers["Accept-Encoding"] == "gzip, deflate"


def test_redirect_chain_is_followed(server, base, fetcher):
    result = fetcher(respect_robots=False).fetch(base + "/redirect/3")
    assert result.page.url == base + "/redirect/3"
    assert result.page.final_url == base + "/page"
    assert result.page.content == PAGE
    assert server.paths() == ["/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0", "/page"]


def test_redirect_limit(base, fetcher):
    with pytest.raises(FetchError, match=r"^too many redirects \(over 2\)$"):
        fetcher(max_redirects=2, respect_robots=False).fetch(base + "/redirect/3")
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher(respect_robots=False).fetch(base + "/loop")


def test_conditional_get_304(server, base, fetcher):
    f = fetcher(respect_robots=False)
    first = f.fetch(base + "/page")
    second = f.fetch(base + "/page", etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304
    assert second.not_modified
    assert second.page is None
    assert second.etag == '"v1"'
    (_, headers, _) = server.log[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 03 Nov 2026 07:40:00 GMT"


def test_50mb_response_is_cut_off_at_the_cap(base, fetcher):
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetcher(max_bytes=MB, respect_robots=False).fetch(base + "/big")
    assert str(info.value) == f"too large: over {MB} bytes"
    assert time.monotonic() - started < 3


def test_declared_content_length_over_cap_is_refused_before_reading(base, fetcher):
    with pytest.raises(FetchError, match=f"^too large: over {MB} bytes$"):
        fetcher(max_bytes=MB, respect_robots=False).fetch(base + "/big-declared")


def test_gzip_bomb_is_stopped_on_decoded_size(server, base, fetcher):
    assert len(server.bomb) < 200_000  # small on the wire, 50 MB decoded
    with pytest.raises(FetchError, match=f"^too large: over {MB} bytes$"):
        fetcher(max_bytes=MB, respect_robots=False).fetch(base + "/bomb")


def test_gzip_body_is_decoded(base, fetcher):
    result = fetcher(respect_robots=False).fetch(base + "/gzipped")
    assert result.page.content == PAGE


def test_slow_drip_is_cut_off_by_total_time(base, fetcher):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 0.5s$"):
        fetcher(timeout=0.5, respect_robots=False, max_retries=0).fetch(base + "/drip")
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0  # the whole body would take 20 s


def test_503_with_retry_after_then_success(server, base, fetcher):
    started = time.monotonic()
    result = fetcher(respect_robots=False).fetch(base + "/flaky")
    assert result.status == 200
    assert result.page.content == PAGE
    assert server.hits["/flaky"] == 2
    assert time.monotonic() - started >= 0.95  # Retry-After: 1 was honoured


def test_retry_after_beyond_cap_gives_up_at_once(server, base, fetcher):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^HTTP 503 \(retry after 3600s\)$") as info:
        fetcher(respect_robots=False, max_retry_wait=2).fetch(base + "/down")
    assert info.value.status == 503
    assert server.hits["/down"] == 1
    assert time.monotonic() - started < 1


def test_http_404(base, fetcher):
    with pytest.raises(FetchError, match="^HTTP 404$") as info:
        fetcher(respect_robots=False).fetch(base + "/missing")
    assert info.value.status == 404


def test_robots_txt_disallows_a_path_and_is_cached(server, base, fetcher):
    f = fetcher()
    with pytest.raises(FetchError, match="^blocked by robots.txt$"):
        f.fetch(base + "/private/x")
    assert f.fetch(base + "/private/ok").status == 200  # a longer Allow wins
    assert f.fetch(base + "/page").status == 200
    paths = server.paths()
    assert "/private/x" not in paths
    assert paths.count("/robots.txt") == 1


def test_robots_ignored_when_told(server, base, fetcher):
    assert fetcher(respect_robots=False).fetch(base + "/private/x").status == 200
    assert "/robots.txt" not in server.paths()


def test_private_address_refused_before_connecting(server, base, fetcher):
    port = server.server_address[1]
    f = fetcher(allow_private=False)
    with pytest.raises(FetchError, match=r"^private address 127\.0\.0\.1 refused$"):
        f.fetch(base + "/page")
    with pytest.raises(FetchError, match=r"^private address (127\.0\.0\.1|::1) refused$"):
        f.fetch(f"http://localhost:{port}/page")  # resolved, then refused
    assert server.paths() == []


def test_per_host_interval(server, base, fetcher):
    f = fetcher(per_host_interval=0.15, respect_robots=False)
    threads = [threading.Thread(target=f.fetch, args=(base + "/count",)) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 0.44  # 4 requests, 3 gaps
    stamps = sorted(entry[2] for entry in server.log)
    assert len(stamps) == 4
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 0.13


def test_interval_is_per_host(server, fetcher):
    port = server.server_address[1]
    f = fetcher(per_host_interval=0.5, respect_robots=False)
    started = time.monotonic()
    f.fetch(f"http://127.0.0.1:{port}/count")
    f.fetch(f"http://localhost:{port}/count")  # another host: no wait
    assert time.monotonic() - started < 0.4


def test_fetch_many_in_parallel_fetches_robots_once(server, base, fetcher):
    urls = [base + "/page", base + "/private/x", base + "/missing"] + [base + "/count"] * 3
    results = list(fetcher().fetch_many(urls, workers=6))
    assert sorted(url for url, _ in results) == sorted(urls)
    outcome = {url: str(r) if isinstance(r, FetchError) else r.status for url, r in results}
    assert outcome[base + "/page"] == 200
    assert outcome[base + "/private/x"] == "blocked by robots.txt"
    assert outcome[base + "/missing"] == "HTTP 404"
    assert server.paths().count("/robots.txt") == 1


# --- MockTransport unit tests ------------------------------------------------------


def _resolver(table):
    def resolve(host):
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


PUBLIC = {"news.example": ["93.184.216.34"], "cdn.example": ["93.184.216.35"]}


def _mock(handler, **kwargs):
    kwargs.setdefault("resolver", _resolver(PUBLIC))
    kwargs.setdefault("per_host_interval", 0)
    kwargs.setdefault("respect_robots", False)
    kwargs.setdefault("backoff", 0.001)
    return Fetcher(transport=httpx.MockTransport(handler), **kwargs)


def test_redirect_to_private_host_is_refused():
    table = {**PUBLIC, "intranet.example": ["10.0.0.1"]}
    seen = []

    def handler(request):
        seen.append(request.url.host)
        if request.url.host == "news.example":
            return httpx.Response(302, headers={"Location": "http://intranet.example/admin"})
        return httpx.Response(200, content=b"secret")

    with (
        _mock(handler, resolver=_resolver(table)) as f,
        pytest.raises(FetchError, match=r"^private address 10\.0\.0\.1 refused$"),
    ):
        f.fetch("https://news.example/story")
    assert seen == ["news.example"]


def test_every_resolved_address_is_checked():
    table = {"mixed.example": ["93.184.216.34", "192.168.1.5"]}
    with (
        _mock(lambda r: httpx.Response(200), resolver=_resolver(table)) as f,
        pytest.raises(FetchError, match=r"^private address 192\.168\.1\.5 refused$"),
    ):
        f.fetch("http://mixed.example/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/file", "unsupported scheme ftp"),
        ("file:///etc/passwd", "unsupported scheme file"),
        ("news.example/story", "unsupported scheme (none)"),
        ("http://nowhere.example/", "DNS lookup failed for nowhere.example"),
        ("http://[::1]/", "private address ::1 refused"),
        ("http://169.254.169.254/latest/meta-data", "private address 169.254.169.254 refused"),
        ("http://[::ffff:10.0.0.1]/", "private address ::ffff:a00:1 refused"),
    ],
)
def test_refused_urls(url, reason):
    with _mock(lambda r: httpx.Response(200)) as f, pytest.raises(FetchError) as info:
        f.fetch(url)
    assert str(info.value).startswith(reason)


def test_redirect_to_other_scheme_refused():
    def handler(request):
        return httpx.Response(301, headers={"Location": "file:///etc/passwd"})

    with _mock(handler) as f, pytest.raises(FetchError, match="^unsupported scheme file$"):
        f.fetch("http://news.example/")


def test_connect_errors_are_retried_then_succeed():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, content=b"<html>ok</html>")  # pre-read: also accepted

    with _mock(handler, max_retries=2) as f:
        assert f.fetch("http://news.example/").page.content == b"<html>ok</html>"
    assert len(calls) == 3


def test_retries_exhausted_gives_last_reason():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ReadTimeout("slow")

    with _mock(handler, max_retries=1, timeout=7) as f, pytest.raises(FetchError) as info:
        f.fetch("http://news.example/")
    assert str(info.value) == "timed out after 7s"
    assert len(calls) == 2


def test_429_with_http_date_retry_after():
    calls = []
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=0.5), usegmt=True)

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": later})
        return httpx.Response(200, content=b"<p>ok</p>")

    with _mock(handler) as f:
        assert f.fetch("http://news.example/").status == 200
    assert len(calls) == 2


def test_4xx_is_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(410)

    with _mock(handler) as f, pytest.raises(FetchError, match="^HTTP 410$"):
        f.fetch("http://news.example/")
    assert len(calls) == 1


def test_deflate_raw_and_zlib_bodies_are_decoded():
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw_body = raw.compress(PAGE) + raw.flush()

    def handler(request):
        body = zlib.compress(PAGE) if request.url.path == "/zlib" else raw_body
        return httpx.Response(200, content=iter([body]), headers={"Content-Encoding": "deflate"})

    with _mock(handler) as f:
        assert f.fetch("http://news.example/zlib").page.content == PAGE
        assert f.fetch("http://news.example/raw").page.content == PAGE


def test_unsupported_and_corrupt_encodings():
    def handler(request):
        if request.url.path == "/br":
            return httpx.Response(200, content=iter([b"xx"]), headers={"Content-Encoding": "br"})
        body = iter([b"not gzip"])
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})

    with _mock(handler) as f:
        with pytest.raises(FetchError, match="^unsupported content encoding br$"):
            f.fetch("http://news.example/br")
        with pytest.raises(FetchError, match="^corrupt compressed body$"):
            f.fetch("http://news.example/bad")


def test_robots_unreachable_means_disallowed_and_missing_means_allowed():
    def handler(request):
        if request.url.host == "down.example" and request.url.path == "/robots.txt":
            return httpx.Response(500)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(200, content=b"<p>x</p>")

    table = {**PUBLIC, "down.example": ["93.184.216.36"]}
    with _mock(handler, respect_robots=True, max_retries=0, resolver=_resolver(table)) as f:
        assert f.fetch("http://news.example/a").status == 200
        with pytest.raises(FetchError, match="^blocked by robots.txt$"):
            f.fetch("http://down.example/a")


def test_robots_checked_again_after_redirect_to_other_host():
    def handler(request):
        if request.url.path == "/robots.txt":
            if request.url.host == "cdn.example":
                return httpx.Response(200, text="User-agent: tidings\nDisallow: /\n")
            return httpx.Response(404)
        if request.url.host == "news.example":
            return httpx.Response(302, headers={"Location": "http://cdn.example/a"})
        return httpx.Response(200)

    with (
        _mock(handler, respect_robots=True, user_agent="Tidings/0.1") as f,
        pytest.raises(FetchError, match="^blocked by robots.txt$"),
    ):
        f.fetch("http://news.example/a")


def test_public_address_classification():
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:2800:220:1:248:1893:25c8:1946")
    for address in [
        "10.0.0.1",
        "172.16.3.4",
        "192.168.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "169.254.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
    ]:
        assert not is_public_address(address), address


# --- robots.txt rules ----------------------------------------------------------------


ROBOTS = """
# comment
User-agent: *
Disallow: /private/
Allow: /private/public-*
Disallow: /*.pdf$
Crawl-delay: 2

User-agent: Tidings
User-agent: OtherBot
Disallow: /only-for-tidings
Crawl-delay: 5
"""


def test_robots_rules_match_our_group_only():
    rules = RobotsRules.parse(ROBOTS, "Tidings/0.1 (+https://example.org)")
    assert not rules.allowed("https://x.example/only-for-tidings/page")
    assert rules.allowed("https://x.example/private/secret")  # the * group does not apply
    assert rules.crawl_delay == 5


def test_robots_rules_wildcards_and_longest_match():
    rules = RobotsRules.parse(ROBOTS, "SomeBot/1.0")
    assert not rules.allowed("https://x.example/private/secret")
    assert rules.allowed("https://x.example/private/public-notes")
    assert not rules.allowed("https://x.example/docs/report.pdf")
    assert rules.allowed("https://x.example/docs/report.pdf?download=1")  # $ anchors the end
    assert rules.allowed("https://x.example/")
    assert rules.allowed("https://x.example/robots.txt")
    assert rules.crawl_delay == 2


def test_robots_edge_cases():
    assert RobotsRules.parse("", "tidings").allowed("http://x/anything")
    assert RobotsRules.parse("User-agent: *\nDisallow:\n", "tidings").allowed("http://x/a")
    everything = RobotsRules.parse("User-agent: *\nDisallow: /\n", "tidings")
    assert not everything.allowed("http://x/")
    assert RobotsRules(disallow_all=True).allowed("http://x/robots.txt")
    assert product_token("Tidings/0.1 (self-hosted)") == "tidings"
