"""Vector search the database answers itself (pgvector on PostgreSQL): the same face as
VectorKeeper, with nothing of its own to open, catch up or save. Every process reads the
one index the database keeps, so another process's writes are searchable once committed."""

from __future__ import annotations

import logging

import numpy as np

from ..store.base import Neighbour

log = logging.getLogger(__name__)


class DatabaseVectors:
    """VectorKeeper's interface over a store with `searches_vectors`."""

    def __init__(self, store, expansion: int = 256):
        self.store = store
        self.expansion = expansion
        self._counted: tuple[int, int] | None = None  # (generation, vectors) last counted
        self._dim = 0  # the model's dimension, once a model has stored vectors

    @property
    def index(self) -> DatabaseVectors | None:
        """Itself once a model has stored vectors (None before, as VectorKeeper answers).
        Once known it is remembered (until `reset`): a search then costs one round trip
        less."""
        if not self._dim:
            self._dim = int(self.store.get_meta("dim") or 0)
        return self if self._dim else None

    @property
    def generation(self) -> int:
        return self.store.generation()  # the database's index is always level with it

    def sync(self, tx=None) -> None:
        """Nothing to catch up: the index is the database's."""

    def committed(self, tx, added, removed) -> None:
        """The transaction wrote its vectors into the database's index already."""

    def save_now_and_then(self) -> None: ...

    def save(self) -> None: ...

    def reset(self) -> None:
        self._dim = 0
        self._counted = None

    def rebuild(self) -> int:
        return self.store.rebuild_vector_index()

    def search(
        self, vector: np.ndarray, limit: int, expansion: int | None = None
    ) -> list[tuple[int, float]]:
        return self.store.vector_search(vector, limit, expansion or self.expansion)

    def hybrid(self, query: str, vector: np.ndarray, depth: int, limit: int):
        """Keyword and vector rankings fused in the database, in one statement."""
        return self.store.hybrid_search(query, vector, depth, limit, self.expansion)

    def warm(self) -> None:
        """The database holds the index: each server reads it into its shared_buffers
        where the pg_prewarm extension is installed and it fits. Said once, at start: a
        graph larger than a server's shared_buffers makes each walk copy most of the pages
        it reads (about 7,000 at `ef_search` 256 and 1M articles) in from the OS."""
        for cache in self.store.warm_vector_index():
            if cache.error is not None:
                log.warning("could not check the HNSW index on %s: %s", cache.server, cache.error)
            elif cache.graph > cache.buffers:
                log.warning(
                    "the HNSW index (%d MiB) is larger than shared_buffers (%d MiB) on %s: "
                    "related lists and vector searches read most of its pages from outside "
                    "the server's cache; set shared_buffers above the index's size and "
                    "restart the server",
                    cache.graph >> 20, cache.buffers >> 20, cache.server,
                )
            elif cache.prewarmed is not None:
                log.info("read the HNSW index into shared_buffers on %s (%d blocks)",
                         cache.server, cache.prewarmed)

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        return self.store.embeddings(ids)

    def neighbours(self, article_id: int, limit: int) -> list[Neighbour] | None:
        """As VectorKeeper.neighbours, in one statement."""
        if self.index is None:
            return None
        return self.store.neighbours(article_id, limit, self._dim, self.expansion)

    def keys(self) -> np.ndarray:
        return self.store.vector_ids()

    def loaded_size(self) -> int:
        return len(self)

    def __len__(self) -> int:
        """Counted again only after a commit (counting is a pass over the table; an article
        page asks for it on every view)."""
        generation = self.store.generation()
        if self._counted is None or self._counted[0] != generation:
            self._counted = (generation, self.store.vector_count())
        return self._counted[1]
