"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed 1.x, feed discovery."""

from __future__ import annotations

import calendar
import codecs
import html
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from tidings.models import Entry, Feed

log = logging.getLogger(__name__)

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json+feed",
        "application/x-rss+xml",
        "text/rss+xml",
    }
)
_XML_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_JSONFEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|hr)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class FeedError(Exception):
    """A document that could not be read as a feed; str(error) is the reason."""


def parse_feed(
    content: bytes,
    url: str,
    *,
    content_type: str | None = None,
    max_entries: int | None = None,
) -> Feed:
    """Parse RSS, Atom or JSON Feed bytes fetched from url into a Feed.

    Entry links are made absolute and dates are aware UTC datetimes. Entries without a
    usable http(s) link are dropped. Raises FeedError when nothing feed-like is found.
    With max_entries, a well-formed XML feed is read as a stream that stops at the cap
    (a malformed one is still read leniently, then cut to the cap).
    """
    head = _text_head(content, 512).lstrip()
    if not head:
        raise FeedError("empty document")
    if head.startswith(("{", "[")):
        feed = _parse_json_feed(content, url)
    else:
        if max_entries is not None:
            from .feedstream import StreamError, stream_feed

            try:
                return stream_feed(content, url, max_entries)
            except StreamError as exc:
                log.debug("feed %s not streamed (%s): read leniently", url, exc)
        feed = _parse_xml_feed(content, url, content_type)
    if max_entries is not None:
        del feed.entries[max_entries:]
    return feed


def looks_like_feed(content: bytes, content_type: str | None) -> bool:
    """True when the bytes are (most likely) an RSS, Atom or JSON feed.

    The content decides; the declared type is only consulted when the content is
    inconclusive, because servers often label feeds text/html or text/plain.
    """
    head = _text_head(content, 4096).lstrip()
    if head.startswith("{"):
        return re.search(r"jsonfeed\.org\\?/version", _text_head(content, 65536)) is not None
    root = _xml_root(head)
    if root is not None:
        return root in _XML_FEED_ROOTS
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(head) and mime in FEED_TYPES


def discover_feeds(html_bytes: bytes, url: str) -> list[str]:
    """Feed URLs announced by <link rel="alternate" type="…feed type…"> in an HTML page."""
    if not html_bytes.strip():
        return []
    import lxml.etree
    import lxml.html

    try:
        doc = lxml.html.document_fromstring(html_bytes)
    except (lxml.etree.ParserError, ValueError):
        return []
    base = url
    for base_el in doc.iter("base"):
        href = (base_el.get("href") or "").strip()
        if href:
            base = urljoin(url, href)
            break
    found: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind not in FEED_TYPES or not href:
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme in ("http", "https") and absolute not in found:
            found.append(absolute)
    return found


# --- XML feeds (feedparser) ------------------------------------------------------------


def _parse_xml_feed(content: bytes, url: str, content_type: str | None) -> Feed:
    import feedparser

    # feedparser resolves relative links against content-location; a declared XML type
    # keeps it from flagging every feed as bozo for lacking a Content-Type.
    declared = "application/xml"
    charset = _charset(content_type)
    if charset:
        declared += f"; charset={charset}"
    parsed = feedparser.parse(
        content,
        response_headers={"content-location": url, "content-type": declared},
        sanitize_html=False,
    )
    version = parsed.get("version") or ""
    if parsed.get("bozo") and not parsed.entries:
        reason = _short(parsed.get("bozo_exception")) or "not well-formed"
        raise FeedError(f"malformed feed: {reason}")
    if not version and not parsed.entries:
        raise FeedError("not a feed: no RSS, Atom or JSON Feed root element")
    if parsed.get("bozo"):
        log.warning(
            "feed %s is not well-formed, parsed leniently: %s",
            url,
            _short(parsed.get("bozo_exception")),
        )

    meta = parsed.feed
    site_url = _absolute(meta.get("link"), url)
    feed = Feed(
        url=url,
        title=_detail_text(meta, "title"),
        site_url=site_url,
        icon_url=_absolute(meta.get("icon") or (meta.get("image") or {}).get("href"), url),
        ttl_minutes=_ttl(meta.get("ttl")),
    )
    for item in parsed.entries:
        entry = _xml_entry(item, url)
        if entry is None:
            log.debug("feed %s: entry without a usable link dropped", url)
            continue
        feed.entries.append(entry)
    return feed


def _xml_entry(item: Any, base: str) -> Entry | None:
    link = _absolute(item.get("link"), base)
    if link is None:
        for candidate in item.get("links", []):
            if candidate.get("rel", "alternate") == "alternate":
                link = _absolute(candidate.get("href"), base)
                if link:
                    break
    guid = item.get("id") or None
    if link is None and guid and item.get("guidislink", True):
        link = _absolute(guid, base)
    if link is None:
        return None
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = item.get(key)
        if stamp:
            # feedparser normalises to UTC struct_time; timegm reads it as UTC
            published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
            break
    return Entry(
        url=link,
        title=_detail_text(item, "title"),
        published=published,
        author=_plain(item.get("author")) or None,
        summary=_detail_text(item, "summary") or None,
        guid=guid,
        content=_xml_content(item) or None,
    )


def _xml_content(item: Any) -> str:
    """The longest full-content block of an entry (content:encoded, Atom content), as text."""
    best = ""
    for block in item.get("content") or []:
        value = block.get("value") or ""
        text = _from_html(value) if "html" in (block.get("type") or "html") else _plain(value)
        if len(text) > len(best):
            best = text
    return best


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


# --- JSON Feed ---------------------------------------------------------------------


def _parse_json_feed(content: bytes, url: str) -> Feed:
    try:
        data = json.loads(content)
    except UnicodeDecodeError:
        raise FeedError("malformed JSON Feed: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"malformed JSON Feed: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise FeedError("not a feed: JSON is not an object")
    version = data.get("version")
    if not isinstance(version, str) or not _JSONFEED_VERSION.match(version.strip()):
        raise FeedError("not a feed: JSON without a jsonfeed.org version")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("malformed JSON Feed: 'items' is not a list")

    feed = Feed(
        url=url,
        title=_plain(_string(data.get("title"))),
        site_url=_absolute(_string(data.get("home_page_url")), url),
        icon_url=_absolute(_string(data.get("icon")) or _string(data.get("favicon")), url),
    )
    feed_authors = _json_authors(data)
    for item in items:
        if not isinstance(item, dict):
            continue
        ident = item.get("id")
        guid = str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None
        link = _absolute(_string(item.get("url")), url) or _absolute(
            _string(item.get("external_url")), url
        )
        if link is None and guid and guid.startswith(("http://", "https://")):
            link = guid
        if link is None:
            log.debug("JSON Feed %s: item without a usable url dropped", url)
            continue
        summary = _plain(_string(item.get("summary")) or _string(item.get("content_text")))
        content = _from_html(_string(item.get("content_html"))) or _plain(
            _string(item.get("content_text"))
        )
        if not summary:
            summary = content
        authors = _json_authors(item) or feed_authors
        feed.entries.append(
            Entry(
                url=link,
                title=_plain(_string(item.get("title"))),
                published=_rfc3339(item.get("date_published"))
                or _rfc3339(item.get("date_modified")),
                author=", ".join(authors) or None,
                summary=summary or None,
                guid=guid,
                content=content or None,
            )
        )
    return feed


def _json_authors(obj: dict[str, Any]) -> list[str]:
    people = obj.get("authors")  # 1.1
    if not isinstance(people, list):
        people = [obj.get("author")]  # 1.0
    names = []
    for person in people:
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            name = person["name"].strip()
            if name:
                names.append(name)
    return names


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        log.debug("unparseable JSON Feed date %r", value)
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


# --- helpers -----------------------------------------------------------------------


def _text_head(content: bytes, size: int) -> str:
    """The start of the document as text, honouring a UTF-16/32 or UTF-8 byte order mark."""
    head = content[:size]
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def _xml_root(head: str) -> str | None:
    """Local name (lowercase) of the first element in an XML/HTML head, or None."""
    text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<![^>]*>", "", head, flags=re.S)
    match = re.search(r"<\s*([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)", text)
    if match is None:
        return None
    return match.group(1).rsplit(":", 1)[-1].lower()


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*\"?([\w.:\-]+)", content_type, flags=re.I)
    return match.group(1) if match else None


def _absolute(link: str | None, base: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    absolute = urljoin(base, link.strip())
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return absolute


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _plain(value: str | None) -> str:
    """Plain text with whitespace collapsed."""
    return _SPACE.sub(" ", value).strip() if value else ""


def _from_html(value: str | None) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    if not value:
        return ""
    return _plain(html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", value))))


def _detail_text(obj: Any, key: str) -> str:
    """feedparser keeps HTML-typed text (RSS titles, descriptions) escaped; decode it."""
    value = obj.get(key)
    detail = obj.get(f"{key}_detail") or {}
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return _from_html(value)
    return _plain(value)


def _short(exc: Any) -> str:
    text = str(exc or "").strip()
    return text if len(text) <= 160 else text[:157] + "…"
