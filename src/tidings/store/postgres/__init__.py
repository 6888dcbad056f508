"""PostgreSQL store (the server backend): a psycopg 3 connection pool, pgvector HNSW for
vectors, tsvector + GIN for keywords. One module per entity, as in the SQLite store:
articles (with copies, embeddings, dedupe buckets and the keyword index), stories, sources,
readers, tokens, reader-app sync; reads may go to streaming replicas (`replicas`). psycopg is
imported only when a PostgreSQL URL is opened."""

from __future__ import annotations

from collections.abc import Sequence

from ..base import Store
from .articles import ArticleQueries
from .db import Connections
from .readers import ReaderQueries
from .rows import RowQueries
from .sources import SourceQueries
from .stories import StoryQueries
from .sync import SyncQueries
from .tokens import TokenQueries

__all__ = ["PostgresStore"]


class PostgresStore(
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
    """Many processes, one database: every write is one transaction ordered by the generation
    row; vector, keyword and hybrid searches run in the database, so a process never holds
    an index of its own that could fall behind the others' writes."""

    searches_vectors = True

    def __init__(
        self,
        url: str,
        vector_expansion: int = 100,
        pool_size: int = 8,
        read_urls: Sequence[str] = (),
    ):
        self.vector_expansion = vector_expansion
        super().__init__(url, max_size=pool_size, read_urls=read_urls)
