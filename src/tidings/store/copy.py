"""Moving an archive between databases (SQLite ⇄ PostgreSQL): every table streamed in key
order, one destination transaction per batch, resumable, then counts and checksums compared.

Derived state is not copied but rebuilt at the destination: the keyword index (FTS5 or
tsvector), the HNSW index (PostgreSQL) and the usearch file (SQLite, built on first open).
Ids, generations and every stored value are kept, so the copy is the same archive.
The source must not be written meanwhile (stop `serve` and `poll` first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .base import Store, StoreError

IN_PROGRESS = "copy_in_progress"  # meta key at the destination while a copy is unfinished


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    dates: tuple[str, ...] = ()  # stored as ISO text (SQLite) or timestamptz (PostgreSQL)
    vectors: tuple[str, ...] = ()  # float32 vectors: BLOB (SQLite) or pgvector
    flags: tuple[str, ...] = ()  # 0/1 (SQLite) or boolean (PostgreSQL)

    @property
    def text_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.key if k in _TEXT_KEYS)


_TEXT_KEYS = {"key", "token_hash", "mark", "hour"}
_ARTICLE = (
    "id", "url", "canonical_url", "url_key", "source", "source_id", "title", "author",
    "published", "modified", "fetched", "language", "site_name", "image", "content_hash",
    "duplicate_of", "story_id", "created_at", "partial", "excerpt", "text",
)

# in an order where what a row points at usually comes first (checks are off meanwhile)
TABLES: tuple[Table, ...] = (
    Table("sources", ("id",), ("id", "url", "title", "kind", "site_url", "etag",
                               "last_modified", "checked_at", "last_error", "created_at",
                               "subscribed", "category", "icon_url", "enabled", "next_check",
                               "check_interval", "last_status", "error_count",
                               "failing_since"), flags=("subscribed", "enabled")),
    Table("stories", ("id",), ("id", "label", "first_seen", "last_seen", "size", "centroid",
                               "names", "gen", "label_time", "merged_into", "created_at"),
          dates=("first_seen", "last_seen", "label_time", "created_at")),
    Table("articles", ("id",), _ARTICLE,
          dates=("published", "modified", "fetched", "created_at"), flags=("partial",)),
    Table("embeddings", ("article_id",), ("article_id", "vector", "gen"), vectors=("vector",)),
    Table("removed_vectors", ("article_id",), ("article_id", "gen")),
    Table("minhash_buckets", ("bucket", "article_id"), ("bucket", "article_id")),
    Table("accounts", ("id",), ("id", "name", "password_hash", "role", "created_at"),
          dates=("created_at",)),
    Table("sessions", ("token_hash",),
          ("token_hash", "account_id", "csrf", "created_at", "expires_at"),
          dates=("created_at", "expires_at")),
    Table("reader_marks", ("account_id", "mark", "article_id"),
          ("account_id", "article_id", "mark", "marked_at"), dates=("marked_at",)),
    Table("visits", ("article_id", "hour"), ("article_id", "hour", "count")),
    Table("visit_totals", ("article_id",), ("article_id", "count")),
    Table("comments", ("id",), ("id", "article_id", "parent_id", "account_id", "author",
                                "body", "status", "commenter", "created_at"),
          dates=("created_at",)),
    Table("feed_entries", ("id",), ("id", "source_id", "guid", "url", "article_id", "partial",
                                     "attempts", "retry_at", "last_error", "created_at"),
          flags=("partial",)),
    Table("api_tokens", ("id",), ("id", "name", "digest", "created_at")),
    Table("api_passwords", ("account_id",),
          ("account_id", "password_hash", "fever_key", "created_at"), dates=("created_at",)),
    Table("followed_stories", ("account_id", "story_id"),
          ("account_id", "story_id", "created_at"), dates=("created_at",)),
    Table("saved_searches", ("id",), ("id", "account_id", "name", "query", "mode", "filters",
                                      "webhook_url", "webhook_secret", "checked_id",
                                      "created_at"), dates=("created_at",)),
    Table("saved_search_matches", ("search_id", "article_id"),
          ("search_id", "article_id", "score", "matched_at"), dates=("matched_at",)),
    Table("meta", ("key",), ("key", "value")),  # last: the generation is the source's
)

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the source)


def normal(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as both backends read it: dates as UTC datetimes, vectors as float32 bytes."""
    out = dict(row)
    for column in table.dates:
        value = out.get(column)
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        out[column] = value
    for column in table.vectors:
        value = out.get(column)
        if value is not None and not isinstance(value, bytes):
            value = np.asarray(value, dtype=np.float32).tobytes()
        out[column] = value
    for column in table.flags:
        if out.get(column) is not None:
            out[column] = bool(out[column])
    if "centroid" in out and out["centroid"] is not None:
        out["centroid"] = bytes(out["centroid"])
    return out


def _digest_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value


def table_digest(store: Store, table: Table, batch: int = 5000) -> tuple[int, str]:
    """(rows, sha256 over the normalised rows in key order) of one table."""
    digest = hashlib.sha256()
    count = 0
    for rows in _batches(store, table, None, batch):
        for row in rows:
            values = [_digest_value(row[c]) for c in table.columns]
            digest.update(json.dumps(values, ensure_ascii=False, default=str).encode())
            digest.update(b"\n")
            count += 1
    return count, digest.hexdigest()


def _batches(store: Store, table: Table, after: tuple | None, batch: int):
    while True:
        rows = [normal(table, r) for r in store.table_rows(table, after, batch)]
        if not rows:
            return
        yield rows
        after = tuple(rows[-1][k] for k in table.key)


def copy_database(
    source: Store, target: Store, batch: int = 2000, progress: Progress | None = None,
    verify: bool = True,
) -> dict[str, dict[str, Any]]:
    """Copy every table from `source` into `target` (empty, or holding an unfinished copy
    from the same source: it goes on after the last row it holds). Returns per table the
    rows copied now and, with `verify`, the counts and checksums of both sides."""
    label = source.describe()
    resuming = target.get_meta(IN_PROGRESS)
    if resuming is None:
        if target.table_rows(TABLES[2], None, 1) or target.table_rows(TABLES[1], None, 1):
            raise StoreError("the destination database is not empty; copy into a new one")
    elif resuming != label:
        raise StoreError(f"the destination holds an unfinished copy of {resuming}, not {label}")
    with target.transaction() as tx:
        target.set_meta(tx, IN_PROGRESS, label)
    target.begin_bulk_load()
    report: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        total = source.table_count(table)
        done = target.table_count(table)
        last = target.last_key(table) if table.name != "meta" else None
        copied = 0
        if progress:
            progress(table.name, done, total)
        for rows in _batches(source, table, last, batch):
            if table.name == "meta":
                rows = [r for r in rows if r["key"] != IN_PROGRESS]
            with target.transaction() as tx:
                target.load_rows(tx, table, rows)
                if table.name == "meta":  # the source's generation, not one bumped here
                    generation = next((r["value"] for r in rows if r["key"] == "generation"),
                                      None)
                    if generation is not None:
                        target.set_meta(tx, "generation", generation)
            copied += len(rows)
            if progress:
                progress(table.name, min(done + copied, total), total)
        report[table.name] = {"copied": copied}
    target.end_bulk_load()
    with target.transaction() as tx:
        target.delete_meta(tx, IN_PROGRESS)
        generation = source.get_meta("generation")
        if generation is not None:
            target.set_meta(tx, "generation", generation)
    if verify:
        mismatched = []
        for table in TABLES:
            theirs, mine = table_digest(source, table), table_digest(target, table)
            report[table.name].update(source=theirs, target=mine)
            if theirs != mine:
                mismatched.append(table.name)
        if mismatched:
            raise StoreError(f"the copy differs from the source in: {', '.join(mismatched)}")
    return report
