"""Vector index: usearch HNSW in a file beside the database, rebuilt or repaired from it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class UsearchIndex:
    """Cosine HNSW over article ids. The file is a cache of the database's embeddings table:
    `sync()` adds what the database has and the file lacks (a crash between the database
    commit and the index save) and drops what the database no longer has."""

    def __init__(self, path: str | Path, dim: int, dtype: str = "f32"):
        from usearch.index import Index

        self.path = Path(path)
        self.dim = dim
        self.dtype = dtype
        self._index = None
        if self.path.exists():
            try:
                index = Index.restore(str(self.path), view=False)
            except Exception as exc:  # a torn or foreign file: rebuild from the database
                log.warning("vector index %s unreadable (%s); it will be rebuilt", self.path, exc)
                index = None
            if index is not None and index.ndim == dim:
                self._index = index
            elif index is not None:
                log.warning(
                    "vector index %s has dimension %d, want %d; rebuilding",
                    self.path,
                    index.ndim,
                    dim,
                )
        if self._index is None:
            self._index = self._new()
        self.dirty = False

    def _new(self):
        from usearch.index import Index

        return Index(
            ndim=self.dim,
            metric="cos",
            dtype=self.dtype,
            connectivity=16,
            expansion_add=128,
            expansion_search=64,
        )

    def __len__(self) -> int:
        return len(self._index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.asarray(ids, dtype=np.uint64)
        present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
        if present.any():
            self._index.remove(ids[present])
        self._index.add(ids, np.asarray(vectors, dtype=np.float32))
        self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), dtype=np.uint64)
        if len(ids):
            self._index.remove(ids)
            self.dirty = True

    def search(self, vector: np.ndarray, limit: int) -> list[tuple[int, float]]:
        if len(self._index) == 0 or limit <= 0:
            return []
        matches = self._index.search(np.asarray(vector, dtype=np.float32), min(limit, len(self)))
        return [
            (int(key), 1.0 - float(dist))
            for key, dist in zip(matches.keys, matches.distances, strict=True)
        ]

    def keys(self) -> np.ndarray:
        return np.fromiter((int(k) for k in self._index.keys), dtype=np.uint64)

    def save(self) -> None:
        """Write atomically: a crash mid-save leaves the previous file, never a torn one."""
        if not self.dirty:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        self._index.save(str(tmp))
        os.replace(tmp, self.path)
        self.dirty = False

    def sync(self, store) -> dict[str, int]:
        """Bring the index level with the store; return how many vectors were added/removed."""
        wanted = store.original_embedding_ids()
        have = self.keys()
        extra = np.setdiff1d(have, wanted, assume_unique=True)
        missing = set(np.setdiff1d(wanted, have, assume_unique=True).tolist())
        if len(extra):
            self.remove(extra.tolist())
        added = 0
        if missing:
            for ids, vectors in store.iter_original_embeddings():
                mask = np.array([int(i) in missing for i in ids], dtype=bool)
                if mask.any():
                    self.add(ids[mask], vectors[mask])
                    added += int(mask.sum())
        if added or len(extra):
            log.info("vector index repaired: %d added, %d removed", added, len(extra))
            self.save()
        return {"added": added, "removed": int(len(extra))}

    def rebuild(self, store) -> int:
        self._index = self._new()
        count = 0
        for ids, vectors in store.iter_original_embeddings():
            self._index.add(ids, vectors)
            count += len(ids)
        self.dirty = True
        self.save()
        return count
