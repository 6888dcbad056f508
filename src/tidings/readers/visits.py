"""Honest visit counts. A visit is one page view of an article by a person: crawlers and
prefetches are not counted, nor a repeat view by the same visitor within the dedupe window.
A visitor is known by a keyed hash of (account) or (address, user agent) whose key is random
per UTC day and lives only in memory: no address is ever stored, in clear or hashed.

Counted visits are buffered in memory and written in one transaction a second (a write per
page view would serialise readers on the database's fsync); counts shown add what is still
buffered, so they are exact at every moment. Reading a count never waits for a flush: each
flushed batch is remembered with the generation its transaction committed as, and a read
adds exactly the batches its own snapshot of the database does not contain yet."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

# lower-cased substrings of user agents that are programs, not people
BOT_MARKERS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "archiver",
    "facebookexternalhit",
    "embedly",
    "preview",
    "monitor",
    "pingdom",
    "headless",
    "lighthouse",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "scrapy",
    "feedfetcher",
    "feed",
    "rss",
    "mediapartners",
)
_BOT = re.compile("|".join(re.escape(m) for m in BOT_MARKERS))
MAX_SEEN = 500_000  # remembered (visitor, article) pairs; the oldest go first past this


def is_person(user_agent: str | None, headers: Mapping[str, str]) -> bool:
    """False for crawlers and other programs (by user agent) and for prefetches and
    prerenders (by the headers browsers send with them)."""
    if not user_agent or len(user_agent) < 10:
        return False
    if _BOT.search(user_agent.lower()):
        return False
    purpose = " ".join(
        headers.get(name, "") for name in ("purpose", "sec-purpose", "x-purpose", "x-moz")
    ).lower()
    return not ("prefetch" in purpose or "prerender" in purpose or "preview" in purpose)


def hour_key(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H")


class VisitCounter:
    def __init__(
        self, store, window_minutes: float = 30.0, flush_seconds: float = 1.0, clock=time.time
    ):
        self.store = store
        self.window = window_minutes * 60.0
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._lock = threading.Lock()  # the in-memory state
        self._flush_lock = threading.Lock()  # one flush at a time
        self._pending: dict[tuple[int, str], int] = {}
        # batches being written or written lately: [generation, visits, monotonic time
        # written (None while the transaction is open)]
        self._flushed: list[list] = []
        self._seen: dict[tuple[str, int], float] = {}
        self._day = ""
        self._day_key = b""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _visitor_hash(self, visitor: str, now: float) -> str:
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        if day != self._day:  # a new day: a new key, and yesterday's hashes mean nothing
            self._day, self._day_key = day, secrets.token_bytes(32)
            self._seen.clear()
        return hmac.new(self._day_key, visitor.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def record(self, article_id: int, visitor: str) -> bool:
        """Count a view of `article_id` by `visitor` (an account key or address + user agent)
        unless the same visitor was counted for it within the window. True when counted."""
        now = self._clock()
        with self._lock:
            key = (self._visitor_hash(visitor, now), article_id)
            last = self._seen.get(key)
            if last is not None and now - last < self.window:
                return False
            if len(self._seen) >= MAX_SEEN:
                self._forget_old(now)
            self._seen[key] = now
            slot = (article_id, hour_key(datetime.fromtimestamp(now, UTC)))
            self._pending[slot] = self._pending.get(slot, 0) + 1
        self._ensure_flusher()
        return True

    def _forget_old(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if now - t >= self.window]:
            del self._seen[key]
        while len(self._seen) >= MAX_SEEN:  # dicts keep insertion order: oldest first
            del self._seen[next(iter(self._seen))]

    def _ensure_flusher(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="visit-flush", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            with contextlib.suppress(Exception):  # kept in memory; the next flush retries
                self.flush()

    def flush(self) -> None:
        """Write the buffered visits (one transaction); on failure they stay buffered."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return
            entry = None
            try:
                with self.store.transaction() as tx:
                    entry = [tx.generation, batch, None]
                    with self._lock:  # from now on a read whose snapshot predates the
                        self._flushed.append(entry)  # commit adds this batch itself
                    self.store.add_visits(batch, tx)
            except BaseException:
                with self._lock:
                    if entry is not None:
                        self._flushed.remove(entry)
                    for slot, n in batch.items():
                        self._pending[slot] = self._pending.get(slot, 0) + n
                raise
            now = time.monotonic()
            with self._lock:
                entry[2] = now
                # a read takes its snapshot, then this lock: a batch written a minute ago
                # is in every snapshot still to be compared with it
                self._flushed = [e for e in self._flushed if e[2] is None or now - e[2] < 60]

    def counts(self, article_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(all visits, visits today (UTC)) per article, buffered ones included."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        today = now.strftime("%Y-%m-%dT00")
        with self.store.snapshot():
            seen = self.store.generation()
            stored = self.store.visit_counts(article_ids, today)
        with self._lock:
            batches = [self._pending] + [b for g, b, _ in self._flushed if g > seen]
            extra: dict[int, list[int]] = {}
            for batch in batches:
                for (i, hour), n in batch.items():
                    if i in stored:
                        slot = extra.setdefault(i, [0, 0])
                        slot[0] += n
                        slot[1] += n if hour >= today else 0
        out = {}
        for article_id, (total, today_count) in stored.items():
            more, more_today = extra.get(article_id, (0, 0))
            out[article_id] = (total + more, today_count + more_today)
        return out

    def trending(self, limit: int = 10, hours: int = 24) -> list[tuple[int, int]]:
        """(article id, visits) with the most visits in the last `hours` hours."""
        self.flush()
        since = hour_key(datetime.fromtimestamp(self._clock(), UTC) - timedelta(hours=hours - 1))
        return self.store.most_visited(since, limit)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
