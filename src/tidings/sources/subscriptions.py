"""Subscriptions: add (with feed autodiscovery), list, remove, OPML import and export."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..models import Feed
from .feeds import FeedError, discover_feeds, looks_like_feed, parse_feed
from .http import Fetcher, FetchError
from .opml import parse_opml_outlines, write_opml

log = logging.getLogger(__name__)

# where sites commonly publish a feed without announcing it
USUAL_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed/")
MAX_FIELD = 500


class Subscriptions:
    """The feeds Tidings polls. `fetcher` makes the polite HTTP client autodiscovery uses."""

    def __init__(self, store, fetcher: Callable[[], Fetcher]):
        self.store = store
        self._fetcher = fetcher

    def add(
        self, url: str, category: str | None = None, title: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Subscribe to a feed URL, or to the feed a site URL announces. Returns the
        subscription and whether it is new. Raises ValueError with the reason when no feed
        is found there."""
        url = _checked_url(url)
        category = _field(category, "category")
        title = _field(title, "title")
        existing = self.store.subscription_by_url(url)
        if existing is not None:
            return existing, False
        with self._fetcher() as fetcher:
            feed_url, feed = discover(url, fetcher)
        source_id, created = self.store.subscribe(
            feed_url, title or feed.title or feed_url, category, feed.site_url
        )
        if feed.icon_url:
            self.store.record_poll(source_id, {"icon_url": feed.icon_url})
        return self.store.subscription(source_id), created

    def list(self) -> list[dict[str, Any]]:
        return self.store.subscriptions()

    def get(self, ident: int | str) -> dict[str, Any] | None:
        if isinstance(ident, int) or str(ident).isdigit():
            return self.store.subscription(int(ident))
        return self.store.subscription_by_url(str(ident))

    def remove(self, ident: int | str) -> bool:
        """Unsubscribe (by id or URL); the articles it brought stay."""
        found = self.get(ident)
        return found is not None and self.store.unsubscribe(found["id"])

    def import_opml(self, content: bytes) -> dict[str, Any]:
        """Subscribe to every feed of an OPML file without fetching them (the poller fills
        in their metadata). Raises OpmlError for a document that is not OPML."""
        added, existing, failed = 0, 0, []
        for outline in parse_opml_outlines(content):
            try:
                url = _checked_url(outline.url)
            except ValueError as exc:
                failed.append({"item": outline.url, "reason": str(exc)})
                continue
            title = (outline.title or "")[:MAX_FIELD]
            category = (outline.category or "")[:MAX_FIELD] or None
            _, created = self.store.subscribe(url, title or url, category)
            if created:
                added += 1
            else:
                existing += 1
        return {"added": added, "existing": existing, "failed": failed}

    def export_opml(self) -> str:
        return write_opml(
            [(s["title"], s["url"], s["category"]) for s in self.store.subscriptions()]
        )


def discover(url: str, fetcher: Fetcher) -> tuple[str, Feed]:
    """The feed at url: the document itself when it is a feed, else the first feed its
    <link rel="alternate"> names, else the first of the usual paths that holds one."""
    try:
        fetched = fetcher.fetch(url)
    except FetchError as exc:
        raise ValueError(f"{url}: {exc}") from None
    page = fetched.page
    if page is None:
        raise ValueError(f"{url}: nothing fetched")
    final = page.final_url or url
    if looks_like_feed(page.content, page.content_type):
        try:
            return final, parse_feed(page.content, final, content_type=page.content_type)
        except FeedError as exc:
            raise ValueError(f"{url}: {exc}") from None
    announced = discover_feeds(page.content, final)
    root = "{0.scheme}://{0.netloc}".format(urlsplit(final))
    guesses = [urljoin(root, path) for path in USUAL_PATHS]
    for candidate in dict.fromkeys([*announced, *guesses]):
        try:
            found = fetcher.fetch(candidate)
        except FetchError:
            continue
        if found.page is None or not looks_like_feed(found.page.content, found.page.content_type):
            continue
        try:
            feed = parse_feed(found.page.content, candidate, content_type=found.page.content_type)
        except FeedError:
            continue
        return candidate, feed
    raise ValueError(
        f"{url}: no feed found (the page announces none and none of "
        f"{', '.join(USUAL_PATHS)} holds one)"
    )


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if len(url) > 2000:
        raise ValueError("URL longer than 2000 characters")
    return url


def _field(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > MAX_FIELD:
        raise ValueError(f"{name} longer than {MAX_FIELD} characters")
    return value or None
