"""SQLite store (the embedded default): one writer connection, per-thread readers, WAL mode."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..models import Article
from . import migrations

ARTICLE_COLUMNS = (
    "id",
    "url",
    "canonical_url",
    "source",
    "title",
    "author",
    "published",
    "modified",
    "fetched",
    "language",
    "text",
    "excerpt",
    "site_name",
    "image",
    "content_hash",
    "duplicate_of",
    "story_id",
)
_DATE_FIELDS = ("published", "modified", "fetched")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def row_to_article(row: sqlite3.Row) -> Article:
    data = {key: row[key] for key in row.keys() if key in ARTICLE_COLUMNS}  # noqa: SIM118
    for key in _DATE_FIELDS:
        if key in data:
            data[key] = from_iso(data[key])
    return Article(**data)


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class SQLiteStore:
    """The database is the source of truth: articles, embeddings, stories, dedupe buckets and
    the keyword index all change together inside one transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        migrations.apply(self._writer)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    # -- connections -------------------------------------------------------------------

    @property
    def reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The single write path: BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def close(self) -> None:
        self._writer.close()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- meta --------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def generation(self) -> int:
        """Bumped by every write that changes search results; readers use it to notice
        another process's writes."""
        return int(self.get_meta("generation") or 0)

    def bump_generation(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- dedupe lookups ----------------------------------------------------------------

    def id_by_url(self, url: str) -> int | None:
        row = self.reader.execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def original_by_url_key(self, url_key: str) -> int | None:
        row = self.reader.execute(
            "SELECT coalesce(duplicate_of, id) FROM articles WHERE url_key = ? ORDER BY id LIMIT 1",
            (url_key,),
        ).fetchone()
        return row[0] if row else None

    def original_by_hash(self, digest: str) -> int | None:
        row = self.reader.execute(
            "SELECT coalesce(duplicate_of, id) FROM articles WHERE content_hash = ? "
            "ORDER BY id LIMIT 1",
            (digest,),
        ).fetchone()
        return row[0] if row else None

    def bucket_candidates(self, buckets: Sequence[int]) -> list[int]:
        if not buckets:
            return []
        marks = ",".join("?" * len(buckets))
        rows = self.reader.execute(
            f"SELECT article_id, count(*) AS shared FROM minhash_buckets WHERE bucket IN ({marks}) "
            "GROUP BY article_id ORDER BY shared DESC LIMIT 20",
            list(buckets),
        )
        return [row[0] for row in rows]

    def texts(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        rows = self.reader.execute(
            f"SELECT id, text FROM articles WHERE id IN ({marks})", list(ids)
        )
        return {row[0]: row[1] for row in rows}

    # -- writes ------------------------------------------------------------------------

    def insert_article(
        self,
        db: sqlite3.Connection,
        article: Article,
        url_key: str,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> int:
        values = {key: getattr(article, key) for key in ARTICLE_COLUMNS if key != "id"}
        for key in _DATE_FIELDS:
            values[key] = to_iso(values[key])
        values["url_key"] = url_key
        values["created_at"] = now_iso()
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        cursor = db.execute(
            f"INSERT INTO articles ({columns}) VALUES ({marks})", list(values.values())
        )
        article_id = int(cursor.lastrowid or 0)
        if article.duplicate_of is None:
            db.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                (article_id, article.title, article.text),
            )
            db.executemany(
                "INSERT OR IGNORE INTO minhash_buckets (bucket, article_id) VALUES (?, ?)",
                [(bucket, article_id) for bucket in buckets],
            )
        if vector is not None:
            db.execute(
                "INSERT INTO embeddings (article_id, vector) VALUES (?, ?)",
                (article_id, vector_to_blob(vector)),
            )
        return article_id

    def demote(self, db: sqlite3.Connection, old_id: int, new_id: int) -> None:
        """Make a stored original (and its copies) copies of `new_id`; the old one leaves
        the keyword index, the dedupe buckets and the embeddings."""
        db.execute(
            "UPDATE articles SET duplicate_of = ? WHERE id = ? OR duplicate_of = ?",
            (new_id, old_id, old_id),
        )
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", (old_id,))
        db.execute("DELETE FROM minhash_buckets WHERE article_id = ?", (old_id,))
        db.execute("DELETE FROM embeddings WHERE article_id = ?", (old_id,))

    def replace_embeddings(self, db: sqlite3.Connection, pairs: Iterable[tuple[int, np.ndarray]]):
        db.executemany(
            "INSERT INTO embeddings (article_id, vector) VALUES (?, ?) "
            "ON CONFLICT(article_id) DO UPDATE SET vector = excluded.vector",
            [(article_id, vector_to_blob(vector)) for article_id, vector in pairs],
        )

    def rebuild_keyword_index(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM articles_fts")
            db.execute(
                "INSERT INTO articles_fts (rowid, title, text) "
                "SELECT id, title, text FROM articles WHERE duplicate_of IS NULL"
            )
            self.bump_generation(db)

    # -- stories -----------------------------------------------------------------------

    def create_story(self, db: sqlite3.Connection, label: str, when: datetime) -> int:
        cursor = db.execute(
            "INSERT INTO stories (label, first_seen, last_seen, size, created_at) "
            "VALUES (?, ?, ?, 0, ?)",
            (label, to_iso(when), to_iso(when), now_iso()),
        )
        return int(cursor.lastrowid or 0)

    def save_story(
        self,
        db: sqlite3.Connection,
        story_id: int,
        label: str,
        first_seen: datetime,
        last_seen: datetime,
        size: int,
        centroid: np.ndarray,
        names: str | None = None,
    ) -> None:
        db.execute(
            "UPDATE stories SET label = ?, first_seen = ?, last_seen = ?, size = ?, "
            "centroid = ?, names = ? WHERE id = ?",
            (label, to_iso(first_seen), to_iso(last_seen), size, vector_to_blob(centroid),
             names, story_id),
        )

    def story_rows(self) -> list[sqlite3.Row]:
        return self.reader.execute(
            "SELECT id, label, first_seen, last_seen, size, centroid, names FROM stories "
            "WHERE centroid IS NOT NULL"
        ).fetchall()

    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[sqlite3.Row]:
        return self.reader.execute(
            "SELECT id, label, first_seen, last_seen, size FROM stories WHERE size >= ? "
            "ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",
            (min_size, limit, offset),
        ).fetchall()

    def story(self, story_id: int) -> sqlite3.Row | None:
        return self.reader.execute(
            "SELECT id, label, first_seen, last_seen, size FROM stories WHERE id = ?", (story_id,)
        ).fetchone()

    def story_articles(self, story_id: int) -> list[Article]:
        rows = self.reader.execute(
            "SELECT * FROM articles WHERE story_id = ? AND duplicate_of IS NULL "
            "ORDER BY coalesce(published, fetched, created_at), id",
            (story_id,),
        )
        return [row_to_article(row) for row in rows]

    # -- reads -------------------------------------------------------------------------

    def articles(self, ids: Sequence[int]) -> dict[int, Article]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.reader.execute(f"SELECT * FROM articles WHERE id IN ({marks})", list(ids))
        return {row["id"]: row_to_article(row) for row in rows}

    def article(self, article_id: int) -> Article | None:
        return self.articles([article_id]).get(article_id)

    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        rows = self.reader.execute(
            "SELECT * FROM articles WHERE duplicate_of IS NULL "
            "ORDER BY coalesce(published, fetched, created_at) DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [row_to_article(row) for row in rows]

    def copies(self, ids: Sequence[int]) -> dict[int, list[Article]]:
        """Stored duplicates of each given original."""
        out: dict[int, list[Article]] = {i: [] for i in ids}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        rows = self.reader.execute(
            f"SELECT * FROM articles WHERE duplicate_of IN ({marks}) ORDER BY id", list(ids)
        )
        for row in rows:
            out[row["duplicate_of"]].append(row_to_article(row))
        return out

    def iter_articles(self, batch: int = 1000) -> Iterator[Article]:
        last = 0
        while True:
            rows = self.reader.execute(
                "SELECT * FROM articles WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row_to_article(row)
            last = rows[-1]["id"]

    def embeddings(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.reader.execute(
            f"SELECT article_id, vector FROM embeddings WHERE article_id IN ({marks})", list(ids)
        )
        return {row[0]: blob_to_vector(row[1]) for row in rows}

    def original_embedding_ids(self) -> np.ndarray:
        rows = self.reader.execute(
            "SELECT e.article_id FROM embeddings e JOIN articles a ON a.id = e.article_id "
            "WHERE a.duplicate_of IS NULL ORDER BY e.article_id"
        ).fetchall()
        return np.array([row[0] for row in rows], dtype=np.uint64)

    def iter_original_embeddings(
        self, batch: int = 2000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = 0
        while True:
            rows = self.reader.execute(
                "SELECT e.article_id, e.vector FROM embeddings e JOIN articles a "
                "ON a.id = e.article_id WHERE a.duplicate_of IS NULL AND e.article_id > ? "
                "ORDER BY e.article_id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            ids = np.array([row[0] for row in rows], dtype=np.uint64)
            yield ids, np.vstack([blob_to_vector(row[1]) for row in rows])
            last = rows[-1][0]

    def keyword_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """FTS5 BM25 over originals; the query is reduced to plain terms (OR-ed) so user input
        can never be an FTS syntax error."""
        from .. import dedupe

        terms = [t for t in dedupe.words(query) if len(t) > 1 or t.isdigit()]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
        rows = self.reader.execute(
            "SELECT rowid, bm25(articles_fts, 3.0, 1.0) AS rank FROM articles_fts "
            "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        )
        return [(row[0], -row[1]) for row in rows]

    def counts(self) -> dict[str, Any]:
        row = self.reader.execute(
            "SELECT count(*) AS articles, "
            "sum(duplicate_of IS NULL) AS originals, "
            "sum(duplicate_of IS NOT NULL) AS duplicates FROM articles"
        ).fetchone()
        stories = self.reader.execute(
            "SELECT count(*), sum(size > 1) FROM stories WHERE size > 0"
        ).fetchone()
        return {
            "articles": row["articles"] or 0,
            "originals": row["originals"] or 0,
            "duplicates": row["duplicates"] or 0,
            "stories": stories[0] or 0,
            "multi_article_stories": stories[1] or 0,
        }

    # -- sources -----------------------------------------------------------------------

    def upsert_source(self, url: str, title: str, kind: str, site_url: str | None = None) -> int:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sources (url, title, kind, site_url, created_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(url) DO UPDATE SET title = excluded.title, "
                "site_url = coalesce(excluded.site_url, sources.site_url)",
                (url, title, kind, site_url, now_iso()),
            )
            row = db.execute("SELECT id FROM sources WHERE url = ?", (url,)).fetchone()
        return int(row[0])

    def record_source_check(
        self, url: str, etag: str | None, last_modified: str | None, error: str | None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET etag = coalesce(?, etag), "
                "last_modified = coalesce(?, last_modified), checked_at = ?, last_error = ? "
                "WHERE url = ?",
                (etag, last_modified, now_iso(), error, url),
            )

    def source(self, url: str) -> sqlite3.Row | None:
        return self.reader.execute("SELECT * FROM sources WHERE url = ?", (url,)).fetchone()

    def sources(self) -> list[sqlite3.Row]:
        return self.reader.execute("SELECT * FROM sources ORDER BY title, url").fetchall()
