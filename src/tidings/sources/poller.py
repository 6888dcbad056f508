"""The feed poller: checks due subscriptions and hands new entries to the ingest pipeline."""

# Checks are conditional GETs with a per-feed schedule and backoff on errors; 410 disables a
# feed, 301/308 move its stored URL. Fetching and parsing run on worker threads (bounded
# globally and per host); ingesting (extraction, embedding, the write transaction) runs on
# the thread that called `poll_once`, one chunk of entries at a time, fed through a bounded
# queue: a slow model holds the fetchers back instead of piling up pages, and a feed of
# 5,000 entries is never held in memory whole.

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..models import Entry, IngestResult, Page
from .feeds import FeedError, parse_feed
from .http import Fetcher, FetchError, FetchResult
from .schedule import backoff, next_interval, retry_after

log = logging.getLogger(__name__)

CHUNK = 16  # entries of one feed fetched together
BATCH = 32  # entries (of one or more feeds) ingested together
PAGE_WORKERS = 4  # page fetches of one chunk in parallel
PARTIAL_RETRY = 3600.0  # first retry of a partial entry's page, doubling after
PARTIAL_ATTEMPTS = 5  # then the entry stays partial
PARTIALS_PER_CYCLE = 50
GONE = "HTTP 410 Gone: the feed was removed, polling stopped"

Progress = Callable[[str, str], None]
Ingest = Callable[[Iterable[Page], IngestResult], IngestResult]
Upgrade = Callable[[list[tuple[int, Page]]], dict[int, str | None]]


@dataclass
class PollReport:
    """What one poll cycle did."""

    checked: int = 0
    updated: int = 0  # answered with a feed
    not_modified: int = 0
    failed: int = 0
    disabled: int = 0
    moved: int = 0
    entries: int = 0  # new entries seen
    pages: int = 0  # entry pages fetched (successfully)
    partial: int = 0  # stored from the feed's own content
    upgraded: int = 0  # partial articles replaced by their page
    result: IngestResult = field(default_factory=IngestResult)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("result", "errors")}
        out["ingest"] = self.result.to_dict()
        out["errors"] = [{"feed": url, "reason": reason} for url, reason in self.errors]
        return out


@dataclass
class _Checked:
    """A worker's verdict on one feed: the fields to store and what to count."""

    fields: dict[str, Any]
    outcome: str  # updated, not_modified, failed, disabled
    error: str | None = None
    moved: bool = False


class Poller:
    def __init__(
        self,
        store,
        settings,
        ingest: Ingest,
        upgrade: Upgrade,
        fetcher: Callable[[], Fetcher],
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ):
        self.store = store
        self.ingest = ingest
        self.upgrade = upgrade
        self.fetcher = fetcher
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.minimum = float(settings.poll_min_interval)
        self.maximum = float(max(settings.poll_max_interval, settings.poll_min_interval))
        self.entry_cap = max(1, int(settings.poll_max_entries))
        self.workers = max(1, int(settings.poll_workers))
        self.per_host = max(1, int(settings.poll_per_host))
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- cycles ------------------------------------------------------------------------

    def poll_once(
        self,
        progress: Progress | None = None,
        all_feeds: bool = False,
        stop: threading.Event | None = None,
    ) -> PollReport:
        """Check every due feed (every enabled one with all_feeds) and retry due partial
        entries; returns what happened. Once `stop` is set, feeds not started yet are left
        for the next cycle."""
        self._stop = stop or threading.Event()
        report = PollReport()
        now = self.clock()
        if all_feeds:
            due = [s for s in self.store.subscriptions() if s["enabled"]]
        else:
            due = self.store.due_subscriptions(now)
        with self.fetcher() as fetcher:
            if due:
                self._check_all(due, fetcher, report, progress)
            self._retry_partials(fetcher, report, progress)
        return report

    def _workers(self) -> ThreadPoolExecutor:
        """The feed checkers, kept from cycle to cycle: each thread holds a database reader
        connection of its own, so new threads every cycle would open new connections."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tidings-feed")
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def start(self) -> PollingThread:
        """Poll in a background thread (a daemon: it never keeps the process alive)."""
        return PollingThread(self)

    def run(self, stop: threading.Event, progress: Progress | None = None) -> None:
        """Poll until `stop` is set, sleeping until the next feed is due (at most a minute,
        so feeds added meanwhile are picked up)."""
        while not stop.is_set():
            try:
                self.poll_once(progress, stop=stop)
            except Exception:  # the poller must outlive any one bad cycle
                log.exception("poll cycle failed")
            stop.wait(self._idle_seconds())

    def _idle_seconds(self) -> float:
        due = self.store.next_check_due()
        if due is None:
            return 60.0
        if due == "":
            return 1.0
        wait = (datetime.fromisoformat(due) - self.clock()).total_seconds()
        return max(1.0, min(60.0, wait))

    # -- feeds -------------------------------------------------------------------------

    def _check_all(self, due, fetcher: Fetcher, report: PollReport, progress) -> None:
        messages: queue.Queue = queue.Queue(maxsize=self.workers * 2)
        hosts: dict[str, threading.Semaphore] = {}
        hosts_lock = threading.Lock()

        def work(sub: dict[str, Any]) -> None:
            host = (urlsplit(sub["url"]).hostname or "").lower()
            with hosts_lock:
                gate = hosts.setdefault(host, threading.Semaphore(self.per_host))
            with gate:
                if self._stop.is_set():
                    messages.put(("done", sub, None))
                    return
                try:
                    verdict = self._check(sub, fetcher, messages)
                except Exception as exc:  # a bug on one feed is that feed's error
                    log.exception("checking %s failed", sub["url"])
                    verdict = self._failure(sub, FetchError(f"unexpected error: {exc}"))
            messages.put(("done", sub, verdict))

        pool = self._workers()
        for sub in due:
            pool.submit(work, sub)
        pending = len(due)
        buffered: list[tuple[dict, list[Entry], list[Page]]] = []
        while pending:  # until every worker is done: none may be left blocked on put()
            kind, sub, payload = messages.get()
            if kind == "items":
                buffered.append((sub, *payload))
            else:
                pending -= 1
                if payload is not None:
                    self._finish(sub, payload, report, progress)
            # ingest a full batch, or what there is when nothing else is waiting
            if sum(len(pages) for _, _, pages in buffered) >= BATCH or messages.empty():
                self._ingest(buffered, report, progress)
                buffered = []
        self._ingest(buffered, report, progress)

    def _check(self, sub: dict[str, Any], fetcher: Fetcher, messages: queue.Queue) -> _Checked:
        now = self.clock()
        try:
            fetched = fetcher.fetch(
                sub["url"], etag=sub["etag"], last_modified=sub["last_modified"]
            )
        except FetchError as exc:
            return self._failure(sub, exc)
        headers = fetched.headers or {}
        fields: dict[str, Any] = {
            "checked_at": now,
            "last_status": fetched.status,
            "error_count": 0,
            "last_error": None,
            "failing_since": None,
        }
        moved = permanent_target(fetched.redirects)
        if moved:
            fields["url"] = moved
        if fetched.not_modified:
            # no body, no posting rate: keep the pace, honour fresh cache hints
            interval = next_interval(
                headers=headers, ttl_minutes=None, published=[], now=now,
                minimum=self.minimum, maximum=self.maximum,
            )
            interval = max(interval, sub["check_interval"] or 0.0)
            fields.update(check_interval=interval, next_check=now + timedelta(seconds=interval))
            return _Checked(fields, "not_modified", moved=bool(moved))
        page = fetched.page
        assert page is not None
        try:
            feed = parse_feed(page.content, page.final_url or sub["url"],
                              content_type=page.content_type, max_entries=self.entry_cap * 2)
        except FeedError as exc:  # an error like any other (its ETag is not kept)
            failed = self._failure(sub, FetchError(str(exc), status=fetched.status))
            if moved:
                failed.fields["url"] = moved
                failed.moved = True
            return failed
        interval = next_interval(
            headers=headers, ttl_minutes=feed.ttl_minutes,
            published=[e.published for e in feed.entries if e.published],
            now=now, minimum=self.minimum, maximum=self.maximum,
        )
        fields.update(
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            check_interval=interval,
            next_check=now + timedelta(seconds=interval),
            site_url=feed.site_url or sub["site_url"],
            icon_url=feed.icon_url or sub["icon_url"],
        )
        if feed.title and (not sub["title"] or sub["title"] == sub["url"]):
            fields["title"] = feed.title
        source = fields.get("title") or sub["title"] or None
        new = self._new_entries(sub["id"], feed.entries)
        for chunk in _chunks(new, CHUNK):
            messages.put(("items", sub, (chunk, self._items(chunk, fetcher, source))))
        return _Checked(fields, "updated", moved=bool(moved))

    def _failure(self, sub: dict[str, Any], exc: FetchError) -> _Checked:
        now = self.clock()
        errors = int(sub["error_count"] or 0) + 1
        fields: dict[str, Any] = {
            "checked_at": now,
            "last_status": exc.status,
            "error_count": errors,
            "last_error": exc.reason,
            "failing_since": sub["failing_since"] or now,
        }
        if exc.status == 410:
            fields.update(enabled=0, next_check=None, last_error=GONE)
            return _Checked(fields, "disabled", GONE)
        delay = backoff(
            errors, minimum=self.minimum, maximum=self.maximum,
            requested=retry_after(exc.headers, now), rng=self.rng,
        )
        fields["next_check"] = now + timedelta(seconds=delay)
        return _Checked(fields, "failed", exc.reason)

    def _new_entries(self, source_id: int, entries: list[Entry]) -> list[Entry]:
        """The entries not stored yet (identity: this feed + GUID, then URL), at most the
        cap per poll, oldest first so an original is stored before its copies."""
        unique: list[Entry] = []
        seen: set[str] = set()
        for entry in entries:
            keys = {entry.url} | ({f"guid:{entry.guid}"} if entry.guid else set())
            if keys & seen:
                continue
            seen |= keys
            unique.append(entry)
            if len(unique) >= self.entry_cap:
                break
        known = self.store.known_entries(source_id, [(e.guid, e.url) for e in unique])
        new = [e for e, k in zip(unique, known, strict=True) if k is None]
        new.sort(key=lambda e: (e.published is None, e.published or 0, e.url))
        return new

    def _items(self, chunk: list[Entry], fetcher: Fetcher, source: str | None) -> list[Page]:
        fetched = dict(fetcher.fetch_many([e.url for e in chunk], workers=PAGE_WORKERS))
        return [entry_page(entry, fetched.get(entry.url), source, self.clock()) for entry in chunk]

    def _ingest(self, batch: list[tuple[dict, list[Entry], list[Page]]], report: PollReport,
                progress) -> None:
        """Ingest the buffered chunks of one or more feeds together (a feed with one new
        entry does not cost a write transaction of its own), oldest entry first, then
        remember which entry became which article."""
        if not batch:
            return
        items = [page for _, _, pages in batch for page in pages]
        items.sort(key=lambda p: (p.hints.get("published") is None,
                                  p.hints.get("published") or datetime.min.replace(tzinfo=UTC)))
        result = IngestResult()
        try:
            self.ingest(items, result)
        except Exception as exc:  # the entries are not recorded: seen again next time
            log.exception("ingesting %d entries failed", len(items))
            report.errors += [(sub["url"], f"ingest failed: {exc}") for sub, _, _ in batch]
            return
        _merge(report.result, result)
        now = self.clock()
        for sub, chunk, pages in batch:
            report.entries += len(chunk)
            report.pages += sum(1 for page in pages if page.content)
            ids = self.store.known_entries(sub["id"], [(e.guid, e.url) for e in chunk])
            stored = self.store.articles([i for i in ids if i], text=False)
            rows = []
            for entry, page, article_id in zip(chunk, pages, ids, strict=True):
                article = stored.get(article_id or 0)
                partial = bool(article and article.partial)
                report.partial += partial
                rows.append({
                    "guid": entry.guid,
                    "url": entry.url,
                    "article_id": article_id or None,
                    "partial": partial,
                    "retry_at": now + timedelta(seconds=PARTIAL_RETRY) if partial else None,
                    "last_error": page.hints.get("fetch_error"),
                })
            self.store.record_entries(sub["id"], rows)
            if progress:
                progress("entries", f"{sub['url']}: {len(chunk)} new")

    def _finish(self, sub, verdict: _Checked, report: PollReport, progress) -> None:
        report.checked += 1
        setattr(report, verdict.outcome, getattr(report, verdict.outcome) + 1)
        if verdict.error:
            report.errors.append((sub["url"], verdict.error))
        # a moved URL that is another subscription's already is not applied
        if self.store.record_poll(sub["id"], verdict.fields) and verdict.moved:
            report.moved += 1
        if progress:
            progress(verdict.outcome, sub["url"])

    # -- partial entries ---------------------------------------------------------------

    def _retry_partials(self, fetcher: Fetcher, report: PollReport, progress) -> None:
        due = self.store.partial_entries_due(self.clock(), PARTIALS_PER_CYCLE)
        if not due:
            return
        fetched = dict(fetcher.fetch_many([d["url"] for d in due], workers=PAGE_WORKERS))
        pages = []
        reasons: dict[int, str] = {}
        for entry in due:
            outcome = fetched.get(entry["url"])
            if isinstance(outcome, FetchResult) and outcome.page is not None:
                outcome.page.source = entry["source"] or None
                pages.append((entry["article_id"], outcome.page))
            else:
                reasons[entry["article_id"]] = str(outcome)
        reasons.update({i: r for i, r in self.upgrade(pages).items() if r is not None} if pages
                       else {})
        upgraded = {i for i, _ in pages} - set(reasons)
        now = self.clock()
        for entry in due:
            if entry["article_id"] in upgraded:
                self.store.record_entry_retry(entry["id"], None, None, upgraded=True)
                report.upgraded += 1
                if progress:
                    progress("upgraded", entry["url"])
                continue
            attempts = entry["attempts"] + 1
            retry = None
            if attempts < PARTIAL_ATTEMPTS:
                retry = now + timedelta(seconds=PARTIAL_RETRY * 2**attempts)
            self.store.record_entry_retry(entry["id"], retry, reasons.get(entry["article_id"]),
                                          upgraded=False)


class PollingThread:
    """A poller running in the background until stop()."""

    def __init__(self, poller: Poller):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=poller.run, args=(self._stop,), name="tidings-poller", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the poller to stop and wait for the cycle in progress to end."""
        self._stop.set()
        self._thread.join(timeout)


def entry_page(
    entry: Entry, fetched: FetchResult | FetchError | None, source: str | None, now: datetime
) -> Page:
    """The page of a feed entry for the pipeline, carrying the entry's own title, date,
    author and text: the pipeline stores those (as a partial article) when the page cannot
    be fetched or is not an article."""
    hints: dict[str, Any] = {
        "title": entry.title,
        "published": entry.published,
        "author": entry.author,
        "feed_text": entry.content or entry.summary or "",
        "partial_ok": True,
    }
    if isinstance(fetched, FetchResult) and fetched.page is not None:
        page = fetched.page
        page.url = entry.url
        page.source = source
        page.hints = hints
        return page
    hints["fetch_error"] = str(fetched) if fetched is not None else "not fetched"
    return Page(url=entry.url, content=b"", source=source, fetched=now, hints=hints)


def permanent_target(redirects: list[tuple[int, str]]) -> str | None:
    """Where a feed moved for good: the end of the leading run of 301/308 redirects (a
    302/307 on the way means the rest is temporary)."""
    target = None
    for status, location in redirects:
        if status not in (301, 308):
            break
        target = location
    return target


def _chunks(items: list[Entry], size: int) -> Iterator[list[Entry]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _merge(into: IngestResult, other: IngestResult) -> None:
    into.new += other.new
    into.duplicate += other.duplicate
    into.unchanged += other.unchanged
    into.skipped += other.skipped
    into.failed += other.failed
    into.notes += other.notes
