"""Streamed reading of RSS and Atom that stops at an entry cap, for the poller."""

# Entries are built one element at a time and the tree is pruned behind them, so a feed of
# 5,000 entries is neither held as a tree nor parsed past what a poll will take. A document
# that is not well-formed raises StreamError; the caller then reads it leniently with
# feedparser.

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from ..models import Entry, Feed
from .feeds import _absolute, _from_html, _plain, _ttl

ATOM = "http://www.w3.org/2005/Atom"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_ITEMS = frozenset({"item", "entry"})


class StreamError(Exception):
    """Not a well-formed RSS/Atom document (or not one at all)."""


def stream_feed(content: bytes, url: str, limit: int) -> Feed:
    """The feed's metadata and at most `limit` entries, in document order."""
    import lxml.etree

    parser_args = {
        "events": ("start", "end"),
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "huge_tree": False,
    }
    feed = Feed(url=url)
    kind = None
    depth = 0
    bases = [url]
    try:
        for event, element in lxml.etree.iterparse(io.BytesIO(content), **parser_args):
            if not isinstance(element.tag, str):
                continue
            name = _local(element.tag)
            if event == "start":
                depth += 1
                base = element.get(XML_BASE)
                bases.append(urljoin(bases[-1], base) if base else bases[-1])
                if depth == 1:
                    kind = {"rss": "rss", "rdf": "rss", "feed": "atom"}.get(name)
                    if kind is None:
                        raise StreamError(f"not a feed: root element <{name}>")
                continue
            depth -= 1
            base = bases.pop()
            if name in _ITEMS:
                entry = _atom_entry(element, base) if kind == "atom" else _rss_item(element, base)
                if entry is not None:
                    feed.entries.append(entry)
                _prune(element)
                if len(feed.entries) >= limit:
                    break
            elif _is_feed_meta(element, kind):
                _feed_meta(feed, element, name, kind, base)
    except lxml.etree.XMLSyntaxError as exc:
        raise StreamError(f"malformed feed: {exc}") from None
    if kind is None:
        raise StreamError("empty document")
    return feed


def _is_feed_meta(element, kind: str | None) -> bool:
    parent = element.getparent()
    if parent is None:
        return False
    parent_name = _local(parent.tag)
    return parent_name == ("feed" if kind == "atom" else "channel") or (
        kind == "rss" and parent_name == "image" and _local(element.tag) == "url"
    )


def _feed_meta(feed: Feed, element, name: str, kind: str | None, base: str) -> None:
    if name == "title" and not feed.title:
        feed.title = _text_of(element, kind) if kind == "atom" else _plain(element.text)
    elif name == "link" and feed.site_url is None:
        if kind == "atom":
            if element.get("rel", "alternate") == "alternate":
                feed.site_url = _absolute(element.get("href"), base)
        else:
            feed.site_url = _absolute((element.text or "").strip(), base)
    elif name in ("icon", "logo", "url") and feed.icon_url is None:
        feed.icon_url = _absolute((element.text or "").strip(), base)
    elif name == "ttl":
        feed.ttl_minutes = _ttl(element.text)


def _children(element):
    """(local name, child) of each child element, comments and processing
    instructions skipped."""
    for child in element:
        if isinstance(child.tag, str):
            yield _local(child.tag), child


def _rss_item(item, base: str) -> Entry | None:
    fields: dict[str, str] = {}
    guid_is_link = True
    for name, child in _children(item):
        text = child.text or ""
        if name == "guid":
            guid_is_link = child.get("isPermaLink", "true").strip().lower() != "false"
        if name == "encoded":
            fields.setdefault("content", "".join(child.itertext()))
        elif name in ("title", "link", "guid", "description", "pubdate", "date", "author",
                      "creator", "about"):
            fields.setdefault(name, text)
    if item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"):
        fields.setdefault("about", item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"))
    guid = fields.get("guid", "").strip() or fields.get("about", "").strip() or None
    link = _absolute(fields.get("link", "").strip(), base)
    if link is None and guid and guid_is_link:
        link = _absolute(guid, base)
    if link is None:
        return None
    return Entry(
        url=link,
        title=_plain(fields.get("title")),
        published=_rfc822(fields.get("pubdate")) or _iso(fields.get("date")),
        author=_plain(fields.get("creator") or fields.get("author")) or None,
        summary=_from_html(fields.get("description")) or None,
        guid=guid,
        content=_from_html(fields.get("content")) or None,
    )


def _atom_entry(entry, base: str) -> Entry | None:
    link = None
    fields: dict[str, str] = {}
    author = None
    for name, child in _children(entry):
        child_base = urljoin(base, child.get(XML_BASE)) if child.get(XML_BASE) else base
        if name == "link":
            if child.get("rel", "alternate") == "alternate" and link is None:
                link = _absolute(child.get("href"), child_base)
        elif name == "author" and author is None:
            names = [c.text for n, c in _children(child) if n == "name"]
            author = _plain(names[0]) if names else None
        elif name in ("title", "summary", "content"):
            fields.setdefault(name, _text_of(child, "atom"))
        elif name in ("id", "published", "updated"):
            fields.setdefault(name, (child.text or "").strip())
    guid = fields.get("id") or None
    if link is None and guid:
        link = _absolute(guid, base)
    if link is None:
        return None
    return Entry(
        url=link,
        title=fields.get("title", ""),
        published=_iso(fields.get("published")) or _iso(fields.get("updated")),
        author=author or None,
        summary=fields.get("summary") or None,
        guid=guid,
        content=fields.get("content") or None,
    )


def _text_of(element, kind: str | None) -> str:
    """Text of a title/summary/content element: Atom's type says whether it is markup."""
    if kind == "atom":
        kind_attr = (element.get("type") or "text").lower()
        if kind_attr == "xhtml":
            return _plain(" ".join(element.itertext()))
        if "html" in kind_attr:
            return _from_html(element.text)
        return _plain(element.text)
    return _from_html(element.text)


def _prune(element) -> None:
    """Drop the finished entry and everything before it from the tree being built."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _rfc822(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return _rfc822(value)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()
