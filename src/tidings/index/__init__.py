"""Derived search indexes: vectors (usearch HNSW beside SQLite, or the database's own:
pgvector), keywords (FTS5 / tsvector in the store), hybrid fusion."""

from __future__ import annotations

from pathlib import Path

from .database import DatabaseVectors
from .hybrid import reciprocal_rank_fusion
from .keeper import VectorKeeper
from .vectors import UsearchIndex

__all__ = [
    "DatabaseVectors",
    "UsearchIndex",
    "VectorKeeper",
    "open_vector_index",
    "reciprocal_rank_fusion",
]


def open_vector_index(store, path: Path, dtype: str, expansion: int):
    """The vector index of a store: the database's own when it searches vectors (pgvector),
    else a usearch file beside it kept level by generation."""
    if store.searches_vectors:
        return DatabaseVectors(store, expansion)
    return VectorKeeper(store, path, dtype, expansion)
