"""The poller against a real threaded HTTP server on 127.0.0.1: conditional GET, schedule,
backoff, 410, moves, deadlines, caps, malformed feeds, entry identity, partial entries."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tidings.sources.http import Fetcher
from tidings.sources.poller import GONE, Poller

from .feedserver import FeedServer, Route, article_html, rss

MIN, MAX = 300.0, 86400.0


@pytest.fixture(scope="module")
def server():
    srv = FeedServer()
    yield srv
    srv.stop()


@pytest.fixture
def engine(make_engine, server):
    with server.lock:
        server.routes.clear()
        server.log.clear()
    return make_engine(
        fetch_allow_private=True,
        fetch_per_host_interval=0.0,
        fetch_respect_robots=False,
        fetch_timeout=5.0,
        poll_min_interval=MIN,
        poll_max_interval=MAX,
    )


def _items(server, n, prefix="story", pages=True, **extra):
    items = []
    for i in range(n):
        path = f"/{prefix}/{i}"
        if pages:
            server.set(path, body=article_html(f"{prefix.title()} {i} headline", i),
                       headers={"Content-Type": "text/html; charset=utf-8"})
        items.append({"title": f"{prefix.title()} {i} headline", "link": server.url(path),
                      "guid": f"{prefix}-{i}", "hours": i, **extra})
    return items


def _subscribe(engine, url, title=""):
    source_id, _ = engine.store.subscribe(url, title or url)
    return source_id


def _feed(engine, source_id):
    return engine.store.subscription(source_id)


def _seconds_until_next(feed):
    checked = datetime.fromisoformat(feed["checked_at"])
    return (datetime.fromisoformat(feed["next_check"]) - checked).total_seconds()


def test_new_entries_are_stored_and_an_unchanged_feed_answers_304(engine, server):
    url = server.set("/feed.xml", body=rss(_items(server, 3)), etag='"v1"',
                     headers={"Content-Type": "application/rss+xml"})
    feed_id = _subscribe(engine, url)
    first = engine.poll()
    assert (first.checked, first.updated, first.entries, first.pages) == (1, 1, 3, 3)
    assert first.result.new == 3 and first.partial == 0
    feed = _feed(engine, feed_id)
    assert feed["title"] == "Harbour Times" and feed["entries"] == 3
    assert feed["last_status"] == 200 and feed["etag"] == '"v1"'
    second = engine.poll(all_feeds=True)
    assert (second.not_modified, second.entries) == (1, 0)
    assert server.hits("/feed.xml")[-1]["If-None-Match"] == '"v1"'
    assert _feed(engine, feed_id)["last_status"] == 304
    assert engine.stats()["articles"] == 3


def test_the_same_entry_in_two_polls_and_two_feeds_is_stored_once(engine, server):
    items = _items(server, 2)
    a = server.set("/a.xml", body=rss(items), headers={"Content-Type": "application/rss+xml"})
    a_id = _subscribe(engine, a)
    engine.poll()
    # a changed document (no ETag, new title) with the same entries, one under a new URL but
    # the same GUID, plus a second feed syndicating the first entry
    moved = dict(items[1], link=items[1]["link"] + "?utm_source=feed")
    server.set("/a.xml", body=rss([items[0], moved], title="Harbour Times (new)"))
    server.set("/b.xml", body=rss([dict(items[0], guid="other-feed-guid")], title="Other"))
    b_id = _subscribe(engine, server.url("/b.xml"))
    again = engine.poll(all_feeds=True)
    assert again.entries == 0
    assert again.result.new == again.result.duplicate == 0
    assert engine.stats()["articles"] == 2
    assert _feed(engine, a_id)["entries"] == 2 and _feed(engine, b_id)["entries"] == 0


def test_backoff_after_server_errors(engine, server):
    url = server.set("/broken.xml", status=500, body=b"oops")
    feed_id = _subscribe(engine, url)
    report = engine.poll()
    assert report.failed == 1 and report.errors == [(url, "HTTP 500")]
    feed = _feed(engine, feed_id)
    assert feed["error_count"] == 1 and feed["last_error"] == "HTTP 500"
    assert MIN <= _seconds_until_next(feed) <= MIN * 1.2
    assert feed["failing_since"] is not None
    engine.poll(all_feeds=True)
    feed = _feed(engine, feed_id)
    assert feed["error_count"] == 2
    assert 2 * MIN * 0.8 <= _seconds_until_next(feed) <= 2 * MIN * 1.2
    assert engine.store.due_subscriptions(datetime.now(UTC)) == []
    # it recovers: the error count resets
    server.set("/broken.xml", body=rss(_items(server, 1)))
    engine.poll(all_feeds=True)
    feed = _feed(engine, feed_id)
    assert (feed["error_count"], feed["last_error"], feed["failing_since"]) == (0, None, None)


def test_a_long_failing_feed_is_retried_daily_and_stays_listed(engine, server):
    url = server.set("/dead.xml", status=502)
    feed_id = _subscribe(engine, url)
    engine.store.record_poll(feed_id, {"error_count": 30})
    engine.poll()
    feed = _feed(engine, feed_id)
    assert feed["error_count"] == 31 and feed["enabled"]
    assert _seconds_until_next(feed) == MAX
    assert [f["id"] for f in engine.subscriptions.list()] == [feed_id]


def test_410_disables_the_feed(engine, server):
    url = server.set("/gone.xml", status=410)
    feed_id = _subscribe(engine, url)
    report = engine.poll()
    assert report.disabled == 1
    feed = _feed(engine, feed_id)
    assert not feed["enabled"] and feed["last_error"] == GONE and feed["next_check"] is None
    assert engine.poll(all_feeds=True).checked == 0


def test_301_updates_the_stored_url_and_302_does_not(engine, server):
    body = rss(_items(server, 1))
    server.set("/new-home.xml", body=body)
    server.set("/old.xml", status=301, headers={"Location": "/new-home.xml"})
    server.set("/temp.xml", status=302, headers={"Location": "/new-home-2.xml"})
    server.set("/new-home-2.xml", body=body)
    moved_id = _subscribe(engine, server.url("/old.xml"))
    temp_id = _subscribe(engine, server.url("/temp.xml"))
    report = engine.poll()
    assert report.moved == 1
    assert _feed(engine, moved_id)["url"] == server.url("/new-home.xml")
    assert _feed(engine, temp_id)["url"] == server.url("/temp.xml")


def test_retry_after_is_honoured(engine, server):
    url = server.set("/busy.xml", status=503, headers={"Retry-After": "7200"})
    feed_id = _subscribe(engine, url)
    engine.poll()
    feed = _feed(engine, feed_id)
    assert feed["last_error"] == "HTTP 503 (retry after 7200s)"
    assert 7200 <= _seconds_until_next(feed) <= 7201
    assert len(server.hits("/busy.xml")) == 1  # no blocking retry for a two-hour wait


def test_schedule_follows_cache_headers_and_ttl(engine, server):
    # one entry an hour: hourly pace, but the server asks for two hours of max-age
    now = datetime.now(UTC)
    items = _items(server, 5, pages=False)
    for i, item in enumerate(items):
        item["when"] = now - timedelta(minutes=10) - timedelta(hours=4 - i)
    cached = server.set("/cached.xml", body=rss(items),
                        headers={"Cache-Control": "public, max-age=7200"})
    paced = server.set("/paced.xml", body=rss(items))
    ttl = server.set("/ttl.xml", body=rss([], ttl=600))
    cached_id, ttl_id = _subscribe(engine, cached), _subscribe(engine, ttl)
    paced_id = _subscribe(engine, paced)
    engine.poll()
    assert _seconds_until_next(_feed(engine, paced_id)) == pytest.approx(3600, abs=1)
    assert _seconds_until_next(_feed(engine, cached_id)) == pytest.approx(7200, abs=1)
    assert _seconds_until_next(_feed(engine, ttl_id)) == pytest.approx(36000, abs=1)


def test_a_slow_feed_hits_the_deadline(make_engine, server):
    engine = make_engine(fetch_allow_private=True, fetch_per_host_interval=0.0,
                         fetch_respect_robots=False, fetch_timeout=1.0)
    url = server.set("/slow.xml", body=rss([]), delay=3.0)
    feed_id = _subscribe(engine, url)
    started = datetime.now(UTC)
    engine.poll()
    assert (datetime.now(UTC) - started).total_seconds() < 2.8
    assert _feed(engine, feed_id)["last_error"] == "timed out after 1s"


def test_a_gzip_bomb_and_an_oversize_feed_are_cut_off(make_engine, server):
    engine = make_engine(fetch_allow_private=True, fetch_per_host_interval=0.0,
                         fetch_respect_robots=False, fetch_max_bytes=1024 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(b"\0" * 1024 * 1024) for _ in range(20)) + packer.flush()
    bomb_id = _subscribe(engine, server.set("/bomb.xml", body=bomb,
                                            headers={"Content-Encoding": "gzip"}))
    big_id = _subscribe(engine, server.set("/big.xml", body=b"<rss>" + b" " * 2 * 1024 * 1024))
    report = engine.poll()
    assert report.failed == 2
    for feed_id in (bomb_id, big_id):
        assert _feed(engine, feed_id)["last_error"] == "too large: over 1048576 bytes"


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (b"", {}, "empty document"),
        (b"<html><body><p>Just a web page</p></body></html>", {"Content-Type": "text/html"},
         "not a feed"),
        (b'<?xml version="1.0"?><rss version="2.0"><chan', {}, "malformed feed"),
        ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Caf\xe9"
         "</title><item><title>Cr\xe8me</title><link>http://x.example/1</link></item>"
         "</channel></rss>".encode("latin-1"), {}, None),
    ],
    ids=["empty", "html-page", "truncated", "wrong-encoding"],
)
def test_malformed_feeds_record_an_error_and_never_crash(engine, server, body, headers, error):
    feed_id = _subscribe(engine, server.set("/bad.xml", body=body, headers=headers))
    report = engine.poll()
    feed = _feed(engine, feed_id)
    if error is None:  # read leniently: the one entry is kept (its page is not there)
        assert report.updated == 1 and report.entries == 1 and report.partial == 1
    else:
        assert report.failed == 1
        assert feed["last_error"].startswith(error), feed["last_error"]
        assert feed["error_count"] == 1 and feed["last_status"] == 200


def test_a_huge_feed_is_read_within_the_entry_cap(make_engine, server):
    engine = make_engine(fetch_allow_private=True, fetch_per_host_interval=0.0,
                         fetch_respect_robots=False, poll_max_entries=3)
    items = _items(server, 10_000, prefix="huge", pages=False)
    feed_id = _subscribe(engine, server.set("/huge.xml", body=rss(items)))
    report = engine.poll()
    assert report.entries == 3 and engine.stats()["articles"] == 3
    assert _feed(engine, feed_id)["entries"] == 3
    assert report.updated == 1


def test_an_unreadable_page_is_stored_partial_and_upgraded_in_place(engine, server):
    server.set("/late/0", status=503)
    summary = "Ferry captains vote on the new timetable after the harbour council meeting."
    items = [{"title": "Ferry captains vote", "link": server.url("/late/0"), "guid": "late-0",
              "summary": summary}]
    feed_id = _subscribe(engine, server.set("/late.xml", body=rss(items)))
    report = engine.poll()
    assert report.partial == 1 and report.result.new == 1
    assert report.result.notes[0].reason == "stored partial from its feed: HTTP 503"
    (article,) = engine.latest()
    assert article.partial and article.title == "Ferry captains vote"
    assert [h.article.id for h in engine.search("timetable", mode="keyword")] == [article.id]
    vector_before = engine.store.embeddings([article.id])[article.id].copy()

    server.set("/late/0", body=article_html("Ferry captains vote", 7, extra="zanzibarite"),
               headers={"Content-Type": "text/html"})
    poller = engine.poller()
    assert poller.poll_once().upgraded == 0  # not due yet
    later = datetime.now(UTC) + timedelta(hours=2)
    poller.clock = lambda: later
    assert poller.poll_once().upgraded == 1
    upgraded = engine.store.article(article.id)
    assert not upgraded.partial and "zanzibarite" in upgraded.text
    assert engine.stats()["articles"] == 1
    assert [h.article.id for h in engine.search("zanzibarite", mode="keyword")] == [article.id]
    assert not (engine.store.embeddings([article.id])[article.id] == vector_before).all()
    assert engine.related(article.id) == []  # the index holds the new vector, once
    assert len(engine.vectors) == 1
    assert _feed(engine, feed_id)["entries"] == 1


def test_redirect_to_a_private_address_is_refused(engine):
    def handler(request):
        return httpx.Response(302, headers={"Location": "http://10.1.2.3/feed.xml"})

    def fetcher():
        return Fetcher(transport=httpx.MockTransport(handler), per_host_interval=0,
                       respect_robots=False, resolver=lambda host: ["93.184.216.34"])

    feed_id = _subscribe(engine, "http://news.example/feed.xml")
    poller = Poller(engine.store, engine.settings, ingest=lambda items, result: result,
                    upgrade=lambda pages: {}, fetcher=fetcher)
    report = poller.poll_once()
    poller.close()
    assert report.failed == 1
    assert _feed(engine, feed_id)["last_error"] == "private address 10.1.2.3 refused"


def test_per_host_concurrency_is_bounded(make_engine, server):
    engine = make_engine(fetch_allow_private=True, fetch_per_host_interval=0.0,
                         fetch_respect_robots=False, poll_workers=6, poll_per_host=1)
    for i in range(4):
        _subscribe(engine, server.set(f"/slowish-{i}.xml", body=rss([]), delay=0.3))
    started = datetime.now(UTC)
    assert engine.poll().updated == 4
    assert (datetime.now(UTC) - started).total_seconds() >= 1.15  # one at a time


def test_gzip_feed_is_decoded(engine, server):
    body = gzip.compress(rss(_items(server, 1, prefix="gz")))
    _subscribe(engine, server.set("/gz.xml", body=body, headers={"Content-Encoding": "gzip"}))
    assert engine.poll().result.new == 1


def test_server_route_is_a_route():
    assert Route().status == 200


def test_a_failing_ingest_is_reported_and_never_blocks_the_workers(engine, server):
    from tidings.pipeline import make_fetcher

    def broken_ingest(items, result):
        raise RuntimeError("disk full")

    for i in range(6):  # more chunks than the queue holds
        _subscribe(engine, server.set(f"/many-{i}.xml", body=rss(_items(
            server, 20, prefix=f"many{i}", pages=False))))
    poller = Poller(engine.store, engine.settings.replace(poll_workers=2),
                    ingest=broken_ingest, upgrade=lambda pages: {},
                    fetcher=lambda: make_fetcher(engine.settings))
    report = poller.poll_once()
    poller.close()
    assert report.updated == 6
    assert {reason for _, reason in report.errors} == {"ingest failed: disk full"}
    assert engine.stats()["articles"] == 0
    assert all(f["entries"] == 0 for f in engine.subscriptions.list())  # tried again next time


def test_a_stopped_poller_leaves_the_remaining_feeds(engine, server):
    import threading

    for i in range(3):
        _subscribe(engine, server.set(f"/later-{i}.xml", body=rss([])))
    stop = threading.Event()
    stop.set()
    report = engine.poller().poll_once(stop=stop)
    assert report.checked == 0
    assert len(engine.store.due_subscriptions(datetime.now(UTC))) == 3


def test_cycles_reuse_their_worker_threads_and_connections(engine, server):
    for i in range(4):
        _subscribe(engine, server.set(f"/cycle-{i}.xml", body=rss([])))
    for _ in range(5):
        engine.poll(all_feeds=True)
    # each worker thread holds one reader connection; new threads per cycle would leak them
    assert len(engine.store._readers) <= engine.settings.poll_workers + 2
