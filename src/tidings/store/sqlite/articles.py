"""Articles, their copies, embeddings, dedupe buckets and the FTS5 keyword index."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ...models import Article
from ..base import SUMMARY_FIELDS, Outline
from .db import (
    ARTICLE_COLUMNS,
    SUMMARY_COLUMNS,
    SQLiteTransaction,
    blob_to_vector,
    bounded,
    from_iso,
    marks,
    now_iso,
    row_to_article,
    to_iso,
    valid_ids,
    vector_to_blob,
)

_DATES = ("published", "modified", "fetched")
POSTINGS_BUDGET = 5_000  # documents BM25 ranks for one keyword query (~2 µs each at 1M)
# Postings of the commoner query terms read to add their evidence to those documents, as a
# multiple of the budget. Intersecting reads a posting for ~1/40 of what ranking one costs,
# but each term's documents must be counted that far first: up to 8 × the budget that is
# 4-8 ms for a common word at 1M on a cold cache (up to 40 ×, 20 ms)
EVIDENCE_FACTOR = 8
TERM_CACHE_SECONDS = 600.0
_LATEST_KEY = "coalesce(published, fetched, created_at)"  # must match the articles_latest index


class ArticleQueries:
    _db: Any

    # -- dedupe lookups ----------------------------------------------------------------

    def id_by_url(self, url: str, tx: SQLiteTransaction | None = None) -> int | None:
        row = self._db(tx).execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def originals_by_url_key(self, url_key: str, tx: SQLiteTransaction | None = None) -> list[int]:
        rows = self._db(tx).execute(
            "SELECT DISTINCT coalesce(duplicate_of, id) AS root FROM articles WHERE url_key = ? "
            "ORDER BY root DESC LIMIT 20",
            (url_key,),
        )
        return [row[0] for row in rows]

    def originals_by_hash(self, digest: str, tx: SQLiteTransaction | None = None) -> list[int]:
        rows = self._db(tx).execute(
            "SELECT DISTINCT coalesce(duplicate_of, id) AS root FROM articles "
            "WHERE content_hash = ? ORDER BY root DESC LIMIT 20",
            (digest,),
        )
        return [row[0] for row in rows]

    def bucket_candidates(
        self, buckets: Sequence[int], tx: SQLiteTransaction | None = None, limit: int = 20
    ) -> list[int]:
        if not buckets:
            return []
        rows = self._db(tx).execute(
            f"SELECT article_id, count(*) AS shared FROM minhash_buckets "
            f"WHERE bucket IN ({marks(buckets)}) "
            "GROUP BY article_id ORDER BY shared DESC, article_id LIMIT ?",
            [*buckets, limit],
        )
        return [row[0] for row in rows]

    def root_of(self, article_id: int, tx: SQLiteTransaction | None = None) -> int:
        db = self._db(tx)
        seen = set()
        while article_id not in seen:
            seen.add(article_id)
            row = db.execute(
                "SELECT duplicate_of FROM articles WHERE id = ?", (article_id,)
            ).fetchone()
            if row is None or row[0] is None:
                return article_id
            article_id = row[0]
        return article_id

    # -- writes ------------------------------------------------------------------------

    def insert_article(
        self,
        tx: SQLiteTransaction,
        article: Article,
        url_key: str,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> int | None:
        values = {key: getattr(article, key) for key in ARTICLE_COLUMNS if key != "id"}
        for key in _DATES:
            values[key] = to_iso(values[key])
        values["url_key"] = url_key
        values["created_at"] = now_iso()
        db = tx.conn
        cursor = db.execute(
            f"INSERT INTO articles ({', '.join(values)}) VALUES ({marks(values)}) "
            "ON CONFLICT(url) DO NOTHING",
            list(values.values()),
        )
        if cursor.rowcount == 0:
            return None
        article_id = int(cursor.lastrowid or 0)
        if article.duplicate_of is None:
            db.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                (article_id, article.title, article.text),
            )
        # copies keep their buckets too: a later copy of a copy that drifted further from
        # the original is still found (and resolved to the root), whatever the batching
        db.executemany(
            "INSERT OR IGNORE INTO minhash_buckets (bucket, article_id) VALUES (?, ?)",
            [(bucket, article_id) for bucket in buckets],
        )
        if vector is not None:
            db.execute(
                "INSERT INTO embeddings (article_id, vector, gen) VALUES (?, ?, ?)",
                (article_id, vector_to_blob(vector), tx.generation),
            )
        return article_id

    def upgrade_article(
        self,
        tx: SQLiteTransaction,
        article_id: int,
        article: Article,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> str | None:
        db = tx.conn
        row = db.execute(
            "SELECT duplicate_of, partial FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None or not row["partial"]:
            return None
        db.execute(
            "UPDATE articles SET title = ?, text = ?, canonical_url = ?, "
            "author = coalesce(?, author), published = coalesce(published, ?), modified = ?, "
            "fetched = ?, language = ?, excerpt = ?, site_name = ?, image = ?, "
            "content_hash = ?, partial = 0 WHERE id = ?",
            (
                article.title, article.text, article.canonical_url, article.author,
                to_iso(article.published), to_iso(article.modified), to_iso(article.fetched),
                article.language, article.excerpt, article.site_name, article.image,
                article.content_hash, article_id,
            ),
        )
        db.execute("DELETE FROM minhash_buckets WHERE article_id = ?", (article_id,))
        db.executemany(
            "INSERT OR IGNORE INTO minhash_buckets (bucket, article_id) VALUES (?, ?)",
            [(bucket, article_id) for bucket in buckets],
        )
        if row["duplicate_of"] is not None:
            return "copy"
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", (article_id,))
        db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            (article_id, article.title, article.text),
        )
        if vector is not None:
            self.replace_embeddings(tx, [(article_id, vector)])
        return "original"

    def demote(self, tx: SQLiteTransaction, old_id: int, new_id: int) -> None:
        db = tx.conn
        db.execute(
            "UPDATE articles SET duplicate_of = ? WHERE id = ? OR duplicate_of = ?",
            (new_id, old_id, old_id),
        )
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", (old_id,))
        if db.execute("DELETE FROM embeddings WHERE article_id = ?", (old_id,)).rowcount:
            db.execute(
                "INSERT INTO removed_vectors (article_id, gen) VALUES (?, ?) "
                "ON CONFLICT(article_id) DO UPDATE SET gen = excluded.gen",
                (old_id, tx.generation),
            )

    def replace_embeddings(
        self, tx: SQLiteTransaction, pairs: Iterable[tuple[int, np.ndarray]]
    ) -> None:
        tx.conn.executemany(
            "INSERT INTO embeddings (article_id, vector, gen) VALUES (?, ?, ?) "
            "ON CONFLICT(article_id) DO UPDATE SET vector = excluded.vector, gen = excluded.gen",
            [(int(i), vector_to_blob(v), tx.generation) for i, v in pairs],
        )

    def rebuild_keyword_index(self) -> int:
        with self.transaction() as tx:
            tx.conn.execute("DELETE FROM articles_fts")
            cursor = tx.conn.execute(
                "INSERT INTO articles_fts (rowid, title, text) "
                "SELECT id, title, text FROM articles WHERE duplicate_of IS NULL"
            )
            return cursor.rowcount

    # -- reads -------------------------------------------------------------------------

    def articles(
        self,
        ids: Sequence[int],
        tx: SQLiteTransaction | None = None,
        text: bool = True,
        opening: int | None = None,
    ) -> dict[int, Article]:
        ids = valid_ids(ids)
        if not ids:
            return {}
        columns = "*" if text else SUMMARY_COLUMNS
        if text and opening is not None:
            columns = f"{SUMMARY_COLUMNS}, substr(text, 1, {max(0, int(opening))}) AS text"
        rows = self._db(tx).execute(
            f"SELECT {columns} FROM articles WHERE id IN ({marks(ids)})", ids
        )
        return {row["id"]: row_to_article(row) for row in rows}

    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        bounded(limit=limit, offset=offset)
        rows = self.reader.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM articles INDEXED BY articles_latest "
            f"WHERE duplicate_of IS NULL ORDER BY {_LATEST_KEY} DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [row_to_article(row) for row in rows]

    def copies(self, ids: Sequence[int]) -> dict[int, list[Article]]:
        ids = valid_ids(ids)
        out: dict[int, list[Article]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = self.reader.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM articles WHERE duplicate_of IN ({marks(ids)}) "
            "ORDER BY id",
            ids,
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

    def story_ids(
        self, article_ids: Sequence[int], tx: SQLiteTransaction | None = None
    ) -> set[int]:
        ids = valid_ids(article_ids)
        if not ids:
            return set()
        rows = self._db(tx).execute(
            # the covering index, not the rows: the planner would take the rowid
            f"SELECT DISTINCT story_id FROM articles INDEXED BY articles_outline "
            f"WHERE id IN ({marks(ids)}) AND story_id IS NOT NULL",
            ids,
        )
        return {row[0] for row in rows}

    def sources_of(self, article_ids: Sequence[int]) -> dict[int, Outline]:
        ids = valid_ids(article_ids)
        if not ids:
            return {}
        rows = self.reader.execute(
            f"SELECT id, source, duplicate_of, published FROM articles "
            f"INDEXED BY articles_outline WHERE id IN ({marks(ids)})",
            ids,
        )
        return {row[0]: Outline(row[1], row[2], from_iso(row[3])) for row in rows}

    def keyword_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """FTS5 BM25 over originals; the query is reduced to plain terms (OR-ed) so user input
        can never be an FTS syntax error.

        BM25 ranks every document that holds any query term, so a common word ("said",
        "the") costs a pass over most of the archive. The documents ranked are those of the
        rarest terms while they add up to at most POSTINGS_BUDGET (the rarest is always
        kept). The commoner terms after them still count where those documents hold them:
        a second ranking over the documents that hold both (an intersection, which reads
        the commoner terms' postings without ranking them) replaces their scores, as long
        as those postings add up to EVIDENCE_FACTOR times the budget. The words left out
        entirely are the ones whose inverse document frequency weighs least."""
        from ...dedupe import words

        terms = list(dict.fromkeys(t for t in words(query) if len(t) > 1 or t.isdigit()))
        if not terms or limit <= 0:
            return []
        evidence_budget = EVIDENCE_FACTOR * POSTINGS_BUDGET
        df = self._term_documents(terms, evidence_budget + 1)
        ranked = sorted(terms, key=lambda t: df[t])
        ranked_used, evidence_read = df[ranked[0]], 0
        chosen, evidence = ranked[:1], []
        for term in ranked[1:]:
            if not evidence and ranked_used + df[term] <= POSTINGS_BUDGET:
                chosen.append(term)
                ranked_used += df[term]
            elif evidence_read + df[term] <= evidence_budget:
                evidence.append(term)
                evidence_read += df[term]
            else:
                break
        scored = " OR ".join(f'"{t}"' for t in chosen)
        found = dict(self._bm25(scored, limit))
        if evidence:
            # a document's score with the commoner terms is never below its score without
            # them, so the best `limit` of the two rankings together are the best overall
            also = " OR ".join(f'"{t}"' for t in evidence)
            found.update(self._bm25(f"({scored}) AND ({also})", limit))
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def _bm25(self, match: str, limit: int) -> list[tuple[int, float]]:
        rows = self.reader.execute(
            "SELECT rowid, bm25(articles_fts, 3.0, 1.0) AS rank FROM articles_fts "
            "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        )
        return [(row[0], -row[1]) for row in rows]

    def _term_documents(self, terms: list[str], cap: int) -> dict[str, int]:
        """Documents holding each term, as far as choosing terms needs: counted up to `cap`,
        which reads the start of the term's posting list only (at a million articles 8 ms
        for "the" up to 40,001; the fts5vocab count reads all of it, 290 ms on a cold
        cache). Only when every term reaches the cap are they counted in full, to keep the
        rarest. Cached across threads: a little stale is fine for choosing."""
        cache = self.__dict__.setdefault("_term_cache", {})  # term -> (count, when, exact)
        moment = time.monotonic()
        if len(cache) > 50_000:
            cache.clear()

        def known(term: str, exact: bool) -> int | None:
            hit = cache.get(term)
            if hit is None or moment - hit[1] > TERM_CACHE_SECONDS:
                return None
            if hit[2] or (not exact and hit[0] >= cap):
                return hit[0]
            return None  # a lower bound, and more is asked

        out = {}
        for term in terms:
            found = known(term, exact=False)
            if found is None:
                found = self._documents_with(term, cap)
                cache[term] = (found, moment, found < cap)
            out[term] = found
        if all(out[t] >= cap for t in terms):
            for term in terms:
                found = known(term, exact=True)
                if found is None:
                    found = self._documents_with(term, None)
                    cache[term] = (found, moment, True)
                out[term] = found
        return out

    def _documents_with(self, term: str, cap: int | None) -> int:
        match = f'"{term}"'
        if cap is None:
            sql, args = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", (match,)
        else:
            sql = (
                "SELECT count(*) FROM (SELECT rowid FROM articles_fts "
                "WHERE articles_fts MATCH ? LIMIT ?)"
            )
            args = (match, cap)
        return int(self.reader.execute(sql, args).fetchone()[0])

    def counts(self) -> dict[str, Any]:
        db = self.reader
        total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        duplicates = db.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchone()[0]
        stories = db.execute(
            "SELECT count(*), sum(size > 1) FROM stories WHERE size > 0"
        ).fetchone()
        return {
            "articles": total,
            "originals": total - duplicates,
            "duplicates": duplicates,
            "stories": stories[0] or 0,
            "multi_article_stories": stories[1] or 0,
        }

    # -- vectors -----------------------------------------------------------------------

    def embeddings(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        ids = valid_ids(ids)
        if not ids:
            return {}
        rows = self.reader.execute(
            f"SELECT article_id, vector FROM embeddings WHERE article_id IN ({marks(ids)})", ids
        )
        return {row[0]: blob_to_vector(row[1]) for row in rows}

    def vector_count(self, tx: SQLiteTransaction | None = None) -> int:
        return self._db(tx).execute("SELECT count(*) FROM embeddings").fetchone()[0]

    def vector_ids(self, tx: SQLiteTransaction | None = None) -> np.ndarray:
        rows = self._db(tx).execute("SELECT article_id FROM embeddings ORDER BY article_id")
        return np.fromiter((row[0] for row in rows), dtype=np.uint64)

    def iter_vectors(
        self,
        tx: SQLiteTransaction | None = None,
        since: int | None = None,
        ids: Sequence[int] | None = None,
        batch: int = 4096,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        db = self._db(tx)
        if ids is not None:
            wanted = valid_ids(ids)
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = db.execute(
                    f"SELECT article_id, vector FROM embeddings WHERE article_id IN "
                    f"({marks(chunk)}) ORDER BY article_id",
                    chunk,
                ).fetchall()
                if rows:
                    yield _vectors(rows)
            return
        if since is not None:
            # what changed after a generation: through the gen index (without INDEXED BY the
            # planner walks the whole table in article_id order)
            cursor = db.execute(
                "SELECT article_id, vector FROM embeddings INDEXED BY embeddings_gen "
                "WHERE gen > ?",
                (since,),
            )
            while rows := cursor.fetchmany(batch):
                yield _vectors(rows)
            return
        last = 0
        while True:
            rows = db.execute(
                "SELECT article_id, vector FROM embeddings WHERE article_id > ? "
                "ORDER BY article_id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            yield _vectors(rows)
            last = rows[-1][0]

    def removed_vectors(self, since: int, tx: SQLiteTransaction | None = None) -> np.ndarray:
        rows = self._db(tx).execute(
            "SELECT article_id FROM removed_vectors WHERE gen > ?", (since,)
        )
        return np.fromiter((row[0] for row in rows), dtype=np.uint64)


def _vectors(rows: list[sqlite3.Row]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((row[0] for row in rows), dtype=np.uint64, count=len(rows))
    return ids, np.vstack([blob_to_vector(row[1]) for row in rows])


assert set(SUMMARY_FIELDS) < set(ARTICLE_COLUMNS)
