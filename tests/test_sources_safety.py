"""The fetcher cannot be turned against its own network: pinned addresses, every non-global
address form refused after every redirect, one bad URL fails alone, one deadline per fetch."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tidings.sources.http import Fetcher, FetchError, is_public_address

from .feedserver import FeedServer

PAGE = b"<html><head><title>Ferry</title></head><body><p>The ferry sails.</p></body></html>"


@pytest.fixture(scope="module")
def server():
    srv = FeedServer()
    srv.set("/page", body=PAGE, headers={"Content-Type": "text/html"})
    srv.set("/page?2", body=PAGE, headers={"Content-Type": "text/html"})
    srv.set("/busy", status=503, body=b"busy", headers={"Retry-After": "1"})
    for left in range(5):  # five hops of 0.4 s each
        target = "/page" if left == 0 else f"/slow-hop/{left - 1}"
        srv.set(f"/slow-hop/{left}", status=302, headers={"Location": target}, delay=0.4)
    srv.set("/dribble-headers", dribble=True)
    yield srv
    srv.stop()


@pytest.fixture
def port(server):
    with server.lock:
        server.log.clear()
    return server.server_address[1]


def _seen(server) -> list[tuple[str, str]]:
    with server.lock:
        return [(path, headers.get("Host")) for path, headers in server.log]


def _fetcher(**kwargs):
    kwargs.setdefault("per_host_interval", 0)
    kwargs.setdefault("respect_robots", False)
    kwargs.setdefault("backoff", 0.01)
    return Fetcher(**kwargs)


def test_connects_to_the_address_that_was_checked(server, port):
    """A rebinding resolver answers differently the second time: the fetcher must not ask
    again (nor let httpx ask the system) but connect to what it checked."""
    answers = [["127.0.0.1"], ["10.255.255.1"]]
    calls = []

    def rebinding(host):
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    with _fetcher(allow_private=True, resolver=rebinding) as f:
        result = f.fetch(f"http://rebind.test:{port}/page")
    assert result.page.content == PAGE
    assert result.address == "127.0.0.1"
    assert calls == ["rebind.test"]
    assert _seen(server) == [("/page", f"rebind.test:{port}")]  # the Host header is the name


def test_pooled_connection_is_never_shared_between_names(server, port):
    table = {"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]}
    with _fetcher(allow_private=True, resolver=lambda h: table[h]) as f:
        f.fetch(f"http://a.test:{port}/page")
        f.fetch(f"http://b.test:{port}/page")
    assert [host for _, host in _seen(server)] == [f"a.test:{port}", f"b.test:{port}"]


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::ffff:0:7f00:1",  # IPv4-translated
        "::ffff:169.254.169.254",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fec0::1",  # site-local
        "ff02::1",
    ],
)
def test_non_global_address_forms_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "8.8.8.8"])
def test_global_forms_are_allowed(address):
    assert is_public_address(address)


def _mock(handler, table, **kwargs):
    def resolve(host):
        return table[host]

    return _fetcher(transport=httpx.MockTransport(handler), resolver=resolve, **kwargs)


@pytest.mark.parametrize(
    "target",
    ["http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",
     "http://[::ffff:0:7f00:1]/", "http://nat64.example/"],
)
def test_redirect_to_a_disguised_loopback_is_refused(target):
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": target})

    table = {"news.example": ["93.184.216.34"], "nat64.example": ["64:ff9b::a9fe:a9fe"]}
    with _mock(handler, table) as f, pytest.raises(FetchError, match="^private address"):
        f.fetch("http://news.example/story")
    assert seen == ["http://news.example/story"]


@pytest.mark.parametrize(
    "url", ["http://010.8.8.8/", "http://0x7f.1/", "http://2130706433/", "http://1.2.3/"]
)
def test_ambiguous_numeric_hosts_are_refused_without_a_lookup(url):
    asked = []

    def resolve(host):
        asked.append(host)
        return ["8.8.8.8"]

    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    with (
        _fetcher(resolver=resolve, transport=transport) as f,
        pytest.raises(FetchError, match="^invalid URL"),
    ):
        f.fetch(url)
    assert asked == []


def test_one_bad_url_fails_alone_in_fetch_many(port):
    good = f"http://127.0.0.1:{port}/page"
    urls = [good, "http://010.8.8.8/", "http://exa mple.com/", "http://[::1/", good + "?2"]
    with _fetcher(allow_private=True) as f:
        results = dict(f.fetch_many(urls, workers=3))
    assert set(results) == set(urls)
    assert not isinstance(results[good], FetchError), results[good]
    assert results[good].page.content == PAGE
    assert not isinstance(results[good + "?2"], FetchError), results[good + "?2"]
    assert results[good + "?2"].page.content == PAGE
    for bad in urls[1:4]:
        assert isinstance(results[bad], FetchError), bad


def test_one_deadline_covers_retries(port):
    started = time.monotonic()
    with (
        _fetcher(allow_private=True, timeout=1.5, max_retries=10) as f,
        pytest.raises(FetchError, match="HTTP 503"),
    ):
        f.fetch(f"http://127.0.0.1:{port}/busy")  # Retry-After: 1, ten retries allowed
    assert time.monotonic() - started < 2.0


def test_one_deadline_covers_redirect_hops(port):
    started = time.monotonic()
    with (
        _fetcher(allow_private=True, timeout=1.0) as f,
        pytest.raises(FetchError, match="^timed out after 1s$"),
    ):
        f.fetch(f"http://127.0.0.1:{port}/slow-hop/4")  # five hops of 0.4 s each
    assert time.monotonic() - started < 1.6


def test_a_server_dribbling_its_headers_hits_the_deadline(port):
    started = time.monotonic()
    with (
        _fetcher(allow_private=True, timeout=1.0, max_retries=0) as f,
        pytest.raises(FetchError, match="^timed out after 1s$"),
    ):
        f.fetch(f"http://127.0.0.1:{port}/dribble-headers")
    assert time.monotonic() - started < 1.6


def test_jsonl_urls_must_be_http(tmp_path):
    from tidings.models import IngestResult
    from tidings.pipeline.inputs import iter_inputs
    from tidings.settings import Settings

    path = tmp_path / "feed.jsonl"
    rows = [
        {"url": "javascript:alert(1)", "title": "Script"},
        {"url": "file:///etc/passwd", "title": "Local"},
        {"url": "data:text/html,hi", "title": "Data"},
        {"url": "https://news.example/ok", "title": "Fine", "canonical_url": "javascript:x()",
         "image": "file:///etc/shadow"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = IngestResult()
    items = list(iter_inputs([str(path)], Settings.load(env={}), None, result, None))
    assert [a.url for a in items] == ["https://news.example/ok"]
    assert items[0].canonical_url is None and items[0].image is None
    reasons = [p.reason for p in result.failed]
    assert reasons == [
        "'url' must be an http(s) URL, not javascript:",
        "'url' must be an http(s) URL, not file:",
        "'url' must be an http(s) URL, not data:",
    ]
    assert [p.reason for p in result.notes] == [
        "'canonical_url' dropped: not an http(s) URL",
        "'image' dropped: not an http(s) URL",
    ]
