"""Polite HTTP fetching: size and time caps, no private addresses, robots.txt, rate limits."""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tidings import __version__
from tidings.models import Page
from tidings.sources.robots import RobotsRules

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"Tidings/{__version__} (self-hosted news reader)"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_TTL = 3600.0  # seconds a robots.txt verdict is cached
ROBOTS_FAILURE_TTL = 300.0  # an unreachable robots.txt is asked again sooner
MAX_CRAWL_DELAY = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/feed+json,application/json;q=0.9,application/xml;q=0.9,*/*;q=0.8"
)

Resolver = Callable[[str], list[str]]


class FetchError(Exception):
    """A fetch that did not produce a page; str(error) is a short human reason."""

    def __init__(self, reason: str, *, url: str | None = None, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status


@dataclass
class FetchResult:
    """Outcome of one fetch: page is None when the server said 304 Not Modified."""

    status: int
    page: Page | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retryable(Exception):
    def __init__(self, error: FetchError, wait: float | None = None):
        super().__init__(error.reason)
        self.error = error
        self.wait = wait  # server-requested wait (Retry-After), if any


def system_resolver(host: str) -> list[str]:
    """All addresses the system resolver gives for host."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class Fetcher:
    """A polite, defensive HTTP GET client. Thread-safe; one instance per process is enough.

    Every failure raises FetchError with a short reason. Caps are enforced while reading:
    max_bytes on the decoded body (a gzip bomb is stopped early) and timeout seconds for
    connecting, for each read, and for the whole body download (a slow-drip server is cut
    off). Known gaps: a server dribbling its *headers* is bounded only by the per-read
    timeout, and the address check resolves the host separately from httpx's own
    connect (a DNS-rebinding window); a pinned-address transport would close both.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 20.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_private: bool = False,
        per_host_interval: float = 1.0,
        respect_robots: bool = True,
        max_retries: int = 2,
        max_redirects: int = 5,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.per_host_interval = per_host_interval
        self.respect_robots = respect_robots
        self.max_retries = max_retries
        self.max_redirects = max_redirects
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self._resolve = resolver or system_resolver
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,  # followed by hand: each hop is checked again
            timeout=timeout,
            headers={
                "User-Agent": user_agent,
                "Accept": ACCEPT,
                # only encodings decoded here under the byte cap
                "Accept-Encoding": "gzip, deflate",
            },
        )
        self._slot_lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots_lock = threading.Lock()
        self._robots: dict[str, tuple[float, RobotsRules]] = {}
        self._robots_host_locks: dict[str, threading.Lock] = {}
        self._robots_failures: dict[str, str] = {}  # host → why its robots.txt was unreadable

    # --- public ------------------------------------------------------------------

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET url; conditional when etag / last_modified from an earlier fetch are given."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._get(url, headers, max_bytes=self.max_bytes, check_robots=True)

    def fetch_many(
        self, urls: Iterable[str], *, workers: int = 8
    ) -> Iterator[tuple[str, FetchResult | FetchError]]:
        """Fetch urls on a thread pool; yield (url, result or error) as each one finishes.

        Politeness still holds: the per-host interval spaces requests to one host however
        many workers there are, so workers mostly help when urls span many hosts.
        """
        from concurrent.futures import ThreadPoolExecutor, as_completed

        def one(url: str) -> FetchResult | FetchError:
            try:
                return self.fetch(url)
            except FetchError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, url): url for url in urls}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # --- redirects and retries ---------------------------------------------------

    def _get(
        self, url: str, headers: dict[str, str], *, max_bytes: int, check_robots: bool
    ) -> FetchResult:
        current = url
        for _hop in range(self.max_redirects + 1):
            self._check_url(current, check_robots=check_robots)
            status, response_headers, body = self._with_retries(current, headers, max_bytes)
            if status in REDIRECT_STATUSES:
                location = response_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without Location", url=url, status=status)
                current = urljoin(current, location.strip())
                continue
            return self._result(url, current, status, response_headers, body)
        raise FetchError(f"too many redirects (over {self.max_redirects})", url=url)

    def _result(
        self, url: str, final_url: str, status: int, headers: httpx.Headers, body: bytes | None
    ) -> FetchResult:
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if status == 304:
            return FetchResult(status, None, etag, last_modified)
        if not 200 <= status < 300:
            raise FetchError(f"HTTP {status}", url=url, status=status)
        page = Page(
            url=url,
            content=body or b"",
            final_url=final_url,
            content_type=headers.get("content-type"),
            fetched=datetime.now(UTC),
        )
        return FetchResult(status, page, etag, last_modified)

    def _with_retries(
        self, url: str, headers: dict[str, str], max_bytes: int
    ) -> tuple[int, httpx.Headers, bytes | None]:
        attempt = 0
        while True:
            try:
                return self._exchange(url, headers, max_bytes)
            except _Retryable as retry:
                if attempt >= self.max_retries:
                    raise retry.error from None
                if retry.wait is not None and retry.wait > self.max_retry_wait:
                    # the server asks for a longer pause than we are willing to block for
                    error = retry.error
                    reason = f"{error.reason} (retry after {retry.wait:.0f}s)"
                    raise FetchError(reason, url=error.url, status=error.status) from None
                delay = self.backoff * (2**attempt) * random.uniform(0.8, 1.2)
                if retry.wait is not None:
                    delay = max(delay, retry.wait)
                delay = min(delay, self.max_retry_wait)
                log.info("retrying %s in %.1fs: %s", url, delay, retry.error.reason)
                time.sleep(delay)
                attempt += 1

    # --- one exchange ------------------------------------------------------------

    def _exchange(
        self, url: str, headers: dict[str, str], max_bytes: int
    ) -> tuple[int, httpx.Headers, bytes | None]:
        self._wait_turn(_host_key(url))
        started = time.monotonic()
        deadline = started + self.timeout
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    error = FetchError(f"HTTP {status}", url=url, status=status)
                    raise _Retryable(error, _retry_after(response.headers.get("retry-after")))
                if status == 304 or status in REDIRECT_STATUSES or not 200 <= status < 300:
                    return status, response.headers, None
                body = self._read_body(response, max_bytes, deadline)
                return status, response.headers, body
        except httpx.TimeoutException:
            error = FetchError(f"timed out after {self.timeout:g}s", url=url)
            raise _Retryable(error) from None
        except httpx.ConnectError as exc:
            raise _Retryable(FetchError(f"connection failed: {_short(exc)}", url=url)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(FetchError(f"connection broken: {_short(exc)}", url=url)) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"HTTP error: {_short(exc)}", url=url) from None

    def _read_body(self, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
        url = str(response.request.url)
        declared = response.headers.get("content-length")
        encoding = response.headers.get("content-encoding", "identity")
        if declared and declared.isdigit() and _is_identity(encoding) and int(declared) > max_bytes:
            raise FetchError(f"too large: over {max_bytes} bytes", url=url)
        if response.is_stream_consumed:
            # an injected transport handed over a response that is already read and decoded
            if len(response.content) > max_bytes:
                raise FetchError(f"too large: over {max_bytes} bytes", url=url)
            return response.content
        decoder = _Decoder(encoding, max_bytes, url)
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.timeout:g}s", url=url)
            for piece in decoder.feed(raw):
                size += len(piece)
                if size > max_bytes:
                    raise FetchError(f"too large: over {max_bytes} bytes", url=url)
                chunks.append(piece)
        for piece in decoder.finish():
            size += len(piece)
            if size > max_bytes:
                raise FetchError(f"too large: over {max_bytes} bytes", url=url)
            chunks.append(piece)
        return b"".join(chunks)

    # --- checks ------------------------------------------------------------------

    def _check_url(self, url: str, *, check_robots: bool) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises on a malformed port
        except ValueError as exc:
            raise FetchError(f"invalid URL: {exc}", url=url) from None
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"unsupported scheme {parts.scheme or '(none)'}", url=url)
        if not host:
            raise FetchError("invalid URL: no host", url=url)
        if not self.allow_private:
            for address in self._addresses(host, url):
                if not is_public_address(address):
                    raise FetchError(f"private address {address} refused", url=url)
        if check_robots and self.respect_robots and not self._robots_for(url).allowed(url):
            failure = self._robots_failures.get(_host_key(url))
            if failure:  # the host did not answer at all: say that, not "blocked"
                raise FetchError(f"{failure} (robots.txt unreadable)", url=url)
            raise FetchError("blocked by robots.txt", url=url)

    def _addresses(self, host: str, url: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            addresses = self._resolve(host)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"DNS lookup failed for {host}: {_short(exc)}", url=url) from None
        if not addresses:
            raise FetchError(f"DNS lookup failed for {host}", url=url)
        return addresses

    def _robots_for(self, url: str) -> RobotsRules:
        key = _host_key(url)
        with self._robots_lock:
            cached = self._robots.get(key)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            host_lock = self._robots_host_locks.setdefault(key, threading.Lock())
        with host_lock:  # one robots.txt fetch per host even with many threads
            with self._robots_lock:
                cached = self._robots.get(key)
                if cached and cached[0] > time.monotonic():
                    return cached[1]
            rules, ttl = self._load_robots(key)
            with self._robots_lock:
                self._robots[key] = (time.monotonic() + ttl, rules)
            return rules

    def _load_robots(self, host_key: str) -> tuple[RobotsRules, float]:
        robots_url = host_key + "/robots.txt"
        try:
            result = self._get(robots_url, {}, max_bytes=ROBOTS_MAX_BYTES, check_robots=False)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return RobotsRules.allow_all(), ROBOTS_TTL  # missing robots.txt: all allowed
            if exc.reason.startswith("too large"):
                return RobotsRules.allow_all(), ROBOTS_TTL
            log.warning("robots.txt unreachable for %s (%s): not fetching", host_key, exc)
            if exc.status is None:  # no HTTP answer at all (refused, timed out, DNS)
                self._robots_failures[host_key] = exc.reason
            return RobotsRules(disallow_all=True), ROBOTS_FAILURE_TTL
        self._robots_failures.pop(host_key, None)
        body = result.page.content if result.page else b""
        rules = RobotsRules.parse(body.decode("utf-8", errors="replace"), self.user_agent)
        return rules, ROBOTS_TTL

    def _wait_turn(self, host_key: str) -> None:
        interval = self.per_host_interval
        with self._robots_lock:
            cached = self._robots.get(host_key)
        if cached and cached[1].crawl_delay:
            interval = max(interval, min(cached[1].crawl_delay, MAX_CRAWL_DELAY))
        if interval <= 0:
            return
        # reserve the next slot under the lock, sleep outside it
        with self._slot_lock:
            now = time.monotonic()
            start = max(now, self._next_slot.get(host_key, 0.0))
            self._next_slot[host_key] = start + interval
        if start > now:
            time.sleep(start - now)


class _Decoder:
    """Content-Encoding decoder that never inflates more than limit+1 bytes per call."""

    def __init__(self, encoding: str, limit: int, url: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise FetchError(f"unsupported content encoding {encoding}", url=url)
        self.coding = codings[0] if codings else None
        if self.coding not in (None, "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding {self.coding}", url=url)
        self.limit = limit
        self.url = url
        self._inflater: Any = None
        self._first = True

    def _new_inflater(self) -> Any:
        wbits = 31 if self.coding in ("gzip", "x-gzip") else 15
        return zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.coding is None:
            yield data
            return
        if self._inflater is None:
            self._inflater = self._new_inflater()
        while data:
            try:
                out = self._inflater.decompress(data, self.limit + 1)
            except zlib.error:
                if self.coding == "deflate" and self._first:
                    # some servers send raw deflate without the zlib header
                    self._inflater = zlib.decompressobj(-15)
                    self._first = False
                    continue
                raise FetchError("corrupt compressed body", url=self.url) from None
            self._first = False
            yield out
            if len(out) > self.limit:
                return  # the caller stops on the size cap
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                data = self._inflater.unused_data
                if not data.strip(b"\0"):
                    return
                self._inflater = self._new_inflater()  # another gzip member

    def finish(self) -> Iterator[bytes]:
        if self._inflater is not None:
            tail = self._inflater.flush()
            if tail:
                yield tail


def _is_identity(encoding: str) -> bool:
    return all(c.strip().lower() in ("", "identity") for c in encoding.split(","))


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "…"
