"""SQLite store (the embedded default): one writer connection, per-thread readers, WAL mode.
One module per entity: articles (with copies, embeddings, dedupe buckets and keyword index),
stories, sources (with subscriptions and feed entries), readers, API tokens, reader-app sync."""

from __future__ import annotations

from ..base import Store
from .articles import ArticleQueries
from .db import Connections, blob_to_vector, from_iso, to_iso, vector_to_blob
from .readers import ReaderQueries
from .rows import RowQueries
from .sources import SourceQueries
from .stories import StoryQueries
from .sync import SyncQueries
from .tokens import TokenQueries

__all__ = ["SQLiteStore", "blob_to_vector", "from_iso", "to_iso", "vector_to_blob"]


class SQLiteStore(
    Connections,
    ArticleQueries,
    StoryQueries,
    SourceQueries,
    ReaderQueries,
    TokenQueries,
    SyncQueries,
    RowQueries,
    Store,
):
    """The database is the source of truth: articles, embeddings, stories, dedupe buckets and
    the keyword index all change together inside one transaction."""
