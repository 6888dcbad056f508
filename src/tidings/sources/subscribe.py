"""Feeds added by hand (the admin page's form and OPML import): a checked http(s) URL becomes a
source row the poller reads."""

from __future__ import annotations

from urllib.parse import urlsplit

from .opml import OpmlError, parse_opml

MAX_URL = 2048


class SubscribeError(ValueError):
    """A feed that cannot be added; str(error) says why."""


def feed_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > MAX_URL:
        raise SubscribeError("that address is too long")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SubscribeError("a feed address starts with http:// or https:// and names a host")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise SubscribeError("a feed address has no spaces or control characters")
    return url


def add_feed(store, url: str, title: str = "") -> int:
    url = feed_url(url)
    return store.upsert_source(url, (title or "").strip()[:300], "feed")


def import_opml(store, content: bytes) -> tuple[int, list[str]]:
    """Add every feed of an OPML document; (added, problems) — one bad outline does not stop
    the others."""
    try:
        outlines = parse_opml(content)
    except OpmlError as exc:
        raise SubscribeError(str(exc)) from None
    added, problems = 0, []
    for title, url in outlines:
        try:
            add_feed(store, url, title)
            added += 1
        except SubscribeError as exc:
            problems.append(f"{url[:200]}: {exc}")
    return added, problems
