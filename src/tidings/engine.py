"""The library facade: ingest, search, related, stories. CLI, API and web call only this."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from . import dedupe
from .embed import Embedder, EmbedderError, create_embedder
from .embed.sentence_transformers import resolve_model
from .index import UsearchIndex, reciprocal_rank_fusion
from .models import Article, Hit, IngestResult, Page, Story
from .settings import Settings
from .store import open_store
from .store.sqlite import from_iso
from .stories import StoryClusterer

log = logging.getLogger(__name__)

SEARCH_MODES = ("hybrid", "keyword", "semantic")
EMBED_CHARS = 2000  # the model reads ~256 tokens; more text only costs tokenizer time
# pages often give a date without a time (read as midnight), so only a clear lead counts
PROMOTE_MARGIN = timedelta(days=1)
INDEX_SAVE_INTERVAL = 30.0  # seconds between index file writes during ingest
Progress = Callable[[str, str], None]  # (outcome, item) after each item


class ModelMismatchError(EmbedderError):
    """The database was built with another embedding model."""


@dataclass
class _Pending:
    """One article on its way into the database within a batch."""

    article: Article
    url_key: str
    near: dedupe.NearDuplicateKey | None = None
    original: int | None = None  # id of the stored original, if a duplicate
    original_pending: int | None = None  # index of an original earlier in this batch
    vector: np.ndarray | None = None
    reason: str = ""
    buckets: list[int] = field(default_factory=list)
    replaces: int | None = None  # a stored original that turns out to be a copy of this one


class Engine:
    """One Tidings database with its indexes and model.

    The model is loaded on first need (ingest, semantic search); opening the engine and
    reading stories or related articles does not load it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        check_model: bool = True,
    ):
        self.settings = settings or Settings.load()
        self.data_dir = self.settings.data_path
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = open_store(self.settings.database_url, self.data_dir)
        self._embedder = embedder
        self._lock = threading.RLock()
        self._index: UsearchIndex | None = None
        self._seen_generation = -1
        self._index_saved = time.monotonic()
        self.stories_clusterer = StoryClusterer(
            self.store,
            self.settings.story_threshold,
            self.settings.story_window_days,
            self.settings.story_name_weight,
        )
        if check_model:
            self._check_model_id()
            self._sync_indexes()

    # -- model -------------------------------------------------------------------------

    def _wanted_model_id(self) -> str:
        if self._embedder is not None:
            return self._embedder.model_id
        _, model_id = resolve_model(self.settings.model)
        if self.settings.truncate_dim:
            model_id = f"{model_id}@{self.settings.truncate_dim}"
        return model_id

    def _check_model_id(self) -> None:
        recorded = self.store.get_meta("model")
        if recorded is not None and recorded != self._wanted_model_id():
            raise ModelMismatchError(
                f"this database was embedded with {recorded!r} "
                f"(dimension {self.store.get_meta('dim')}), but the configured model is "
                f"{self._wanted_model_id()!r}; use the original model, or run "
                f"`tidings reembed` to re-embed every article with the new one"
            )

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            self._record_model(self._embedder)
            return self._embedder

    def _make_embedder(self) -> Embedder:
        s = self.settings
        return create_embedder(
            s.embed_backend,
            model=s.model,
            query_prompt=s.query_prompt,
            document_prompt=s.document_prompt,
            truncate_dim=s.truncate_dim,
            batch_size=s.embed_batch_size,
            device=s.device,
            max_seq_length=s.max_seq_length,
        )

    def _record_model(self, embedder: Embedder) -> None:
        recorded_dim = self.store.get_meta("dim")
        if recorded_dim is None:
            with self.store.transaction() as db:
                self.store.set_meta(db, "model", embedder.model_id)
                self.store.set_meta(db, "dim", str(embedder.dim))
        elif int(recorded_dim) != embedder.dim:
            raise ModelMismatchError(
                f"the model {embedder.model_id!r} makes {embedder.dim}-dimensional vectors but "
                f"this database holds {recorded_dim}-dimensional ones; use the original model "
                f"or run `tidings reembed`"
            )

    # -- indexes -----------------------------------------------------------------------

    @property
    def index(self) -> UsearchIndex | None:
        """The vector index, or None before the first embedding was stored."""
        if self._index is None:
            dim = self.store.get_meta("dim")
            if dim is None:
                return None
            self._index = UsearchIndex(
                self.data_dir / "vectors.usearch", int(dim), self.settings.index_dtype
            )
        return self._index

    def _sync_indexes(self) -> None:
        """Repair the derived state when the database moved on without it (a crash after a
        commit, or another process writing)."""
        with self._lock:
            generation = self.store.generation()
            if generation == self._seen_generation:
                return
            if self.index is not None:
                self.index.sync(self.store)
            self.stories_clusterer.invalidate()
            self._seen_generation = generation

    def _save_index_now_and_then(self) -> None:
        """Write the index file at most every INDEX_SAVE_INTERVAL seconds: saving rewrites the
        whole file, and the database already holds every vector, so a file that is a little
        behind after a crash is repaired on the next open."""
        now = time.monotonic()
        if self.index is not None and now - self._index_saved >= INDEX_SAVE_INTERVAL:
            self.index.save()
            self._index_saved = now

    def reindex(self) -> dict[str, int]:
        """Rebuild every derived index from the database."""
        with self._lock:
            self.store.rebuild_keyword_index()
            vectors = self.index.rebuild(self.store) if self.index is not None else 0
            self._seen_generation = self.store.generation()
            return {"vectors": vectors, "keyword": self.store.counts()["originals"]}

    def reembed(self, progress: Progress | None = None) -> int:
        """Re-embed every original with the configured model (after changing models)."""
        with self._lock:
            embedder = self._embedder or self._make_embedder()
            originals = [a for a in self.store.iter_articles() if a.duplicate_of is None]
            done = 0
            with self.store.transaction() as db:
                for start in range(0, len(originals), 256):
                    chunk = originals[start : start + 256]
                    vectors = embedder.embed_documents([embed_text(a) for a in chunk])
                    self.store.replace_embeddings(
                        db, zip([a.id for a in chunk], vectors, strict=True)
                    )
                    done += len(chunk)
                    if progress:
                        progress("reembedded", str(done))
                self.store.set_meta(db, "model", embedder.model_id)
                self.store.set_meta(db, "dim", str(embedder.dim))
                self.store.bump_generation(db)
            self._embedder = embedder
            self._index = None
            (self.data_dir / "vectors.usearch").unlink(missing_ok=True)
            self.reindex()
            return done

    # -- ingest ------------------------------------------------------------------------

    def ingest(
        self, inputs: Iterable[str], progress: Progress | None = None, batch_size: int = 32
    ) -> IngestResult:
        """Ingest paths (HTML, .html.gz, directories, JSONL) and URLs (pages or feeds).

        Idempotent: an URL already stored is counted as unchanged. A failing item is
        reported in the result and never stops the others.
        """
        result = IngestResult()
        return self.ingest_items(
            self._iter_inputs(list(inputs), result, progress), progress, batch_size, result
        )

    def ingest_items(
        self,
        items: Iterable[Page | Article],
        progress: Progress | None = None,
        batch_size: int = 32,
        result: IngestResult | None = None,
    ) -> IngestResult:
        """Ingest Pages (extracted here) and ready Articles, in batches of `batch_size`;
        each batch is one transaction."""
        result = result or IngestResult()
        batch: list[Page | Article] = []
        for item in items:
            batch.append(item)
            if len(batch) >= batch_size:
                self._ingest_batch(batch, result, progress)
                batch = []
        if batch:
            self._ingest_batch(batch, result, progress)
        return result

    ingest_articles = ingest_items

    def _iter_inputs(
        self, inputs: list[str], result: IngestResult, progress: Progress | None
    ) -> Iterator[Page | Article]:
        from .sources.files import Failure, iter_local

        urls = [i for i in inputs if urlsplit(i).scheme in ("http", "https")]
        paths = [i for i in inputs if i not in urls]
        for item in iter_local(paths, max_bytes=self.settings.fetch_max_bytes):
            if isinstance(item, Failure):
                self._fail(result, item.item, item.reason, progress)
            else:
                yield item
        if urls:
            yield from self._iter_urls(urls, result, progress)

    def _iter_urls(
        self, urls: list[str], result: IngestResult, progress: Progress | None
    ) -> Iterator[Page]:
        with make_fetcher(self.settings) as fetcher:
            yield from self._fetch_urls(fetcher, urls, result, progress)

    def _fetch_urls(
        self, fetcher, urls: list[str], result: IngestResult, progress: Progress | None
    ) -> Iterator[Page]:
        from .sources.feeds import FeedError, looks_like_feed, parse_feed
        from .sources.http import FetchError

        for url in urls:
            try:
                fetched = fetcher.fetch(url)
            except FetchError as exc:
                self._fail(result, url, str(exc), progress)
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
                self._fail(result, url, f"malformed feed: {exc}", progress)
                continue
            self.store.upsert_source(url, feed.title or url, "feed", feed.site_url)
            self.store.record_source_check(url, fetched.etag, fetched.last_modified, None)
            todo = []
            for entry in feed.entries:
                if self.store.id_by_url(entry.url) is not None:
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
                    self._fail(result, entry.url, str(fetched_entry), progress)
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

    def _fail(self, result: IngestResult, item: str, reason: str, progress: Progress | None):
        log.warning("ingest failed: %s: %s", item, reason)
        result.failed.append((item, reason))
        if progress:
            progress("failed", item)

    def _to_article(self, item: Page | Article) -> Article | str:
        """An Article ready for dedupe, or the reason it cannot be one."""
        from .extract import ExtractError, decode_html, extract

        if isinstance(item, Article):
            article = item
            if not article.title and not article.text:
                return "empty record: no title and no text"
        else:
            try:
                html = decode_html(item.content, item.content_type)
                article = extract(html, item.final_url or item.url)
            except ExtractError as exc:
                return f"not a web page: {exc}"
            article.url = item.url
            hints = item.hints or {}
            article.title = article.title or hints.get("title") or ""
            article.published = article.published or hints.get("published")
            article.author = article.author or hints.get("author")
            article.fetched = item.fetched or datetime.now(UTC)
            article.source = (
                item.source or article.site_name or _host(article.canonical_url or item.url)
            )
            if article.kind != "article":
                return f"not an article ({article.kind} page)"
            if not article.text.strip():
                return "no article text found"
        if article.published and article.published.tzinfo is None:
            article.published = article.published.replace(tzinfo=UTC)
        article.content_hash = dedupe.content_hash(article.title, article.text)
        if not article.excerpt and article.text:
            article.excerpt = article.text[:300]
        return article

    def _ingest_batch(
        self, items: list[Page | Article], result: IngestResult, progress: Progress | None
    ) -> None:
        pending: list[_Pending] = []
        seen_urls: set[str] = set()
        for item in items:
            url = item.url
            if url in seen_urls or self.store.id_by_url(url) is not None:
                result.unchanged += 1
                if progress:
                    progress("unchanged", url)
                continue
            article = self._to_article(item)
            if isinstance(article, str):
                if article.startswith("not an article"):
                    result.skipped += 1
                    result.failed.append((url, article))
                    if progress:
                        progress("skipped", url)
                else:
                    self._fail(result, url, article, progress)
                continue
            seen_urls.add(url)
            pending.append(self._classify(article, pending))

        originals = [p for p in pending if p.original is None and p.original_pending is None]
        if originals:
            vectors = self.embedder.embed_documents([embed_text(p.article) for p in originals])
            for p, vector in zip(originals, vectors, strict=True):
                p.vector = vector

        with self._lock:
            self._sync_indexes()
            try:
                ids = self._write(pending)
            except BaseException:
                self.stories_clusterer.invalidate()
                raise
            if self.index is not None:
                self.index.remove(p.replaces for p in pending if p.replaces is not None)
                new = [
                    (i, p.vector) for i, p in zip(ids, pending, strict=True) if p.vector is not None
                ]
                if new:
                    self.index.add(
                        np.array([i for i, _ in new], dtype=np.uint64),
                        np.vstack([v for _, v in new]),
                    )
                self._save_index_now_and_then()
            self._seen_generation = self.store.generation()
        for p in pending:
            duplicate = (
                p.original is not None or p.original_pending is not None or p.replaces is not None
            )
            if duplicate:
                result.duplicate += 1
            else:
                result.new += 1
            if progress:
                progress("duplicate" if duplicate else "new", p.article.url)

    def _classify(self, article: Article, batch: list[_Pending]) -> _Pending:
        """Decide whether an article is a copy of one already stored or earlier in the batch:
        same canonical URL, same normalised text, or near-identical text (MinHash LSH
        candidates verified by shingle overlap)."""
        canonical = article.canonical_url
        if canonical and urlsplit(canonical).path.strip("/") == "":
            canonical = None  # a canonical link to a home page is a site template bug
        key = dedupe.canonical_url(canonical or article.url)
        p = _Pending(article=article, url_key=key)
        for i, other in enumerate(batch):
            if other.url_key == key or other.article.content_hash == article.content_hash:
                p.original_pending = (
                    other.original_pending if other.original_pending is not None else i
                )
                p.original = other.original
                p.reason = "same canonical url" if other.url_key == key else "same text"
                return p
        original = self.store.original_by_url_key(key)
        if original is None and dedupe.canonical_url(article.url) != key:
            original = self.store.original_by_url_key(dedupe.canonical_url(article.url))
        if original is not None:
            return self._found_stored(p, original, "same canonical url")
        original = self.store.original_by_hash(article.content_hash or "")
        if original is not None:
            return self._found_stored(p, original, "same text")
        p.near = dedupe.NearDuplicateKey(article.text)
        p.buckets = p.near.buckets
        if not p.buckets:
            return p
        threshold = self.settings.near_duplicate_threshold
        for i, other in enumerate(batch):
            if (
                other.near is not None
                and other.original is None
                and other.original_pending is None
                and set(other.buckets) & set(p.buckets)
                and dedupe.resemblance(other.near.shingles, p.near.shingles) >= threshold
            ):
                p.original_pending, p.reason = i, "near-identical text"
                return p
        candidates = self.store.bucket_candidates(p.buckets)
        if candidates:
            for cid, text in self.store.texts(candidates).items():
                if dedupe.resemblance(dedupe.shingles(text), p.near.shingles) >= threshold:
                    return self._found_stored(p, cid, "near-identical text")
        return p

    def _found_stored(self, p: _Pending, original_id: int, reason: str) -> _Pending:
        """`p` and a stored original are one article. Usually `p` is the copy; but when the
        stored one names `p` as its canonical page, or `p` was published earlier (the copy
        arrived first), `p` becomes the original and the stored one its copy."""
        p.reason = reason
        stored = self.store.article(original_id)
        new_key = dedupe.canonical_url(p.article.url)
        names_new = bool(
            stored
            and stored.canonical_url
            and dedupe.canonical_url(stored.canonical_url) == new_key
            and dedupe.canonical_url(stored.url) != new_key
        )
        names_stored = bool(
            stored
            and p.article.canonical_url
            and dedupe.canonical_url(p.article.canonical_url) == dedupe.canonical_url(stored.url)
        )
        earlier = bool(
            stored
            and stored.published
            and p.article.published
            and p.article.published < stored.published - PROMOTE_MARGIN
        )
        if stored is not None and (names_new or (earlier and not names_stored)):
            p.replaces = original_id
            if p.near is None:
                p.near = dedupe.NearDuplicateKey(p.article.text)
                p.buckets = p.near.buckets
            return p
        p.original = original_id
        return p

    def _write(self, pending: list[_Pending]) -> list[int]:
        ids: list[int] = []
        with self.store.transaction() as db:
            for p in pending:
                article = p.article
                if p.original_pending is not None:
                    p.original = ids[p.original_pending]
                if p.original is not None:
                    article.duplicate_of = p.original
                    row = db.execute(
                        "SELECT story_id FROM articles WHERE id = ?", (p.original,)
                    ).fetchone()
                    article.story_id = row[0] if row else None
                    p.vector = None
                elif p.replaces is not None:
                    row = db.execute(
                        "SELECT story_id FROM articles WHERE id = ?", (p.replaces,)
                    ).fetchone()
                    article.story_id = row[0] if row else None
                elif p.vector is not None:
                    when = article.published or article.fetched or datetime.now(UTC)
                    article.story_id = self.stories_clusterer.assign(
                        db, p.vector, when, article.title, article.text
                    )
                article_id = self.store.insert_article(db, article, p.url_key, p.buckets, p.vector)
                article.id = article_id
                ids.append(article_id)
                if p.replaces is not None:
                    self.store.demote(db, p.replaces, article_id)
            self.store.bump_generation(db)
        return ids

    # -- queries -----------------------------------------------------------------------

    def search(self, query: str, mode: str = "hybrid", limit: int | None = None) -> list[Hit]:
        """Keyword (BM25), semantic (embedding) or hybrid (reciprocal-rank fusion of both)."""
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
        limit = limit or self.settings.search_limit
        query = query.strip()
        if not query:
            return []
        self._sync_indexes()
        depth = max(limit * 3, 50)
        keyword = semantic = []
        if mode in ("keyword", "hybrid"):
            keyword = self.store.keyword_search(query, depth)
        if mode in ("semantic", "hybrid") and self.index is not None:
            semantic = self.index.search(self.embedder.embed_query(query), depth)
        if mode == "keyword":
            ranked = keyword
        elif mode == "semantic":
            ranked = semantic
        else:
            ranked = reciprocal_rank_fusion([[i for i, _ in keyword], [i for i, _ in semantic]])
        return self._hits(ranked[:limit])

    def related(self, article_id: int, limit: int | None = None) -> list[Hit]:
        """Nearest articles by meaning; never the article itself or its copies. Articles in
        the same story are marked."""
        limit = limit or self.settings.related_limit
        article = self.store.article(article_id)
        if article is None:
            raise KeyError(article_id)
        self._sync_indexes()
        original_id = article.duplicate_of or article.id
        vector = self.store.embeddings([original_id]).get(original_id)
        if vector is None or self.index is None:
            return []
        found = [
            (i, score) for i, score in self.index.search(vector, limit + 1) if i != original_id
        ]
        story_id = self.store.article(original_id).story_id
        return [
            Hit(
                hit.article,
                hit.score,
                same_story=story_id is not None and hit.article.story_id == story_id,
                also_published_by=hit.also_published_by,
            )
            for hit in self._hits(found[:limit])
        ]

    def _hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        ids = [i for i, _ in ranked]
        articles = self.store.articles(ids)
        copies = self.store.copies(ids)
        hits = []
        for article_id, score in ranked:
            article = articles.get(article_id)
            if article is None or article.duplicate_of is not None:
                continue
            publishers = [c.source for c in copies.get(article_id, []) if c.source]
            hits.append(Hit(article, score, also_published_by=list(dict.fromkeys(publishers))))
        return hits

    def article(self, article_id: int) -> tuple[Article, list[Article]] | None:
        """An article (its original when given a copy's id) and its stored copies."""
        article = self.store.article(article_id)
        if article is None:
            return None
        if article.duplicate_of is not None:
            article = self.store.article(article.duplicate_of) or article
        return article, self.store.copies([article.id]).get(article.id, [])

    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        return self.store.latest(limit, offset)

    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[Story]:
        return [_story(row) for row in self.store.stories(limit, offset, min_size)]

    def story(self, story_id: int) -> Story | None:
        row = self.store.story(story_id)
        if row is None:
            return None
        story = _story(row)
        story.articles = self.store.story_articles(story_id)
        return story

    def export(self) -> Iterator[dict[str, Any]]:
        for a in self.store.iter_articles():
            yield {
                "id": a.id,
                "url": a.url,
                "title": a.title,
                "published": a.published.isoformat() if a.published else None,
                "source": a.source,
                "story_id": a.story_id,
                "duplicate_of": a.duplicate_of,
            }

    def stats(self) -> dict[str, Any]:
        counts = self.store.counts()
        counts["model"] = self.store.get_meta("model")
        counts["dim"] = int(self.store.get_meta("dim") or 0) or None
        counts["vectors_indexed"] = len(self.index) if self.index is not None else 0
        return counts

    def close(self) -> None:
        if self._index is not None:
            self._index.save()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_fetcher(settings: Settings):
    """The polite HTTP client configured by settings."""
    from .sources.http import Fetcher

    return Fetcher(
        user_agent=settings.user_agent,
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        allow_private=settings.fetch_allow_private,
        per_host_interval=settings.fetch_per_host_interval,
        respect_robots=settings.fetch_respect_robots,
    )


def embed_text(article: Article) -> str:
    """What the model reads: headline first, then the opening of the body."""
    return f"{article.title}\n\n{article.text[:EMBED_CHARS]}".strip()


def _host(url: str) -> str | None:
    return urlsplit(url).hostname


def _story(row) -> Story:
    return Story(
        id=row["id"],
        label=row["label"],
        first_seen=from_iso(row["first_seen"]),
        last_seen=from_iso(row["last_seen"]),
        size=row["size"],
    )
