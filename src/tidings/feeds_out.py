"""Feeds out: a page of a stream written as Atom 1.0, RSS 2.0 or JSON Feed 1.1. Copies are
folded into their original; the other outlets are named in the content ("Also published by …")
and as related links. The output is deterministic for the same items, so its hash is an ETag."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from .streams import Item, item_html, outlet_name, published

FORMATS = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
ET.register_namespace("dc", DC)
ET.register_namespace("content", CONTENT)
ET.register_namespace("atom", ATOM)


@dataclass
class FeedInfo:
    """What a feed says about itself."""

    title: str
    self_url: str  # this page, in this format
    site_url: str  # the stream's page on the reader site
    next_url: str | None = None  # the next (older) page
    categories: dict[int, str] | None = None  # feed id -> category name


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def updated(items: list[Item]) -> datetime:
    """The newest crawl time among the items (a fixed date for an empty page)."""
    times = [_utc(i.crawled) for i in items]
    return max(times) if times else datetime(2000, 1, 1, tzinfo=UTC)


def render(fmt: str, info: FeedInfo, items: list[Item]) -> bytes:
    if fmt == "atom":
        return atom(info, items)
    if fmt == "rss":
        return rss(info, items)
    if fmt == "json":
        return json_feed(info, items)
    raise ValueError(f"unknown feed format {fmt!r}; use one of {', '.join(FORMATS)}")


def _category(info: FeedInfo, item: Item) -> str | None:
    return (info.categories or {}).get(item.feed_id or 0)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def atom(info: FeedInfo, items: list[Item]) -> bytes:
    a = f"{{{ATOM}}}"
    feed = ET.Element(a + "feed")
    _sub(feed, a + "id", info.self_url.split("?")[0])
    _sub(feed, a + "title", info.title)
    _sub(feed, a + "updated", updated(items).isoformat())
    _sub(feed, a + "link", rel="self", href=info.self_url, type=FORMATS["atom"].split(";")[0])
    _sub(feed, a + "link", rel="alternate", href=info.site_url, type="text/html")
    if info.next_url:
        _sub(feed, a + "link", rel="next", href=info.next_url)
    _sub(feed, a + "generator", "Tidings")
    for item in items:
        art = item.article
        entry = _sub(feed, a + "entry")
        _sub(entry, a + "id", art.url)
        _sub(entry, a + "title", art.title or art.url)
        _sub(entry, a + "link", rel="alternate", href=art.url, type="text/html")
        for copy in item.copies:
            _sub(entry, a + "link", rel="related", href=copy.url, title=outlet_name(copy))
        _sub(entry, a + "published", _utc(published(item)).isoformat())
        _sub(entry, a + "updated", _utc(art.modified or published(item)).isoformat())
        author = _sub(entry, a + "author")
        _sub(author, a + "name", art.author or outlet_name(art))
        if category := _category(info, item):
            _sub(entry, a + "category", term=category)
        if art.excerpt:
            _sub(entry, a + "summary", art.excerpt)
        _sub(entry, a + "content", item_html(art, item.copies), type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8",
                                                                    xml_declaration=False)


def rss(info: FeedInfo, items: list[Item]) -> bytes:
    root = ET.Element("rss", version="2.0")
    channel = _sub(root, "channel")
    _sub(channel, "title", info.title)
    _sub(channel, "link", info.site_url)
    _sub(channel, "description", f"{info.title}, from Tidings")
    _sub(channel, "lastBuildDate", format_datetime(updated(items)))
    _sub(channel, f"{{{ATOM}}}link", rel="self", href=info.self_url,
         type=FORMATS["rss"].split(";")[0])
    if info.next_url:
        _sub(channel, f"{{{ATOM}}}link", rel="next", href=info.next_url)
    _sub(channel, "generator", "Tidings")
    for item in items:
        art = item.article
        node = _sub(channel, "item")
        _sub(node, "title", art.title or art.url)
        _sub(node, "link", art.url)
        _sub(node, "guid", art.url, isPermaLink="true")
        _sub(node, "pubDate", format_datetime(_utc(published(item))))
        _sub(node, f"{{{DC}}}creator", art.author or outlet_name(art))
        if category := _category(info, item):
            _sub(node, "category", category)
        html = item_html(art, item.copies)
        _sub(node, "description", art.excerpt or html)
        _sub(node, f"{{{CONTENT}}}encoded", html)  # the full text, as readers look for it
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                    xml_declaration=False)


def json_feed(info: FeedInfo, items: list[Item]) -> bytes:
    body: dict = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.site_url,
        "feed_url": info.self_url,
        "items": [],
    }
    if info.next_url:
        body["next_url"] = info.next_url
    for item in items:
        art = item.article
        entry: dict = {
            "id": art.url,
            "url": art.url,
            "title": art.title or art.url,
            "content_html": item_html(art, item.copies),
            "date_published": _utc(published(item)).isoformat(),
            "authors": [{"name": art.author or outlet_name(art)}],
        }
        if art.modified:
            entry["date_modified"] = _utc(art.modified).isoformat()
        if art.excerpt:
            entry["summary"] = art.excerpt
        if category := _category(info, item):
            entry["tags"] = [category]
        if item.copies:
            # an extension (JSON Feed allows keys starting with "_"): the outlets folded in
            entry["_tidings"] = {
                "also_published_by": [{"name": outlet_name(c), "url": c.url}
                                      for c in item.copies]
            }
        body["items"].append(entry)
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
