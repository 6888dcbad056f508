"""Feeds out against a live server: Atom, RSS and JSON Feed of each stream with copies folded,
parsed back by feedparser and by Tidings' own feed reader; conditional GET; keyset paging;
private streams behind their secret token."""

from __future__ import annotations

import feedparser
import httpx
import pytest

from tidings.engine import Engine
from tidings.sources.feeds import parse_feed

from .conftest import make_settings, start_site
from .sync_corpus import build, new_reader


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    engine = Engine(make_settings(tmp_path_factory.mktemp("feedsout")), embedder=embedder)
    corpus = build(engine, originals=120)
    site = start_site(engine)
    site.corpus = corpus
    yield site
    site.stop()


def get(live, path, **headers):
    return httpx.get(live.url + path, headers=headers, timeout=60)


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_round_trip_through_tidings_own_reader(live, fmt):
    corpus = live.corpus
    r = get(live, f"/feeds/source/{corpus['feed_b']}.{fmt}")
    assert r.status_code == 200
    feed = parse_feed(r.content, live.url + f"/feeds/source/{corpus['feed_b']}.{fmt}",
                      content_type=r.headers["content-type"])
    assert feed.title == "Beta Daily"
    assert [e.url for e in feed.entries] == [f"https://a.example/a/{i}" for i in range(4, -1, -1)]
    first = feed.entries[-1]
    assert first.title == "Harbour report 0" and first.published is not None
    # the reader keeps the text of the HTML: the outlet is named, the text's own angle
    # brackets came through escaped (extracted text is never markup)
    assert first.content.endswith("Also published by Beta Daily")
    assert "<b>not markup</b>" in first.content


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_feedparser_reads_them_cleanly(live, fmt):
    r = get(live, f"/feeds/all.{fmt}")
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 50
    assert parsed.entries[0].link == "https://a.example/a/119"
    next_link = [link.href for link in parsed.feed.links if link.rel == "next"]
    assert next_link and "before=" in next_link[0]
    folded = feedparser.parse(get(live, f"/feeds/category/World.{fmt}?n=200").content)
    entry = next(e for e in folded.entries if e.link == "https://a.example/a/0")
    assert "Beta Daily" in (entry.get("content") or [entry])[0].get("value", entry.get(
        "summary", ""))
    assert entry.tags[0].term == "World"


def test_json_feed_names_the_other_outlets(live):
    body = get(live, "/feeds/all.json?n=200").json()
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    entry = next(i for i in body["items"] if i["url"] == "https://a.example/a/0")
    assert entry["_tidings"]["also_published_by"] == [
        {"name": "Beta Daily", "url": "https://b.example/copy/0"}]
    assert all(i["url"].startswith("https://a.example/") for i in body["items"])  # no copies


def test_paging_follows_next_links_without_gaps(live):
    ids, seen, url = live.corpus["ids"], [], "/feeds/all.json?n=30"
    while url:
        body = get(live, url.removeprefix(live.url)).json()
        seen += [i["url"] for i in body["items"]]
        url = body.get("next_url")
    assert len(seen) == len(set(seen)) == len(ids)


def test_story_stream(live):
    corpus = live.corpus
    feed = parse_feed(get(live, f"/feeds/story/{corpus['story']}.atom").content, "x")
    assert feed.title == "Ferry strike" and len(feed.entries) == 20


def test_conditional_get(live):
    first = get(live, "/feeds/all.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert get(live, "/feeds/all.atom", **{"If-None-Match": etag}).status_code == 304
    assert get(live, "/feeds/all.atom", **{"If-Modified-Since": modified}).status_code == 304
    assert get(live, "/feeds/all.atom", **{"If-None-Match": '"other"'}).status_code == 200
    assert get(live, "/feeds/all.atom",
               **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    assert get(live, "/feeds/all.rss").headers["etag"] != etag  # per representation


def test_private_streams_need_their_token(live):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "feeder")
    engine.readers.marks.set(account, corpus["ids"][:3], "starred")
    token = engine.readers.api_passwords.stream_token(account, "starred")
    ok = get(live, f"/feeds/u/feeder/starred.atom?token={token}")
    assert ok.status_code == 200 and ok.headers["cache-control"].startswith("private")
    assert len(parse_feed(ok.content, "x").entries) == 3
    for path in ("/feeds/u/feeder/starred.atom", "/feeds/u/feeder/starred.atom?token=nope",
                 f"/feeds/u/feeder/unread.atom?token={token}",  # another stream's token
                 f"/feeds/u/ada/starred.atom?token={token}", "/feeds/u/nobody/unread.rss"):
        assert get(live, path).status_code == 403, path


@pytest.mark.parametrize("path", ["/feeds/all.xml", "/feeds/all.atom?n=0", "/feeds/all.atom?n=x",
                                  "/feeds/all.atom?before=-1", "/feeds/story/999999.atom",
                                  "/feeds/source/abc.rss", "/feeds/planet/1.atom",
                                  "/feeds/all.atom?n=100000000000000000000"])
def test_bad_requests_are_4xx(live, path):
    assert 400 <= get(live, path).status_code < 500
