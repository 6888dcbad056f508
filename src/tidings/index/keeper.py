"""Keeps the derived vector index level with the database, for one Engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ..store.base import Neighbour
from .vectors import UsearchIndex

# seconds between index file writes during ingest: a save rewrites the whole file (about
# 1 GB at a million articles), and catching up from an older file reads only what changed
SAVE_INTERVAL = 300.0


class VectorKeeper:
    """Owns the usearch index of one database: opens it when the first vector exists, catches
    it up with other processes' writes (by generation), applies this process's own writes
    after they commit, and saves it now and then (the database holds every vector, so a
    file a little behind after a crash is caught up on the next open)."""

    def __init__(self, store, path: Path, dtype: str, expansion: int = 256):
        self.store = store
        self.path = path
        self.dtype = dtype
        self.expansion = expansion
        self._index: UsearchIndex | None = None
        self._lock = threading.RLock()
        self._saved = time.monotonic()

    @property
    def index(self) -> UsearchIndex | None:
        """The vector index, or None before the first embedding was stored. Opened on first
        use (reading stories or articles never loads it) and caught up with the database
        then."""
        with self._lock:
            if self._index is None:
                dim = self.store.get_meta("dim")
                if dim is None:
                    return None
                self._index = UsearchIndex(self.path, int(dim), self.dtype, self.expansion)
                self._index.sync(self.store)
            return self._index

    def sync(self, tx=None) -> None:
        """Catch up with the database (inside `tx`, with the state before it)."""
        with self._lock:
            index = self.index
            if index is not None:
                index.sync(self.store, tx)

    def warm(self) -> None:
        """Open the index, caught up, and hold it in memory (a server, before it answers)."""
        with self._lock:
            index = self.index
            if index is not None:
                index.sync(self.store)
                index.load_into_memory()

    def committed(self, tx, added: list[tuple[int, np.ndarray]], removed: list[int]) -> None:
        """This process's transaction committed: apply its own vector changes."""
        with self._lock:
            index = self.index
            if index is None:
                return
            if index.generation != tx.previous:  # not level before it: catch up fully
                index.sync(self.store)
                return
            index.remove(removed)
            if added:
                index.add(
                    np.array([i for i, _ in added], dtype=np.uint64),
                    np.vstack([v for _, v in added]),
                )
            index.generation = tx.generation
            index.dirty = True

    def save_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._saved >= SAVE_INTERVAL:
            self.save()

    def save(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.save()
            self._saved = time.monotonic()

    def rebuild(self) -> int:
        with self._lock:
            if self._index is None:  # open without catching up: it is rebuilt anyway
                dim = self.store.get_meta("dim")
                if dim is None:
                    return 0
                self._index = UsearchIndex(self.path, int(dim), self.dtype, self.expansion)
            return self._index.rebuild(self.store)

    def reset(self) -> None:
        """Forget the index (the model changed); the next use opens or rebuilds it."""
        with self._lock:
            self._index = None

    def search(
        self, vector: np.ndarray, limit: int, expansion: int | None = None
    ) -> list[tuple[int, float]]:
        index = self.index
        return index.search(vector, limit, expansion) if index is not None else []

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        index = self.index
        return index.vectors(ids) if index is not None else {}

    def neighbours(self, article_id: int, limit: int) -> list[Neighbour] | None:
        """The `limit` nearest articles to a stored one (itself excluded) with their outlines
        and vectors; None when it has no vector. The vector is the index's own (the stored
        embedding if the index lacks it); outlines come from one covering-index read."""
        index = self.index
        if index is None:
            return None
        vector = index.vectors([article_id]).get(article_id)
        if vector is None:  # not in the index (yet): the stored embedding
            vector = self.store.embeddings([article_id]).get(article_id)
        if vector is None:
            return None
        found = [(i, s) for i, s in index.search(vector, limit + 1) if i != article_id][:limit]
        outlines = self.store.sources_of([i for i, _ in found])
        vectors = index.vectors([i for i, _ in found if i in outlines])
        return [
            Neighbour(i, score, outlines[i], vectors.get(i)) for i, score in found if i in outlines
        ]

    def loaded_size(self) -> int:
        """Vectors in the index as this process last saw it (no catching up: cheap enough
        to check on every request)."""
        index = self._index
        return len(index) if index is not None else 0

    def __len__(self) -> int:
        self.sync()
        index = self.index
        return len(index) if index is not None else 0
