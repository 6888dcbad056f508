"""Derived search indexes: vectors (usearch HNSW), keywords (FTS5 in the store), hybrid fusion."""

from .hybrid import reciprocal_rank_fusion
from .keeper import VectorKeeper
from .vectors import UsearchIndex

__all__ = ["UsearchIndex", "VectorKeeper", "reciprocal_rank_fusion"]
