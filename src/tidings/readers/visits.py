"""Honest visit counts. A visit is one page view of an article by a person: crawlers and
prefetches are not counted, nor a repeat view by the same visitor within the dedupe window.
A visitor is known by a keyed hash of (account) or (address, user agent). The key is random
per UTC day, kept in the database until the next day's first visit replaces it (every
process serving the site — the workers of one `serve` — hashes alike); a visitor's hash is
stored only for the dedupe window: no address is ever stored in clear, and a hash cannot
be linked to anyone once its day's key is gone.

Counted visits are buffered in memory and written in one transaction a second (a write per
page view would serialise readers on the database's fsync). Each process drops repeat views
it saw itself at once; repeat views that reached another process are dropped when the batch
is written, against the visitors every process has recorded. Counts shown add what is still
buffered. Reading a count never waits for a flush: each flushed batch is remembered with the
generation its transaction committed as, and a read adds exactly the batches its own
snapshot of the database does not contain yet."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
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
KEY_META = "visit_key"  # "YYYY-MM-DD:<hex key>" of the current UTC day


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
        self._pending_views: list[tuple[str, int, float]] = []  # (visitor key, article, time)
        self._key_lock = threading.Lock()
        # batches being written or written lately: [generation, visits, monotonic time
        # written (None while the transaction is open)]
        self._flushed: list[list] = []
        self._seen: dict[tuple[str, int], float] = {}
        self._day = ""
        self._day_key = b""
        self._seen_day = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _key(self, day: str) -> bytes:
        """The day's hashing key, shared through the database by every process (the first
        one to need it on a new day makes it)."""
        with self._key_lock:
            if day == self._day:
                return self._day_key
            stored = self.store.get_meta(KEY_META)
            if not (stored and stored.startswith(day + ":")):
                with self.store.transaction() as tx:
                    stored = self.store.get_meta(KEY_META, tx)
                    if not (stored and stored.startswith(day + ":")):
                        stored = f"{day}:{secrets.token_hex(32)}"
                        self.store.set_meta(tx, KEY_META, stored)
            self._day, self._day_key = day, bytes.fromhex(stored.split(":", 1)[1])
            return self._day_key

    def record(self, article_id: int, visitor: str) -> bool:
        """Count a view of `article_id` by `visitor` (an account key or address + user agent)
        unless the same visitor was counted for it within the window. True when counted
        (by this process: a repeat view another process counted is dropped at the flush)."""
        now = self._clock()
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        # the key before self._lock: getting it may write, and a flush holds the
        # database's write lock while it takes self._lock
        key = self._key(day)
        digest = hmac.new(key, visitor.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        with self._lock:
            if day != self._seen_day:  # a new day: yesterday's hashes mean nothing
                self._seen_day = day
                self._seen.clear()
            seen_key = (digest, article_id)
            last = self._seen.get(seen_key)
            if last is not None and now - last < self.window:
                return False
            if len(self._seen) >= MAX_SEEN:
                self._forget_old(now)
            self._seen[seen_key] = now
            slot = (article_id, hour_key(datetime.fromtimestamp(now, UTC)))
            self._pending[slot] = self._pending.get(slot, 0) + 1
            self._pending_views.append((digest, article_id, now))
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
        """Write the buffered visits (one transaction): each view is checked against the
        visitors every process recorded, so a repeat view that reached another process
        counts once. On failure the views stay buffered."""
        with self._flush_lock:
            with self._lock:
                if not self._pending_views:
                    return
                batch, self._pending = self._pending, {}
                views, self._pending_views = self._pending_views, []
                # shown by every read until it is known which snapshots hold it
                entry = [math.inf, batch, None]
                self._flushed.append(entry)
            try:
                with self.store.transaction() as tx:
                    firsts = self.store.counted_views(tx, views, self.window)
                    counted: dict[tuple[int, str], int] = {}
                    for (_, article_id, at), first in zip(views, firsts, strict=True):
                        if first:
                            slot = (article_id, hour_key(datetime.fromtimestamp(at, UTC)))
                            counted[slot] = counted.get(slot, 0) + 1
                    with self._lock:  # a snapshot older than this commit lacks the batch
                        entry[0], entry[1] = tx.generation, counted
                    self.store.add_visits(counted, tx)
            except BaseException:
                with self._lock:
                    self._flushed.remove(entry)
                    for slot, n in batch.items():
                        self._pending[slot] = self._pending.get(slot, 0) + n
                    self._pending_views[:0] = views
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
