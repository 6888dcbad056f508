"""What the reader site lists: stories ranked for the front page, a story's timeline and folded
copies, filtered and paged search, outlets, and the per-source excerpt policy. Reads through
the Store contract and the engine's own search; no SQL here."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .models import Article, Hit, Story

POOL = 200  # recent stories considered for the front page
SEARCH_WINDOW = 1000  # hits a filtered search pages through
FRONT_SECONDS = 10.0  # the front page's ranking and counts are recomputed this often at most
RELATED_SECONDS = 30.0  # an article page's related list is reused this long while the index
RELATED_CACHED = 20_000  # holds as many vectors; at most this many lists are kept


@dataclass
class RankedStory:
    story: Story
    lead: Article | None
    sources: int
    burst: int
    score: float


@dataclass
class Bin:
    start: datetime
    end: datetime
    originals: int = 0
    copies: int = 0


@dataclass
class StoryPage:
    story: Story
    copies: dict[int, list[Article]]  # original id -> its copies, time order
    sources: list[str]  # every outlet that covered it, first to cover first
    bins: list[Bin]


@dataclass
class SearchPage:
    hits: list[Hit]
    total: int  # matches within the search window
    capped: bool  # more might exist beyond the window
    page: int
    pages: int
    filters: dict = field(default_factory=dict)


def _when(article: Article) -> datetime | None:
    when = article.published or article.fetched
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def story_score(story: Story, sources: int, burst: int, now: datetime) -> float:
    """Recency × (size + outlets + velocity): a story that many outlets covered and that grew
    quickly just before its latest article ranks above a big story that went quiet."""
    last = story.last_seen or now
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    age_hours = max((now - last).total_seconds() / 3600.0, 0.0)
    weight = math.log2(1 + story.size) + math.log2(1 + sources) + 0.5 * burst
    return weight / (1.0 + age_hours / 24.0) ** 1.5


def timeline(
    articles: list[Article], copies: dict[int, list[Article]], bins: int = 12
) -> list[Bin]:
    """Articles (and copies) over time in equal bins from the first to the last report."""
    times = [(w, False) for a in articles if (w := _when(a))]
    times += [(w, True) for cs in copies.values() for c in cs if (w := _when(c))]
    if not times:
        return []
    first, last = min(t for t, _ in times), max(t for t, _ in times)
    span = max((last - first).total_seconds(), 3600.0)
    step = span / bins
    out = [
        Bin(first + timedelta(seconds=i * step), first + timedelta(seconds=(i + 1) * step))
        for i in range(bins)
    ]
    for when, is_copy in times:
        slot = out[min(int((when - first).total_seconds() / step), bins - 1)]
        if is_copy:
            slot.copies += 1
        else:
            slot.originals += 1
    return out


class Listing:
    def __init__(self, store, search, visits=None, excerpt_sources: str = "", related=None,
                 index_size=None):
        self.store = store
        self._search = search  # Engine.search
        self._related = related  # Engine.related
        self._index_size = index_size or (lambda: 0)  # vectors in the index now
        self._related_cache: OrderedDict[tuple[int, int], tuple[float, int, list[Hit]]] = (
            OrderedDict()
        )
        self.visits = visits  # readers.VisitCounter
        self.excerpt_sources = {s.strip().lower() for s in excerpt_sources.split(",") if s.strip()}
        self._cache: dict[str, tuple[float, object]] = {}
        self._cache_lock = threading.Lock()
        self._refreshing: set[str] = set()
        self._latest: dict[int, tuple[int, list[Article]]] = {}

    def _cached(self, key: str, compute):
        """What the front page shows everyone changes slowly: computing it once per
        FRONT_SECONDS keeps a busy front page off the database. One request recomputes a
        stale value while the others keep getting the previous one."""
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
            fresh = hit is not None and now - hit[0] < FRONT_SECONDS
            if fresh or (hit is not None and key in self._refreshing):
                return hit[1]
            self._refreshing.add(key)
        try:
            value = compute()
            with self._cache_lock:
                self._cache[key] = (time.monotonic(), value)
        finally:
            with self._cache_lock:
                self._refreshing.discard(key)
        return value

    def related(
        self, article_id: int, limit: int = 6, besides: Sequence[Article] = ()
    ) -> list[Hit]:
        """Engine.related for an article page, without the articles listed `besides` it
        ("more on this story"); reused for RELATED_SECONDS as long as the index holds as
        many vectors (a popular article is not searched for on every view)."""
        shown = {a.id for a in besides}
        found = self._related_cached(article_id, limit + len(shown))
        if shown:
            found = [h for h in found if h.article.id not in shown]
        return found[:limit]

    def _related_cached(self, article_id: int, limit: int) -> list[Hit]:
        now, size = time.monotonic(), self._index_size()
        key = (article_id, limit)
        with self._cache_lock:
            hit = self._related_cache.get(key)
            if hit is not None and hit[1] == size and now - hit[0] < RELATED_SECONDS:
                self._related_cache.move_to_end(key)
                return hit[2]
        found = self._related(article_id, limit)
        with self._cache_lock:
            self._related_cache[key] = (now, self._index_size(), found)
            while len(self._related_cache) > RELATED_CACHED:
                self._related_cache.popitem(last=False)
        return found

    def latest(self, limit: int = 15) -> list[Article]:
        """The latest originals, read again only after a write (by any process) committed."""
        generation = self.store.generation()
        with self._cache_lock:
            hit = self._latest.get(limit)
        if hit is not None and hit[0] == generation:
            return hit[1]
        found = self.store.latest(limit)  # at least as new as `generation`: never kept stale
        with self._cache_lock:
            self._latest[limit] = (generation, found)
        return found

    def front_stories(self, limit: int = 12) -> list[RankedStory]:
        """ranked_stories(), recomputed at most every FRONT_SECONDS."""
        return self._cached(f"stories:{limit}", lambda: self.ranked_stories(limit))

    def counts(self) -> dict:
        """The database's counts (articles, copies, stories), at most FRONT_SECONDS old."""
        return self._cached("counts", self.store.counts)

    def ranked_stories(self, limit: int = 12, now: datetime | None = None) -> list[RankedStory]:
        now = now or datetime.now(UTC)
        pool = self.store.stories(POOL, 0, 1)
        summaries = self.store.story_summaries([s.id for s in pool])
        ranked = []
        for story in pool:
            info = summaries.get(story.id, {})
            sources, burst = info.get("sources", 0), info.get("burst", 0)
            ranked.append(
                RankedStory(
                    story, info.get("lead"), sources, burst, story_score(story, sources, burst, now)
                )
            )
        ranked.sort(key=lambda r: (-r.score, -r.story.id))
        return ranked[:limit]

    def story_page(self, story_id: int) -> StoryPage | None:
        story = self.store.story(story_id)  # an absorbed story's id answers its absorber
        if story is None:
            return None
        story.articles = self.store.story_articles(story.id, text=False)
        copies = self.store.copies([a.id for a in story.articles])
        for cs in copies.values():
            cs.sort(key=lambda c: (_when(c) or datetime.max.replace(tzinfo=UTC), c.id))
        dated = [(a, _when(a)) for a in story.articles]
        dated += [(c, _when(c)) for cs in copies.values() for c in cs]
        dated.sort(key=lambda p: (p[1] or datetime.max.replace(tzinfo=UTC), p[0].id))
        sources = list(dict.fromkeys(a.source for a, _ in dated if a.source))
        return StoryPage(story, copies, sources, timeline(story.articles, copies))

    def more_on_story(self, article: Article, limit: int = 8) -> list[Article]:
        if article.story_id is None:
            return []
        others = [
            a for a in self.store.story_articles(article.story_id, text=False, latest=limit + 1)
            if a.id != article.id
        ]
        return others[-limit:][::-1]  # the latest reports first

    def shows_excerpt_only(self, article: Article) -> bool:
        return (article.source or "").strip().lower() in self.excerpt_sources

    def search(
        self,
        query: str,
        mode: str = "hybrid",
        *,
        source: str | None = None,
        category: str | None = None,
        story_id: int | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> SearchPage:
        """A page of search results narrowed by outlet (an original's or a copy's), the
        category of a feed that brought it (or a copy), story and publication date range
        (inclusive days)."""
        filters = {
            "source": source,
            "category": category,
            "story_id": story_id,
            "date_from": date_from,
            "date_to": date_to,
        }
        page = max(page, 1)
        if not query.strip():
            return SearchPage([], 0, False, 1, 0, filters)
        filtered = any(v is not None for v in filters.values())
        window = SEARCH_WINDOW if filtered else min(page * per_page + 1, SEARCH_WINDOW)
        hits = self._search(query, mode=mode, limit=window)
        found_all = len(hits) < window
        if filtered:
            hits = [h for h in hits if self._matches(h, source, story_id, date_from, date_to)]
        if category:
            wanted = category.casefold()
            categories = self.store.feed_categories([h.article.id for h in hits])
            hits = [
                h for h in hits
                if wanted in {c.casefold() for c in categories.get(h.article.id, ())}
            ]
        total = len(hits)
        pages = max(math.ceil(total / per_page), 1)
        shown = hits[(page - 1) * per_page : page * per_page]
        if not filtered and not found_all:  # unfiltered: only what this page needed was fetched
            pages = page + 1
        return SearchPage(shown, total, not found_all, page, pages, filters)

    @staticmethod
    def _matches(hit: Hit, source, story_id, date_from, date_to) -> bool:
        a = hit.article
        if source and source.lower() not in {
            s.lower() for s in [a.source or "", *hit.also_published_by]
        }:
            return False
        if story_id is not None and a.story_id != story_id:
            return False
        when = _when(a)
        if date_from is not None and (when is None or when < date_from):
            return False
        return not (date_to is not None and (when is None or when >= date_to + timedelta(days=1)))

    def trending(self, limit: int = 8) -> list[tuple[Article, int]]:
        """The most visited articles of the last 24 hours, with their visits (at most
        FRONT_SECONDS old)."""
        if self.visits is None:
            return []
        return self._cached(f"trending:{limit}", lambda: self._trending(limit))

    def _trending(self, limit: int) -> list[tuple[Article, int]]:
        counted = self.visits.trending(limit)
        found = self.store.articles([i for i, _ in counted], text=False)
        return [(found[i], n) for i, n in counted if i in found]

    def articles(self, ids: list[int]) -> list[Article]:
        """Articles by id (without their text), in the order given."""
        found = self.store.articles(ids, text=False)
        return [found[i] for i in ids if i in found]

    def story_header(self, story_id: int | None) -> Story | None:
        """A story without its articles."""
        return self.store.story(story_id) if story_id is not None else None

    def outlets(self) -> list[dict]:
        return self.store.outlets()

    def categories(self) -> list[str]:
        """The categories of the subscribed feeds, in order."""
        return sorted({f["category"] for f in self.store.subscriptions() if f["category"]},
                      key=str.casefold)

    def feeds(self) -> list[dict]:
        """The subscribed feeds with their poll state: last and next check, status, consecutive
        errors and the last error, entries stored."""
        return self.store.subscriptions()
