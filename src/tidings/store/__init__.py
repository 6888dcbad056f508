"""Storage backends: the database is the source of truth; indexes are derived from it."""

from __future__ import annotations

from pathlib import Path

from .base import Store, StoreError, StoryState, StreamItem, StreamQuery, Transaction
from .sqlite import SQLiteStore

__all__ = [
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


def open_store(database_url: str, data_dir: Path) -> Store:
    """The store named by settings: empty or sqlite:///path → SQLite; postgresql://… →
    PostgreSQL (psycopg is imported only then)."""
    if not database_url:
        return SQLiteStore(data_dir / "tidings.db")
    if database_url.startswith("sqlite:///"):
        return SQLiteStore(Path(database_url.removeprefix("sqlite:///")))
    if database_url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        try:
            return PostgresStore(database_url)
        except ImportError as exc:  # the base install: say which extra to add
            raise StoreError(str(exc)) from exc
    raise ValueError(f"unsupported database URL {database_url!r}")
