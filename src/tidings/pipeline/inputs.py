"""Where ingest items come from: local paths (HTML, .html.gz, directories, JSONL) and URLs
(pages, or feeds whose entries' pages are fetched)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from ..models import Article, IngestResult, Page, Problem
from ..settings import Settings
from ..store import Store

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (outcome, item) after each item


def make_fetcher(settings: Settings, **overrides):
    """The polite HTTP client configured by settings."""
    from ..sources.http import Fetcher

    options = {
        "user_agent": settings.user_agent,
        "timeout": settings.fetch_timeout,
        "max_bytes": settings.fetch_max_bytes,
        "allow_private": settings.fetch_allow_private,
        "per_host_interval": settings.fetch_per_host_interval,
        "respect_robots": settings.fetch_respect_robots,
    }
    return Fetcher(**(options | overrides))


def report(result: IngestResult, outcome: str, item: str, reason: str, progress: Progress | None):
    """Record a skipped or failed item (never silently)."""
    problem = Problem(item, reason)
    if outcome == "skipped":
        log.info("ingest skipped: %s: %s", item, reason)
        result.skipped.append(problem)
    else:
        log.warning("ingest failed: %s: %s", item, reason)
        result.failed.append(problem)
    if progress:
        progress(outcome, item)


def iter_inputs(
    inputs: list[str],
    settings: Settings,
    store: Store,
    result: IngestResult,
    progress: Progress | None,
) -> Iterator[Page | Article]:
    from ..sources.files import Failure, Ignored, Note, iter_local

    urls = [i for i in inputs if urlsplit(i).scheme in ("http", "https")]
    paths = [i for i in inputs if i not in urls]
    for item in iter_local(paths, max_bytes=settings.fetch_max_bytes):
        if isinstance(item, Failure):
            report(result, "failed", item.item, item.reason, progress)
        elif isinstance(item, Ignored):
            result.ignored[item.kind] = result.ignored.get(item.kind, 0) + 1
        elif isinstance(item, Note):
            log.info("ingest note: %s: %s", item.item, item.reason)
            result.notes.append(Problem(item.item, item.reason))
        else:
            yield item
    if urls:
        with make_fetcher(settings) as fetcher:
            yield from fetch_urls(fetcher, urls, store, result, progress)


def fetch_urls(
    fetcher, urls: list[str], store: Store, result: IngestResult, progress: Progress | None
) -> Iterator[Page]:
    from ..sources.feeds import FeedError, looks_like_feed, parse_feed
    from ..sources.http import FetchError

    for url in urls:
        try:
            fetched = fetcher.fetch(url)
        except FetchError as exc:
            report(result, "failed", url, str(exc), progress)
            continue
        page = fetched.page
        if page is None:
            continue
        if not looks_like_feed(page.content, page.content_type):
            yield page
            continue
        try:
            feed = parse_feed(page.content, page.final_url or url)
        except FeedError as exc:
            report(result, "failed", url, f"malformed feed: {exc}", progress)
            continue
        store.upsert_source(url, feed.title or url, "feed", feed.site_url)
        store.record_source_check(url, fetched.etag, fetched.last_modified, None)
        todo = []
        for entry in feed.entries:
            if store.id_by_url(entry.url) is not None:
                result.unchanged += 1
                if progress:
                    progress("unchanged", entry.url)
            else:
                todo.append(entry)
        # fetched in parallel, ingested oldest first so an original precedes its copies
        done = dict(fetcher.fetch_many([e.url for e in todo]))
        todo.sort(key=lambda e: (e.published is None, e.published or 0, e.url))
        for entry in todo:
            fetched_entry = done[entry.url]
            if isinstance(fetched_entry, FetchError):
                report(result, "failed", entry.url, str(fetched_entry), progress)
                continue
            entry_page = fetched_entry.page
            if entry_page is None:
                continue
            entry_page.source = feed.title or None
            entry_page.hints = {
                "title": entry.title,
                "published": entry.published,
                "author": entry.author,
            }
            yield entry_page
