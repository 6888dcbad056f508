"""Polite HTTP fetching: size and time caps, no private addresses, robots.txt, rate limits."""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
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
        self.headers: dict[str, str] = {}  # response headers, when the server answered


@dataclass
class FetchResult:
    """Outcome of one fetch: page is None when the server said 304 Not Modified."""

    status: int
    page: Page | None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] | None = None  # response headers of the final hop
    address: str | None = None  # the address connected to (None through an injected transport)
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, target) per hop

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retryable(Exception):
    def __init__(self, error: FetchError, wait: float | None = None):
        super().__init__(error.reason)
        self.error = error
        self.wait = wait  # server-requested wait (Retry-After), if any


def system_resolver(host: str) -> list[str]:
    """All addresses the system resolver gives for host, in its order of preference."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_COMPATIBLE = ipaddress.ip_network("::/96")  # IPv4-compatible (deprecated), also :: and ::1
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT IPv4-translated
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64: a private network
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, still routed on some networks


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries (mapped, compatible, translated,
    NAT64, 6to4), or None: the connection really goes to that IPv4 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _COMPATIBLE or ip in _TRANSLATED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True only for globally reachable unicast addresses, in every form they can take."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL or ip in _SITE_LOCAL or ip.teredo is not None:
            return False  # Teredo hides its client address; local NAT64 is a private network
        inner = embedded_ipv4(ip)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return ip.is_global and not ip.is_multicast


_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.I)


def _check_numeric_host(host: str) -> None:
    """A host whose last label is a number is an IPv4 address to a browser (WHATWG), but
    parsers disagree on `010.8.8.8` (octal?) or `2130706433`: only dotted quads are taken."""
    labels = host.rstrip(".").split(".")
    if ":" in host or not _NUMERIC_LABEL.match(labels[-1]):
        return
    try:
        ip = ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"ambiguous IPv4 address {host}") from None
    if str(ip) != host:
        raise ValueError(f"ambiguous IPv4 address {host}")


# --- the pinned connection: connect to the checked address, within one deadline --------

_context = threading.local()  # per thread: the checked addresses and the deadline in force


class _Budget:
    """One deadline for a whole fetch: every hop, retry and read comes out of it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def clamp(self, timeout: float | None) -> float:
        left = self.remaining()
        if left <= 0:
            raise httpcore.TimeoutException("deadline passed")
        return left if timeout is None else min(timeout, left)


@dataclass
class _Hop:
    """One request of a fetch (the first, or one after a redirect) and what it may use."""

    url: str
    headers: dict[str, str]
    max_bytes: int
    addresses: list[str]  # checked; the only ones it may connect to
    budget: _Budget


class _PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to the addresses the fetcher checked for that host in this
    request (set in `_context`), never by resolving the name again."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        pins: dict[str, list[str]] = getattr(_context, "pins", {})
        budget: _Budget | None = getattr(_context, "budget", None)
        addresses = pins.get(host.lower())
        if not addresses:
            raise httpcore.ConnectError(f"no checked address for {host}")
        error: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=budget.clamp(timeout) if budget else timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream)
        assert error is not None
        raise error

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are never used for fetching")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """Each read and write waits at most until the current fetch's deadline, so a server
    dribbling its headers a byte at a time is cut off too (a pooled connection serves the
    deadline of whichever fetch uses it now)."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    @staticmethod
    def _timeout(timeout: float | None, kind: type[Exception]) -> float | None:
        budget: _Budget | None = getattr(_context, "budget", None)
        if budget is None:
            return timeout
        try:
            return budget.clamp(timeout)
        except httpcore.TimeoutException:
            raise kind("deadline passed") from None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._timeout(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._timeout(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._timeout(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with the pinned network backend. TLS still verifies the
    certificate against the host name (the pool is keyed by name, not by address)."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(),
        )


class Fetcher:
    """A polite, defensive HTTP GET client. Thread-safe; one instance per process is enough.

    Every failure raises FetchError with a short reason. Caps are enforced while reading:
    max_bytes on the decoded body (a gzip bomb is stopped early) and `timeout` seconds for
    the whole fetch, start to end: connecting, every redirect hop and retry, headers and
    body. Each hop's host is resolved once, every address checked, and the connection made
    to one of exactly those addresses (no second lookup a rebinding DNS server could answer
    differently); environment proxies are ignored for the same reason.
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
        self._pinned = transport is None
        self._client = httpx.Client(
            transport=transport or PinnedTransport(),
            trust_env=False,
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
        budget = _Budget(self.timeout)
        return self._get(url, headers, max_bytes=self.max_bytes, check_robots=True, budget=budget)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST body to url and return the status (redirects are not followed, the answer is
        not read): for webhooks, with the same address checks and pinning as a fetch."""
        budget = _Budget(self.timeout)
        addresses = self._check_url(url, check_robots=False, budget=budget)
        _context.pins = {_pin_key(url): addresses}
        _context.budget = budget
        try:
            response = self._client.post(
                url, content=body, headers=headers, timeout=budget.remaining()
            )
            response.close()
            return response.status_code
        except httpx.HTTPError as exc:
            raise FetchError(f"POST failed: {_short(exc)}", url=url) from None
        finally:
            _context.pins = {}
            _context.budget = None

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
            except Exception as exc:  # one bad URL never stops the others
                log.exception("unexpected error fetching %s", url)
                return FetchError(f"unexpected error: {_short(exc)}", url=url)

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
        self,
        url: str,
        headers: dict[str, str],
        *,
        max_bytes: int,
        check_robots: bool,
        budget: _Budget,
    ) -> FetchResult:
        current = url
        redirects: list[tuple[int, str]] = []
        for _hop in range(self.max_redirects + 1):
            addresses = self._check_url(current, check_robots=check_robots, budget=budget)
            status, response_headers, body, address = self._with_retries(
                _Hop(current, headers, max_bytes, addresses, budget)
            )
            if status in REDIRECT_STATUSES:
                location = response_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without Location", url=url, status=status)
                current = urljoin(current, location.strip())
                redirects.append((status, current))
                continue
            result = self._result(url, current, status, response_headers, body)
            result.address = address
            result.redirects = redirects
            return result
        raise FetchError(f"too many redirects (over {self.max_redirects})", url=url)

    def _result(
        self, url: str, final_url: str, status: int, headers: httpx.Headers, body: bytes | None
    ) -> FetchResult:
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if status == 304:
            return FetchResult(status, None, etag, last_modified, dict(headers))
        if not 200 <= status < 300:
            error = FetchError(f"HTTP {status}", url=url, status=status)
            error.headers = dict(headers)
            raise error
        page = Page(
            url=url,
            content=body or b"",
            final_url=final_url,
            content_type=headers.get("content-type"),
            fetched=datetime.now(UTC),
        )
        return FetchResult(status, page, etag, last_modified, dict(headers))

    def _with_retries(self, hop: _Hop) -> tuple[int, httpx.Headers, bytes | None, str | None]:
        url, budget = hop.url, hop.budget
        attempt = 0
        while True:
            try:
                return self._exchange(hop)
            except _Retryable as retry:
                if attempt >= self.max_retries:
                    raise retry.error from None
                if retry.wait is not None and retry.wait > self.max_retry_wait:
                    # the server asks for a longer pause than we are willing to block for
                    error = retry.error
                    reason = f"{error.reason} (retry after {retry.wait:.0f}s)"
                    longer = FetchError(reason, url=error.url, status=error.status)
                    longer.headers = error.headers
                    raise longer from None
                delay = self.backoff * (2**attempt) * random.uniform(0.8, 1.2)
                if retry.wait is not None:
                    delay = max(delay, retry.wait)
                delay = min(delay, self.max_retry_wait)
                if delay >= budget.remaining():
                    raise retry.error from None  # no time left for another attempt
                log.info("retrying %s in %.1fs: %s", url, delay, retry.error.reason)
                time.sleep(delay)
                attempt += 1

    # --- one exchange ------------------------------------------------------------

    def _exchange(self, hop: _Hop) -> tuple[int, httpx.Headers, bytes | None, str | None]:
        url, budget = hop.url, hop.budget
        waited = self._wait_turn(_host_key(url))
        budget.deadline += waited  # politeness queueing is not the server's time
        timed_out = FetchError(f"timed out after {budget.seconds:g}s", url=url)
        if budget.remaining() <= 0:
            raise timed_out
        _context.pins = {_pin_key(url): hop.addresses}
        _context.budget = budget
        try:
            with self._client.stream(
                "GET", url, headers=hop.headers, timeout=budget.remaining()
            ) as response:
                address = _peer(response)
                status = response.status_code
                if status in RETRY_STATUSES:
                    error = FetchError(f"HTTP {status}", url=url, status=status)
                    error.headers = dict(response.headers)
                    raise _Retryable(error, _retry_after(response.headers.get("retry-after")))
                if status == 304 or status in REDIRECT_STATUSES or not 200 <= status < 300:
                    return status, response.headers, None, address
                body = self._read_body(response, hop.max_bytes, budget)
                return status, response.headers, body, address
        except httpx.TimeoutException:
            raise _Retryable(timed_out) from None
        except httpx.ConnectError as exc:
            raise _Retryable(FetchError(f"connection failed: {_short(exc)}", url=url)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(FetchError(f"connection broken: {_short(exc)}", url=url)) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {_short(exc)}", url=url) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"HTTP error: {_short(exc)}", url=url) from None
        finally:
            _context.pins = {}
            _context.budget = None

    def _read_body(self, response: httpx.Response, max_bytes: int, budget: _Budget) -> bytes:
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
            if budget.remaining() <= 0:
                raise FetchError(f"timed out after {budget.seconds:g}s", url=url)
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

    def _check_url(self, url: str, *, check_robots: bool, budget: _Budget) -> list[str]:
        """Refuse what must not be fetched; returns the checked addresses to connect to."""
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises on a malformed port
            if parts.scheme not in ("http", "https"):
                raise FetchError(f"unsupported scheme {parts.scheme or '(none)'}", url=url)
            parsed = httpx.URL(url)
            host = parsed.host
            if not host:
                raise ValueError("no host")
            _check_numeric_host(host)
        except (ValueError, httpx.InvalidURL) as exc:
            raise FetchError(f"invalid URL: {exc}", url=url) from None
        addresses = self._addresses(_pin_key(url), url)
        if not self.allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise FetchError(f"private address {address} refused", url=url)
        if check_robots and self.respect_robots and not self._robots_for(url, budget).allowed(url):
            failure = self._robots_failures.get(_host_key(url))
            if failure:  # the host did not answer at all: say that, not "blocked"
                raise FetchError(f"{failure} (robots.txt unreadable)", url=url)
            raise FetchError("blocked by robots.txt", url=url)
        return addresses

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

    def _robots_for(self, url: str, budget: _Budget) -> RobotsRules:
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
            rules, ttl = self._load_robots(key, budget)
            with self._robots_lock:
                self._robots[key] = (time.monotonic() + ttl, rules)
            return rules

    def _load_robots(self, host_key: str, budget: _Budget) -> tuple[RobotsRules, float]:
        robots_url = host_key + "/robots.txt"
        try:
            result = self._get(
                robots_url, {}, max_bytes=ROBOTS_MAX_BYTES, check_robots=False, budget=budget
            )
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

    def _wait_turn(self, host_key: str) -> float:
        """Wait for this host's next slot; returns the seconds waited."""
        interval = self.per_host_interval
        with self._robots_lock:
            cached = self._robots.get(host_key)
        if cached and cached[1].crawl_delay:
            interval = max(interval, min(cached[1].crawl_delay, MAX_CRAWL_DELAY))
        if interval <= 0:
            return 0.0
        # reserve the next slot under the lock, sleep outside it
        with self._slot_lock:
            now = time.monotonic()
            start = max(now, self._next_slot.get(host_key, 0.0))
            self._next_slot[host_key] = start + interval
        if start > now:
            time.sleep(start - now)
            return start - now
        return 0.0


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


def _pin_key(url: str) -> str:
    """The host as httpcore will name it when connecting: IDNA-encoded, lowercase, IPv6
    without brackets."""
    return httpx.URL(url).raw_host.decode("ascii").lower()


def _peer(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    return str(peer[0]) if peer else None


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
