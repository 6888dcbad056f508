"""Feed parsing (RSS 0.91/1.0/2.0, Atom, JSON Feed 1.0/1.1), sniffing and discovery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidings.models import Feed
from tidings.sources.feeds import FeedError, discover_feeds, looks_like_feed, parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss2():
    feed = parse_feed(load("rss2.xml"), "https://meridian.example/feeds/rss.xml")

    assert isinstance(feed, Feed)
    assert feed.url == "https://meridian.example/feeds/rss.xml"
    assert feed.title == "Meridian Wire & Partners"
    assert feed.site_url == "https://meridian.example/"
    assert [e.url for e in feed.entries] == [
        "https://meridian.example/world/kessler-bridge-closed",
        "https://meridian.example/local/ferry-route",  # root-relative link
        "https://meridian.example/feeds/stories/lighthouse.html",  # relative to the feed
        "https://meridian.example/guid-only",  # permalink guid stands in for the link
    ]  # the item without any link is dropped
    first = feed.entries[0]
    assert first.title == "Kessler bridge closed after cable inspection"
    assert first.published == datetime(2026, 11, 3, 7, 40, tzinfo=UTC)  # +0100 → UTC
    assert first.author == "Ines Varga"
    assert first.guid == "meridian-4411"
    assert first.summary == "Inspectors found corrosion on two cables. Traffic is diverted."
    assert feed.entries[1].title == "Ferry route approved <update>"  # escaped text kept
    assert feed.entries[1].published == datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    assert feed.entries[2].published is None


def test_rss091_latin1():
    feed = parse_feed(load("rss091.xml"), "http://harbourline.example/rss")
    assert feed.title == "Harbourline Daily"
    (entry,) = feed.entries
    assert entry.title == "Café reopens on the quay"
    assert entry.summary == "The café by the pier reopened."
    assert entry.url == "http://harbourline.example/cafe"


def test_rss1_rdf():
    feed = parse_feed(load("rss1.rdf"), "https://valley.example/rss")
    assert feed.title == "Tarrow Valley Gazette"
    (entry,) = feed.entries
    assert entry.url == "https://valley.example/flood-warning"
    assert entry.published == datetime(2026, 11, 5, 11, 15, tzinfo=UTC)
    assert entry.author == "Tom Hale"


def test_atom_with_xml_base_and_relative_links():
    feed = parse_feed(load("atom.xml"), "https://atlas.example/news/atom.xml")
    assert feed.title == "Atlas Report"
    assert feed.site_url == "https://atlas.example/"
    first, second = feed.entries
    assert first.url == "https://atlas.example/news/ferry-vote"  # the alternate, not replies
    assert first.title == "Council votes 7–2 for the ferry"  # type="html" decoded
    assert first.summary == "A short summary <not a tag>"  # type="text" kept literally
    assert first.published == datetime(2026, 11, 4, 7, 30, tzinfo=UTC)  # published wins
    assert first.author == "Mara Quint"
    assert first.guid == "tag:atlas.example,2026:ferry-vote"
    assert second.url == "https://atlas.example/archive/updated-only"
    assert second.published == datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # falls back to updated


def test_json_feed_1_1():
    feed = parse_feed(load("feed.json"), "https://lantern.example/feed.json")
    assert feed.title == "Lantern Post"
    assert feed.site_url == "https://lantern.example/"
    assert [e.url for e in feed.entries] == [
        "https://lantern.example/2026/11/bridge",
        "https://lantern.example/2026/11/relative",
        "https://lantern.example/2026/11/id-is-url",
    ]
    bridge, relative, by_id = feed.entries
    assert bridge.author == "Pia Holm, Jon Reyes"
    assert bridge.summary == "Engineers say the repairs will take a year."
    assert bridge.published == datetime(2026, 11, 3, 11, 0, tzinfo=UTC)
    assert bridge.guid == "lp-101"
    assert relative.author == "Lantern Staff"  # feed-level authors inherited
    assert relative.published == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # date_modified
    assert by_id.summary == "Plain text content."
    assert by_id.published is None


def test_json_feed_1_0():
    feed = parse_feed(load("feed-v1.json"), "https://old.example/feed.json")
    (entry,) = feed.entries
    assert entry.url == "https://other.example/linked"  # external_url
    assert entry.author == "Editor One"
    assert entry.guid == "7"
    assert entry.published == datetime(2026, 10, 31, 6, 0, tzinfo=UTC)
    assert entry.published.tzinfo is UTC


def test_all_dates_are_aware_utc():
    for name in ["rss2.xml", "rss1.rdf", "atom.xml", "feed.json", "feed-v1.json"]:
        for entry in parse_feed(load(name), "https://x.example/feed").entries:
            if entry.published is not None:
                assert entry.published.utcoffset().total_seconds() == 0, (name, entry)


def test_malformed_feed_without_entries_is_an_error():
    with pytest.raises(FeedError, match="^malformed feed: .*no element found"):
        parse_feed(load("malformed.xml"), "https://broken.example/rss")


def test_recoverable_bozo_with_entries_is_parsed_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tidings.sources.feeds"):
        feed = parse_feed(load("recoverable.xml"), "https://sloppy.example/rss")
    assert [e.title for e in feed.entries] == ["Fish & chips shop wins award", "Second story"]
    assert any("not well-formed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty document"),
        (b"   \n", "empty document"),
        (b"<html><body><p>Just a page</p></body></html>", "not a feed"),
        (b'{"title": "just json"}', "not a feed: JSON without a jsonfeed.org version"),
        (b"[1, 2, 3]", "not a feed: JSON is not an object"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "malformed JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', "malformed JSON Feed"),
    ],
)
def test_not_feeds(content, reason):
    with pytest.raises(FeedError) as info:
        parse_feed(content, "https://x.example/feed")
    assert str(info.value).startswith(reason)


def test_empty_but_valid_feed_has_no_entries():
    feed = parse_feed(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>',
        "https://quiet.example/rss",
    )
    assert feed.title == "Quiet"
    assert feed.entries == []


def test_non_http_entry_links_are_dropped():
    content = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>bad</title><link>javascript:alert(1)</link></item>"
        b"<item><title>good</title><link>https://ok.example/a</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(content, "https://ok.example/rss")
    assert [e.url for e in feed.entries] == ["https://ok.example/a"]


def test_utf16_feed():
    text = FEEDS.joinpath("rss091.xml").read_text("latin-1").replace("ISO-8859-1", "UTF-16")
    feed = parse_feed(text.encode("utf-16"), "http://harbourline.example/rss")
    assert feed.entries[0].title == "Café reopens on the quay"
    assert looks_like_feed(text.encode("utf-16"), None)


@pytest.mark.parametrize(
    "name", ["rss2.xml", "rss091.xml", "rss1.rdf", "atom.xml", "feed.json", "feed-v1.json"]
)
def test_looks_like_feed_for_fixtures(name):
    assert looks_like_feed(load(name), None)
    assert looks_like_feed(load(name), "text/html")  # mislabelled feeds are still feeds


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"<!doctype html><html><head></head></html>", "text/html", False),
        (b"<!doctype html><html></html>", "application/rss+xml", False),  # content wins
        (b'<?xml version="1.0"?>\n<!-- c -->\n<rss version="2.0"/>', "text/plain", True),
        (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x"></rdf:RDF>', None, True),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', None, False),
        (b'{"version": "https:\\/\\/jsonfeed.org\\/version\\/1.1", "items": []}', None, True),
        (b'{"data": []}', "application/json", False),
        (b"", "application/rss+xml", False),
        (b"garbage without tags", "application/atom+xml", True),  # only the type says so
        (b"garbage without tags", "text/plain", False),
    ],
)
def test_looks_like_feed(content, content_type, expected):
    assert looks_like_feed(content, content_type) is expected


def test_discover_feeds():
    found = discover_feeds(load("page-with-feeds.html"), "https://meridian.example/index.html")
    assert found == [
        "https://meridian.example/sub/feeds/all.rss",  # relative to <base href>, deduplicated
        "https://meridian.example/atom.xml",  # rel matched case-insensitively
        "https://meridian.example/feed.json",
    ]  # the hreflang alternate (no feed type) and the javascript: link are ignored


def test_discover_feeds_without_base_and_on_junk():
    page = b'<html><head><link rel="alternate" type="application/atom+xml" href="a.xml"></head>'
    assert discover_feeds(page, "https://s.example/dir/page") == ["https://s.example/dir/a.xml"]
    assert discover_feeds(b"", "https://s.example/") == []
    assert discover_feeds(b"<html><p>no head</p></html>", "https://s.example/") == []


@pytest.mark.parametrize("name", ["rss2.xml", "atom.xml", "rss1.rdf", "rss091.xml"])
def test_streamed_reading_gives_what_feedparser_gives(name):
    content = (FEEDS / name).read_bytes()
    url = f"https://meridian.example/feeds/{name}"
    whole, streamed = parse_feed(content, url), parse_feed(content, url, max_entries=1000)
    assert (streamed.title, streamed.site_url) == (whole.title, whole.site_url)
    fields = ("url", "title", "published", "author", "summary", "guid")
    assert [[getattr(e, f) for f in fields] for e in streamed.entries] == [
        [getattr(e, f) for f in fields] for e in whole.entries
    ]


def test_streamed_reading_stops_at_the_cap_and_falls_back_on_malformed_xml():
    items = "".join(
        f"<item><title>T{i}</title><link>https://x.example/{i}</link></item>" for i in range(5000)
    )
    content = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}'
    feed = parse_feed(content.encode(), "https://x.example/feed", max_entries=3)
    assert [e.url for e in feed.entries] == [f"https://x.example/{i}" for i in range(3)]
    sloppy = (FEEDS / "recoverable.xml").read_bytes()  # not well-formed: read leniently
    assert len(parse_feed(sloppy, "https://x.example/f", max_entries=1).entries) == 1
