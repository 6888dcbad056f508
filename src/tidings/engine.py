"""The library facade. CLI, API and web call only this; it opens the store, the derived
indexes and the model, composes the services that do the work and closes them. Its methods
delegate: no pipeline, ranking or SQL logic lives here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .dedupe import Deduper
from .embed import Embedder
from .embed.binding import ModelBinding, ModelMismatchError
from .index import open_vector_index
from .listing import Listing
from .models import Article, Hit, IngestResult, Page, Story
from .pipeline import Ingestor, embed_text, extract_page, iter_inputs, make_fetcher
from .pipeline.inputs import Progress
from .readers import Readers
from .readers.searches import SavedSearches
from .related import Related
from .search import SEARCH_MODES, Searcher
from .settings import Settings
from .sources.poller import Poller, PollingThread, PollReport
from .sources.subscriptions import Subscriptions
from .store import Store, open_store
from .stories import NEIGHBOURS, StoryClusterer
from .streams import Streams

log = logging.getLogger(__name__)

__all__ = ["SEARCH_MODES", "Engine", "ModelMismatchError", "embed_text", "make_fetcher"]

INDEX_FILE = "vectors.usearch"


class Engine:
    """One Tidings database with its indexes and model.

    The model is loaded on first need (ingest, semantic search); opening the engine and
    reading stories or related articles does not load it. The vector index is opened on
    first need too, and caught up with the database by reading only what changed since its
    file was saved.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        check_model: bool = True,
    ):
        self.settings = s = settings or Settings.load()
        self.data_dir = s.data_path
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_store(s.database_url, self.data_dir, s.database_read_urls)
        self._lock = threading.RLock()
        self.model = ModelBinding(self.store, s, embedder)
        self.vectors = open_vector_index(
            self.store, self.data_dir / INDEX_FILE, s.index_dtype, s.index_expansion
        )
        self.clusterer = StoryClusterer(
            self.store,
            s.story_threshold,
            s.story_window_days,
            s.story_name_weight,
            candidates=self._story_candidates,
            merge_threshold=s.story_merge_threshold,
            short_text_margin=s.story_short_text_margin,
        )
        self.deduper = Deduper(self.store, s.near_duplicate_threshold)
        self.ingestor = Ingestor(
            self.store, self.model, self.vectors, self.clusterer, self.deduper, self._lock,
            s.fetch_max_bytes,
        )
        self.searcher = Searcher(self.store, self.vectors, self.model, s.search_limit)
        self.related_finder = Related(self.store, self.vectors, s.related_limit)
        # people and their state; what the reader site lists
        self.readers = Readers(self.store, s)
        self.listing = Listing(
            self.store, self.search, self.readers.visits, s.excerpt_sources,
            related=self.related, index_size=self.vectors.loaded_size,
        )
        self.subscriptions = Subscriptions(self.store, lambda: make_fetcher(s))
        self.streams = Streams(self.store)  # what reader apps and feeds out page through
        self.saved_searches = SavedSearches(
            self.store, self.search, self._saved_search_vector,
            lambda: make_fetcher(s, max_retries=0), s,
        )
        self._poller: Poller | None = None
        if check_model:
            self.model.check()

    def _story_candidates(self, vector: np.ndarray, tx) -> set[int]:
        # a story only needs one of its members among the neighbours: a shallow search will do
        ids = [i for i, _ in self.vectors.search(vector, NEIGHBOURS, expansion=NEIGHBOURS)]
        return self.store.story_ids(ids, tx)

    # -- model and indexes -------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        return self.model.embedder

    @property
    def index(self):
        """The vector index, or None before the first embedding was stored."""
        return self.vectors.index

    def reindex(self) -> dict[str, int]:
        """Rebuild every derived index from the database."""
        with self._lock:
            keyword = self.store.rebuild_keyword_index()
            return {"vectors": self.vectors.rebuild(), "keyword": keyword}

    def reembed(self, progress: Progress | None = None) -> int:
        """Re-embed every original with the configured model (after changing models).

        The model runs outside the write lock, over the committed articles; one transaction
        then stores every new vector, re-embeds the few originals other processes added in
        the meantime, and starts a new vector epoch: any process still holding vectors of
        the old model rebuilds its index instead of writing them back."""
        with self._lock:
            embedder = self.model.unchecked()
            vectors: dict[int, np.ndarray] = {}
            members: dict[int, int | None] = {}  # article id -> story id
            chunk: list[Article] = []
            for article in self.store.iter_articles():
                if article.duplicate_of is None:
                    chunk.append(article)
                if len(chunk) >= 256:
                    self._reembed_chunk(embedder, chunk, vectors, members, progress)
                    chunk = []
            if chunk:
                self._reembed_chunk(embedder, chunk, vectors, members, progress)
            with self.store.transaction() as tx:
                late = [
                    a for a in self.store.articles(
                        [int(i) for i in self.store.vector_ids(tx) if int(i) not in vectors], tx
                    ).values()
                    if a.duplicate_of is None
                ]
                self._reembed_chunk(embedder, late, vectors, members, None)
                live = set(self.store.vector_ids(tx).tolist())
                self.store.replace_embeddings(
                    tx, ((i, v) for i, v in vectors.items() if i in live)
                )
                self._recentre_stories(tx, members, vectors, live)
                self.model.record(tx, embedder, new_epoch=True)
            self.model.replace(embedder)
            self.vectors.reset()
            (self.data_dir / INDEX_FILE).unlink(missing_ok=True)
            self.vectors.rebuild()
            return len(live)

    def _recentre_stories(self, tx, members, vectors, live) -> None:
        """Story centroids are sums of their members' vectors: recompute them in the new
        model's space (its dimension may differ)."""
        sums: dict[int, np.ndarray] = {}
        for article_id, story_id in members.items():
            if story_id is not None and article_id in live:
                vector = vectors[article_id]
                sums[story_id] = sums.get(story_id, 0) + vector
        for state in self.store.story_states(tx):
            if state.id in sums:
                state.centroid = np.asarray(sums[state.id], dtype=np.float32)
                self.store.save_story(tx, state)
        self.clusterer.invalidate()

    def _reembed_chunk(self, embedder, chunk, vectors, members, progress) -> None:
        if not chunk:
            return
        embedded = embedder.embed_documents([embed_text(a) for a in chunk])
        vectors.update(zip([a.id for a in chunk], embedded, strict=True))
        members.update((a.id, a.story_id) for a in chunk)
        if progress:
            progress("reembedded", str(len(vectors)))

    # -- ingest ------------------------------------------------------------------------

    def ingest(
        self, inputs: Iterable[str], progress: Progress | None = None, batch_size: int = 32
    ) -> IngestResult:
        """Ingest paths (HTML, .html.gz, directories, JSONL) and URLs (pages or feeds).

        Idempotent: an URL already stored is counted as unchanged. A failing item is
        reported in the result and never stops the others.
        """
        result = IngestResult()
        items = iter_inputs(list(inputs), self.settings, self.store, result, progress)
        return self._matched(self.ingestor.ingest_items(items, progress, batch_size, result))

    def ingest_items(
        self,
        items: Iterable[Page | Article],
        progress: Progress | None = None,
        batch_size: int = 32,
        result: IngestResult | None = None,
    ) -> IngestResult:
        """Ingest Pages (extracted here) and ready Articles; each batch is one transaction."""
        return self._matched(self.ingestor.ingest_items(items, progress, batch_size, result))

    def _matched(self, result: IngestResult) -> IngestResult:
        """Saved searches look at what was just stored (a failure there never fails the
        ingest: the next one catches up)."""
        if result.new or result.duplicate:
            try:
                self.saved_searches.catch_up()
            except Exception:
                log.exception("saved searches could not catch up")
        return result

    def _saved_search_vector(self, query: str) -> np.ndarray | None:
        if not self.store.vector_count():
            return None
        return self.searcher.query_vector(query)

    ingest_articles = ingest_items

    def extract(self, target: str) -> Article:
        """Extract one page from a URL (through the polite fetcher) or a local file; nothing
        is stored. Raises ValueError (or a FetchError / Unreadable) with the reason."""
        from .sources.files import Failure, iter_local

        if target.startswith(("http://", "https://")):
            with make_fetcher(self.settings) as fetcher:
                fetched = fetcher.fetch(target)
            page = fetched.page
            if page is None:
                raise ValueError(f"{target}: nothing to extract (not modified)")
        else:
            items = list(iter_local([target], max_bytes=self.settings.fetch_max_bytes))
            if not items:
                raise ValueError(f"{target}: no HTML page there")
            if isinstance(items[0], Failure):
                raise ValueError(f"{items[0].item}: {items[0].reason}")
            page = items[0]
        if isinstance(page, Article):
            raise ValueError(f"{target}: not an HTML page")
        return extract_page(page, self.settings.fetch_max_bytes)

    # -- polling -----------------------------------------------------------------------

    def poller(self) -> Poller:
        """The feed poller over this engine's pipeline (one per engine, closed with it).
        Feed checks retry once at most: the poller's own backoff takes over after that."""
        with self._lock:
            if self._poller is None:
                self._poller = Poller(
                    self.store,
                    self.settings,
                    ingest=lambda items, result: self._matched(
                        self.ingestor.ingest_items(items, result=result)
                    ),
                    upgrade=self.ingestor.upgrade,
                    fetcher=lambda: make_fetcher(self.settings, max_retries=1, max_retry_wait=5.0),
                )
            return self._poller

    def poll(self, progress: Progress | None = None, all_feeds: bool = False) -> PollReport:
        """One poll cycle: every due subscribed feed (every enabled one with all_feeds)."""
        return self.poller().poll_once(progress, all_feeds)

    def start_polling(self) -> PollingThread:
        """Poll in a background thread until its stop() (reads never wait for it: the write
        lock is only held while a batch commits)."""
        return self.poller().start()

    # -- queries -----------------------------------------------------------------------

    def search(self, query: str, mode: str = "hybrid", limit: int | None = None) -> list[Hit]:
        """Keyword (BM25), semantic (embedding) or hybrid (reciprocal-rank fusion of both)."""
        return self.searcher.search(query, mode, limit)

    def related(self, article_id: int, limit: int | None = None) -> list[Hit]:
        """Nearest articles by meaning; never the article itself or its copies."""
        return self.related_finder.related(article_id, limit)

    def article(self, article_id: int) -> tuple[Article, list[Article]] | None:
        """An article (its original when given a copy's id) and its stored copies."""
        if not self.store.articles([article_id], text=False):  # exists? no text needed
            return None
        original = self.store.article(self.store.root_of(article_id))
        return original, self.store.copies([original.id]).get(original.id, [])

    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        return self.store.latest(limit, offset)

    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[Story]:
        return self.store.stories(limit, offset, min_size)

    def story(self, story_id: int) -> Story | None:
        story = self.store.story(story_id)
        if story is not None:
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
        counts["vectors_indexed"] = len(self.vectors)
        return counts

    def warm(self) -> None:
        """Load what the first requests would otherwise wait for: the vector index (caught
        up with the database) and the embedding model. A server calls it before it answers;
        a model that cannot be loaded is logged, and searches report it when asked."""
        self.vectors.warm()
        try:
            self.model.embedder.embed_query("warm up")
        except Exception as exc:  # noqa: BLE001 - reading pages needs no model
            log.warning("the embedding model is not ready: %s", exc)

    def close(self) -> None:
        if self._poller is not None:
            self._poller.close()
        self.readers.close()  # buffered visits are written first
        self.searcher.close()  # its helper threads' database readers go with them
        with self._lock:
            self.vectors.save()
            self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
