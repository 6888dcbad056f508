"""Storage backends: the database is the source of truth; indexes are derived from it."""

from __future__ import annotations

from pathlib import Path

from .base import (
    Neighbour,
    Outline,
    Store,
    StoreError,
    StoryState,
    StreamItem,
    StreamQuery,
    Transaction,
)
from .sqlite import SQLiteStore

__all__ = [
    "Neighbour",
    "Outline",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoryState",
    "StreamItem",
    "StreamQuery",
    "Transaction",
    "open_store",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(database_url: str, data_dir: Path, read_urls: str = "") -> Store:
    """The store named by settings: empty or sqlite:///path → SQLite; postgresql://… →
    PostgreSQL (psycopg is imported only then), its reads spread over `read_urls` (comma-
    separated streaming replicas)."""
    if read_urls.strip() and not database_url.startswith(POSTGRES_SCHEMES):
        # one SQLite file has no replicas to read from; its readers already run concurrently
        # with the writer (WAL mode)
        raise ValueError(
            "TIDINGS_DATABASE_READ_URLS names PostgreSQL read replicas, but the database "
            f"is SQLite ({database_url or 'DATA_DIR/tidings.db'}); unset it, or set "
            "TIDINGS_DATABASE_URL to the PostgreSQL primary"
        )
    if not database_url:
        return SQLiteStore(data_dir / "tidings.db")
    if database_url.startswith("sqlite:///"):
        return SQLiteStore(Path(database_url.removeprefix("sqlite:///")))
    if database_url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore
        from .postgres.replicas import split_urls

        replicas = split_urls(read_urls)
        for url in replicas:
            if not url.startswith(POSTGRES_SCHEMES):
                raise ValueError(f"a read replica URL must be postgresql://…, not {url!r}")
        try:
            return PostgresStore(database_url, read_urls=replicas)
        except ImportError as exc:  # the base install: say which extra to add
            raise StoreError(str(exc)) from exc
    raise ValueError(f"unsupported database URL {database_url!r}")
