"""Articles, their copies, embeddings (pgvector, HNSW), dedupe buckets and the tsvector keyword
index; the vector, keyword and hybrid searches the database answers itself."""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from ...models import Article
from ..base import Neighbour, Outline
from .db import (
    ARTICLE_COLUMNS,
    SUMMARY_COLUMNS,
    PostgresTransaction,
    bounded,
    now,
    row_to_article,
    rows_as_dicts,
    utc,
    valid_ids,
)
from .migrations import TS_CONFIGS


class GraphCache(NamedTuple):
    """What one server holds of the HNSW graphs: their bytes against its shared_buffers,
    the blocks prewarmed (None: not prewarmed), or why it could not be asked."""

    server: str
    graph: int
    buffers: int
    prewarmed: int | None
    error: str | None = None


# the HNSW indexes over the embeddings (one per model dimension), in statements without
# parameters (so a single % is sent as written)
HNSW_INDEXES = (
    "FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'embeddings' "
    "AND indexname LIKE 'embeddings_hnsw_%'"
)
QUALIFIED_INDEX = "format('%I.%I', schemaname, indexname)"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


POSTINGS_BUDGET = 5_000  # documents one keyword query ranks (as in the SQLite store)
TERM_CACHE_SECONDS = 600.0
KEYWORD_TEXT_CHARS = 200_000  # a tsvector holds at most 1 MB; the opening is what matters
# Documents are matched on the whole text's tsvector (`tsv`). ts_rank reads the tsvector it
# ranks, and the whole text's is stored out of line (TOAST; it does not compress): at 100k
# articles reading it was three quarters of a keyword search, 5-6 µs per ranked document
# warm. So every match is ranked first on a small tsvector of the headline and the lede
# (`lede_tsv`, about a hundred words, ~1 KB: small enough to stay in the row), and only the
# best SHORTLIST again on the whole text. Whenever at most SHORTLIST documents match, the
# ranking is the whole text's.
LEDE_CHARS = 600
SHORTLIST = 200
RRF_K = 60  # reciprocal-rank fusion constant (index.hybrid uses the same)
# the graph is built as the embedded index builds its own (index.vectors CONNECTIVITY,
# EXPANSION_ADD): with pgvector's default ef_construction of 64 its recall@10 at 100k was
# 0.951 at ef_search 256 against usearch's 0.959; with 128, 0.975 (README, "SQLite and
# PostgreSQL side by side")
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
# pgvector builds an HNSW index fastest while the whole graph fits in maintenance_work_mem
# (past that it warns and goes on far slower); a build is given what the graph needs, within
# these bounds (the server's own setting is kept when it is larger)
HNSW_BUILD_MEMORY_MIN_KB = 64 * 1024
HNSW_BUILD_MEMORY_MAX_KB = 4 * 1024 * 1024


def hnsw_build_memory_kb(vectors: int, dim: int, m: int = HNSW_M) -> int:
    """maintenance_work_mem (kB) for building the halfvec HNSW graph of `vectors` vectors:
    per element its halfvec (2 bytes a dimension) and item header, and up to 2·m neighbour
    links on the ground layer and m above it (6-byte tuple ids), with a quarter to spare."""
    per_element = 2 * dim + 64 + 3 * m * 6 + 32
    need = int(vectors * per_element * 1.25 / 1024) + 1
    return max(HNSW_BUILD_MEMORY_MIN_KB, min(HNSW_BUILD_MEMORY_MAX_KB, need))


def size_hnsw_build(conn, dim: int) -> None:
    """Raise this transaction's maintenance_work_mem to what building the index over the
    table's vectors needs (the planner's row estimate: no pass over the table)."""
    row = conn.execute(
        "SELECT greatest(c.reltuples, 0)::bigint, "
        "(SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem') "
        "FROM pg_class c WHERE c.oid = 'embeddings'::regclass"
    ).fetchone()
    estimate, current_kb = (int(row[0]), int(row[1])) if row else (0, 0)
    wanted = hnsw_build_memory_kb(estimate, dim)
    if wanted > current_kb:
        conn.execute(f"SET LOCAL maintenance_work_mem = '{wanted}kB'")
_LATEST_KEY = "coalesce(published, fetched, created_at)"  # must match the articles_latest index


def _tsvector(config: str, title: str, text: str, chars: int) -> str:
    """SQL of an article's tsvector: the headline weighted A, the first `chars` of the body B."""
    return (
        f"setweight(to_tsvector({config}, {title}), 'A') || "
        f"setweight(to_tsvector({config}, left({text}, {chars})), 'B')"
    )


_TSV = _tsvector("%(cfg)s::regconfig", "%(title)s", "%(text)s", KEYWORD_TEXT_CHARS)
_LEDE = _tsvector("%(cfg)s::regconfig", "%(title)s", "%(text)s", LEDE_CHARS)
# the same, over a row's own columns (rebuilds, copies between databases)
TSV_OF_ROW = _tsvector("tidings_ts_config(language)", "title", "text", KEYWORD_TEXT_CHARS)
LEDE_OF_ROW = _tsvector("tidings_ts_config(language)", "title", "text", LEDE_CHARS)
# a user's query, parsed in every configuration articles were indexed with
_QUERY = (
    "(SELECT tidings_tsquery_or(to_tsquery(config, %(terms)s)) FROM keyword_configs)"
)


def _ranked(query: str, limit: str, rank: str, joined: str = "") -> str:
    """SQL of the matching originals' (id, rank), best first, at most `limit`: matched on
    the terms of `q` (`joined`: more FROM items, such as `query`'s own), shortlisted on the
    lede for the tsquery `query` (see LEDE_CHARS; the whole text's tsvector stands in for a
    row that a process of an older version wrote, or one the migration has not filled yet;
    among matches whose ledes rank alike, none holding the words: 0, the newest), and the
    shortlist ranked by `rank`, an expression of `doc`: the whole text's tsvector, read
    once per row however many times `rank` uses it."""
    return (
        f"SELECT id, {rank} AS rank FROM ("
        f"SELECT id, tsv FROM articles, {_QUERY} AS k(q){joined} "
        f"WHERE tsv @@ q ORDER BY ts_rank(coalesce(lede_tsv, tsv), {query}, 1) DESC, id DESC "
        f"LIMIT greatest({limit}, {SHORTLIST})) AS shortlist, "
        "LATERAL (SELECT shortlist.tsv || ''::tsvector AS doc OFFSET 0) AS whole "
        f"ORDER BY rank DESC, id LIMIT {limit}"
    )


def ts_config(language: str | None) -> str:
    code = (language or "").lower().replace("_", "-").split("-")[0]
    return TS_CONFIGS.get(code, "simple")


_WORD = re.compile(r"\w+")


def _tsquery_terms(terms: Sequence[str]) -> str:
    """Plain word terms OR-ed in tsquery syntax, each quoted: user input never becomes
    tsquery operators."""
    return " | ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in terms)


class ArticleQueries:
    _conn: Any
    _one: Any
    _local: Any
    _shared: dict[str, Any]

    # -- dedupe lookups ----------------------------------------------------------------

    def id_by_url(self, url: str, tx: PostgresTransaction | None = None) -> int | None:
        row = self._one("SELECT id FROM articles WHERE url = %s", (url,), tx)
        return row[0] if row else None

    def _roots(self, column: str, value: str, tx) -> list[int]:
        with self._conn(tx) as conn:
            rows = conn.execute(
                f"SELECT DISTINCT coalesce(duplicate_of, id) AS root FROM articles "
                f"WHERE {column} = %s ORDER BY root DESC LIMIT 20",
                (value,),
            ).fetchall()
        return [row[0] for row in rows]

    def originals_by_url_key(
        self, url_key: str, tx: PostgresTransaction | None = None
    ) -> list[int]:
        return self._roots("url_key", url_key, tx)

    def originals_by_hash(self, digest: str, tx: PostgresTransaction | None = None) -> list[int]:
        return self._roots("content_hash", digest, tx)

    def bucket_candidates(
        self, buckets: Sequence[int], tx: PostgresTransaction | None = None, limit: int = 20
    ) -> list[int]:
        if not buckets:
            return []
        with self._conn(tx) as conn:
            rows = conn.execute(
                "SELECT article_id, count(*) AS shared FROM minhash_buckets "
                "WHERE bucket = ANY(%s::bigint[]) "
                "GROUP BY article_id ORDER BY shared DESC, article_id LIMIT %s",
                (list(buckets), limit),
            ).fetchall()
        return [row[0] for row in rows]

    def root_of(self, article_id: int, tx: PostgresTransaction | None = None) -> int:
        seen = set()
        with self._conn(tx) as conn:
            while article_id not in seen:
                seen.add(article_id)
                row = conn.execute(
                    "SELECT duplicate_of FROM articles WHERE id = %s", (article_id,)
                ).fetchone()
                if row is None or row[0] is None:
                    return article_id
                article_id = row[0]
        return article_id

    # -- writes ------------------------------------------------------------------------

    def insert_article(
        self,
        tx: PostgresTransaction,
        article: Article,
        url_key: str,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> int | None:
        values = {key: getattr(article, key) for key in ARTICLE_COLUMNS if key != "id"}
        for key in ("published", "modified", "fetched"):
            values[key] = utc(values[key])
        values["url_key"] = url_key
        values["created_at"] = now()
        config = ts_config(article.language)
        conn = tx.conn
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({k})s" for k in values)
        tsv, lede = ("NULL", "NULL") if article.duplicate_of is not None else (_TSV, _LEDE)
        row = conn.execute(
            f"INSERT INTO articles ({columns}, tsv, lede_tsv) "
            f"VALUES ({placeholders}, {tsv}, {lede}) "
            "ON CONFLICT (url) DO NOTHING RETURNING id",
            {**values, "cfg": config},
        ).fetchone()
        if row is None:
            return None
        article_id = int(row[0])
        if article.duplicate_of is None:
            self._config_used(conn, config)
        buckets = list(buckets)
        if buckets:
            conn.execute(
                "INSERT INTO minhash_buckets (bucket, article_id) "
                "SELECT unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING",
                (buckets, article_id),
            )
        if vector is not None:
            self._vector_index(conn, len(vector))
            conn.execute(
                "INSERT INTO embeddings (article_id, vector, gen) VALUES (%s, %b, %s)",
                (article_id, np.asarray(vector, dtype=np.float32), tx.generation),
            )
        return article_id

    def _config_used(self, conn, config: str) -> None:
        known = self._local.__dict__.setdefault("configs", set())
        if config not in known:
            conn.execute(
                "INSERT INTO keyword_configs VALUES (%s::regconfig) ON CONFLICT DO NOTHING",
                (config,),
            )
            known.add(config)

    def _vector_index(self, conn, dim: int) -> None:
        """The HNSW index of vectors of this dimension (created with the first of them; an
        index of another dimension, left by the model before a re-embed, is dropped). It
        indexes halfvec: half the memory of float32 for no recall lost at these sizes."""
        if getattr(self, "_indexed_dim", None) == dim:
            return
        name = f"embeddings_hnsw_{int(dim)}"
        existing = [
            row[0]
            for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'embeddings' "
                "AND indexname LIKE 'embeddings_hnsw_%%'"
            )
        ]
        for other in existing:
            if other != name:
                conn.execute(f'DROP INDEX IF EXISTS "{other}"')
        if name not in existing:
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON embeddings USING hnsw '
                f"((vector::halfvec({int(dim)})) halfvec_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE vector_dims(vector) = {int(dim)}"
            )
        self._indexed_dim = dim

    def upgrade_article(
        self,
        tx: PostgresTransaction,
        article_id: int,
        article: Article,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> str | None:
        conn = tx.conn
        row = conn.execute(
            "SELECT duplicate_of, partial FROM articles WHERE id = %s FOR UPDATE", (article_id,)
        ).fetchone()
        if row is None or not row[1]:
            return None
        original = row[0] is None
        config = ts_config(article.language)
        conn.execute(
            "UPDATE articles SET title = %(title)s, text = %(text)s, "
            "canonical_url = %(canonical_url)s, author = coalesce(%(author)s, author), "
            "published = coalesce(published, %(published)s), modified = %(modified)s, "
            "fetched = %(fetched)s, language = %(language)s, excerpt = %(excerpt)s, "
            "site_name = %(site_name)s, image = %(image)s, content_hash = %(content_hash)s, "
            f"partial = false, tsv = {_TSV if original else 'NULL'}, "
            f"lede_tsv = {_LEDE if original else 'NULL'} WHERE id = %(id)s",
            {
                "title": article.title, "text": article.text,
                "canonical_url": article.canonical_url, "author": article.author,
                "published": utc(article.published), "modified": utc(article.modified),
                "fetched": utc(article.fetched), "language": article.language,
                "excerpt": article.excerpt, "site_name": article.site_name,
                "image": article.image, "content_hash": article.content_hash,
                "cfg": config, "id": article_id,
            },
        )
        conn.execute("DELETE FROM minhash_buckets WHERE article_id = %s", (article_id,))
        buckets = list(buckets)
        if buckets:
            conn.execute(
                "INSERT INTO minhash_buckets (bucket, article_id) "
                "SELECT unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING",
                (buckets, article_id),
            )
        if not original:
            return "copy"
        self._config_used(conn, config)
        if vector is not None:
            self.replace_embeddings(tx, [(article_id, vector)])
        return "original"

    def demote(self, tx: PostgresTransaction, old_id: int, new_id: int) -> None:
        conn = tx.conn
        conn.execute(
            "UPDATE articles SET duplicate_of = %s, "
            "tsv = CASE WHEN id = %s THEN NULL ELSE tsv END, "
            "lede_tsv = CASE WHEN id = %s THEN NULL ELSE lede_tsv END "
            "WHERE id = %s OR duplicate_of = %s",
            (new_id, old_id, old_id, old_id, old_id),
        )
        if conn.execute("DELETE FROM embeddings WHERE article_id = %s", (old_id,)).rowcount:
            conn.execute(
                "INSERT INTO removed_vectors (article_id, gen) VALUES (%s, %s) "
                "ON CONFLICT (article_id) DO UPDATE SET gen = excluded.gen",
                (old_id, tx.generation),
            )

    def replace_embeddings(
        self, tx: PostgresTransaction, pairs: Iterable[tuple[int, np.ndarray]]
    ) -> None:
        pairs = [(int(i), np.asarray(v, dtype=np.float32)) for i, v in pairs]
        if not pairs:
            return
        self._vector_index(tx.conn, len(pairs[0][1]))
        with tx.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO embeddings (article_id, vector, gen) VALUES (%s, %b, %s) "
                "ON CONFLICT (article_id) DO UPDATE "
                "SET vector = excluded.vector, gen = excluded.gen",
                [(i, v, tx.generation) for i, v in pairs],
            )

    def rebuild_keyword_index(self) -> int:
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO keyword_configs SELECT DISTINCT tidings_ts_config(language) "
                "FROM articles WHERE duplicate_of IS NULL ON CONFLICT DO NOTHING"
            )
            tx.conn.execute(
                "UPDATE articles SET tsv = NULL, lede_tsv = NULL WHERE duplicate_of IS NOT NULL"
            )
            cursor = tx.conn.execute(
                f"UPDATE articles SET tsv = {TSV_OF_ROW}, lede_tsv = {LEDE_OF_ROW} "
                "WHERE duplicate_of IS NULL"
            )
            return cursor.rowcount

    def rebuild_vector_index(self) -> int:
        """REINDEX the HNSW index (the vectors themselves are the table's), with today's
        graph settings: an index built with older ones is rebuilt with HNSW_M and
        HNSW_EF_CONSTRUCTION. On the primary: a replica cannot rebuild an index (it
        replays the primary's)."""
        with self._pool.connection() as conn:
            for (name,) in conn.execute(f"SELECT indexname {HNSW_INDEXES}").fetchall():
                with conn.transaction():
                    size_hnsw_build(conn, int(name.rsplit("_", 1)[1]))
                    conn.execute(f'ALTER INDEX "{name}" SET '
                                 f"(m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
                    conn.execute(f'REINDEX INDEX "{name}"')
        return self.vector_count()

    def warm_vector_index(self) -> list[GraphCache]:
        """On every server (the primary, each replica): the bytes of the HNSW graphs over
        the embeddings against its shared_buffers, and the graphs read into them with
        pg_prewarm where that extension is installed and they fill at most half of them
        (the rest is for the tables). A walk reads a few thousand of the graph's pages, and
        each one not in shared_buffers is copied in from the OS on every search. Warming is
        optional: a server that fails it is reported, never raised."""
        import psycopg

        out = []
        for server, conn in self._each_server():
            try:
                graph, buffers, schema = conn.execute(
                    f"SELECT (SELECT coalesce(sum(pg_relation_size({QUALIFIED_INDEX})), 0) "
                    f"{HNSW_INDEXES}), "
                    "pg_size_bytes(current_setting('shared_buffers')), "
                    "(SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                    "ON n.oid = e.extnamespace WHERE e.extname = 'pg_prewarm')"
                ).fetchone()
                blocks = None
                if schema is not None and 0 < graph <= buffers // 2:
                    (blocks,) = conn.execute(
                        f"SELECT coalesce(sum({quote_ident(schema)}.pg_prewarm("
                        f"{QUALIFIED_INDEX}::regclass)), 0) {HNSW_INDEXES}"
                    ).fetchone()
                out.append(GraphCache(server, int(graph), int(buffers),
                                      None if blocks is None else int(blocks)))
            except psycopg.Error as exc:
                out.append(GraphCache(server, 0, 0, None, str(exc).strip()))
        return out

    # -- reads -------------------------------------------------------------------------

    def articles(
        self,
        ids: Sequence[int],
        tx: PostgresTransaction | None = None,
        text: bool = True,
        opening: int | None = None,
    ) -> dict[int, Article]:
        ids = valid_ids(ids)
        if not ids:
            return {}
        columns = ", ".join(ARTICLE_COLUMNS) if text else SUMMARY_COLUMNS
        if text and opening is not None:  # a compressed text is decompressed only so far
            columns = f"{SUMMARY_COLUMNS}, substr(text, 1, {max(0, int(opening))}) AS text"
        with self._conn(tx) as conn:
            cursor = conn.execute(
                f"SELECT {columns} FROM articles WHERE id = ANY(%s::bigint[])", (ids,)
            )
            return {row["id"]: row_to_article(row) for row in rows_as_dicts(cursor)}

    def _summaries(self, sql: str, args) -> list[Article]:
        with self._conn() as conn:
            return [row_to_article(row) for row in rows_as_dicts(conn.execute(sql, args))]

    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        bounded(limit=limit, offset=offset)
        return self._summaries(
            f"SELECT {SUMMARY_COLUMNS} FROM articles WHERE duplicate_of IS NULL "
            f"ORDER BY {_LATEST_KEY} DESC, id DESC LIMIT %s OFFSET %s",
            (limit, offset),
        )

    def copies(self, ids: Sequence[int]) -> dict[int, list[Article]]:
        ids = valid_ids(ids)
        out: dict[int, list[Article]] = {i: [] for i in ids}
        if not ids:
            return out
        for article in self._summaries(
            f"SELECT {SUMMARY_COLUMNS} FROM articles WHERE duplicate_of = ANY(%s::bigint[]) "
            "ORDER BY id",
            (ids,),
        ):
            out[article.duplicate_of].append(article)
        return out

    def iter_articles(self, batch: int = 1000) -> Iterator[Article]:
        last = 0
        columns = ", ".join(ARTICLE_COLUMNS)
        while True:
            found = self._summaries(
                f"SELECT {columns} FROM articles WHERE id > %s ORDER BY id LIMIT %s",
                (last, batch),
            )
            if not found:
                return
            yield from found
            last = found[-1].id

    def story_ids(
        self, article_ids: Sequence[int], tx: PostgresTransaction | None = None
    ) -> set[int]:
        ids = valid_ids(article_ids)
        if not ids:
            return set()
        with self._conn(tx) as conn:
            rows = conn.execute(
                "SELECT DISTINCT story_id FROM articles WHERE id = ANY(%s::bigint[]) "
                "AND story_id IS NOT NULL",
                (ids,),
            ).fetchall()
        return {row[0] for row in rows}

    def sources_of(self, article_ids: Sequence[int]) -> dict[int, Outline]:
        ids = valid_ids(article_ids)
        if not ids:
            return {}
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, source, duplicate_of, published FROM articles "
                "WHERE id = ANY(%s::bigint[])",
                (ids,),
            ).fetchall()
        return {row[0]: Outline(row[1], row[2], row[3]) for row in rows}

    # -- keyword search ----------------------------------------------------------------

    def _keyword_terms(self, query: str) -> tuple[list[str], list[str]]:
        """The query's plain terms: those whose documents are ranked, rarest first while
        the documents holding them add up to at most POSTINGS_BUDGET (the rarest is always
        kept), as in the SQLite store: ranking every document that holds a common word costs
        a pass over most of the archive; and the rest, which count in the ranking of those
        documents (ts_rank reads the document's own tsvector: no extra rows)."""
        # lower case, accents kept: the tsvector is stemmed in the article's language with
        # its accents, and a French stem of "election" is not the stem of "élection"
        words = _WORD.findall(unicodedata.normalize("NFC", query).lower())
        terms = list(dict.fromkeys(t for t in words if len(t) > 1 or t.isdigit()))
        if not terms:
            return [], []
        df = self._term_documents(terms)
        ranked = sorted(terms, key=lambda t: df[t])
        chosen, used = ranked[:1], df[ranked[0]]
        for term in ranked[1:]:
            if used + df[term] > POSTINGS_BUDGET:
                break
            chosen.append(term)
            used += df[term]
        return chosen, ranked[len(chosen) :]

    def _term_documents(self, terms: list[str]) -> dict[str, int]:
        """Documents holding each term, as far as choosing terms needs (cached for all the
        store's threads: a little stale is fine for choosing). Once ANALYZE has gathered
        the keyword column's statistics this is the planner's estimate, which reads no
        article: an exact count visits every matching row's heap page, and at a million
        articles counting the terms of one query took twice as long as ranking their
        documents. Before that (a new or small database) the documents are counted, up to
        the budget."""
        cache = self._shared.setdefault("term_documents", {})
        moment = time.monotonic()
        if len(cache) > 50_000:
            cache.clear()
        cap = POSTINGS_BUDGET + 1
        out, todo = {}, []
        for term in terms:
            hit = cache.get(term)
            if hit is None or moment - hit[1] > TERM_CACHE_SECONDS:
                todo.append(term)
            else:
                out[term] = hit[0]
        if todo:
            counted = (
                self._estimated_documents(todo)
                if self._keyword_statistics(moment)
                else {t: self._counted_documents(t, cap) for t in todo}
            )
            for term, documents in counted.items():
                cache[term] = (documents, moment)
                out[term] = documents
        if all(out[t] == cap for t in terms):
            # every term over the budget, each counted only that far: count them in full
            # to keep the rarest (an estimate is never exactly the cap by design)
            for term in terms:
                out[term] = self._counted_documents(term, None)
                cache[term] = (out[term], moment)
        return out

    def _keyword_statistics(self, moment: float) -> bool:
        """Whether ANALYZE has sampled the keyword column (checked now and then)."""
        known = self._shared.get("keyword_statistics")
        if known is None or moment - known[1] > TERM_CACHE_SECONDS:
            row = self._one(
                "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename = 'articles' AND attname = 'tsv' "
                "AND most_common_elems IS NOT NULL)"
            )
            known = self._shared["keyword_statistics"] = (bool(row[0]), moment)
        return known[0]

    def _counted_documents(self, term: str, cap: int | None) -> int:
        """Documents matching `term`, counted up to `cap` (None: all of them)."""
        row = self._one(
            f"SELECT count(*) FROM (SELECT 1 FROM articles, {_QUERY} AS k(q) "
            f"WHERE tsv @@ q LIMIT %(cap)s) AS found",
            {"terms": _tsquery_terms([term]), "cap": cap},
        )
        return int(row[0])

    def _estimated_documents(self, terms: list[str]) -> dict[str, int]:
        """The planner's row estimate for each term's match (from the lexeme frequencies
        ANALYZE keeps), the term parsed in every configuration articles were indexed with."""
        from psycopg import sql  # the postgres extra: imported where it is used, as in db.py

        out = {}
        with self._conn() as conn:
            parsed = conn.execute(
                "SELECT (SELECT tidings_tsquery_or(to_tsquery(config, u.t)) "
                "FROM keyword_configs)::text FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i) "
                "ORDER BY u.i",
                ([_tsquery_terms([t]) for t in terms],),
            ).fetchall()
            for term, (query,) in zip(terms, parsed, strict=True):
                if not query:  # only stop words: matches nothing
                    out[term] = 0
                    continue
                (plan,) = conn.execute(
                    sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM articles WHERE tsv @@ {}")
                    .format(sql.Literal(query) + sql.SQL("::tsquery"))
                ).fetchone()
                out[term] = int(plan[0]["Plan"]["Plan Rows"])
        return out

    def keyword_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """tsvector ranking over originals; the query is reduced to plain terms (OR-ed), so
        user input can never be a tsquery syntax error."""
        terms, others = self._keyword_terms(query)
        if not terms or limit <= 0:
            return []
        everything = _QUERY.replace("%(terms)s", "%(all)s")
        rank, args = self._weighted_rank(terms + others)
        with self._conn() as conn:
            rows = conn.execute(
                _ranked("a", "%(limit)s", rank, f", {everything} AS e(a)"),
                {
                    **args,
                    "terms": _tsquery_terms(terms),
                    "all": _tsquery_terms(terms + others),
                    "limit": limit,
                },
            ).fetchall()
        return [(row[0], float(row[1])) for row in rows]

    def _weighted_rank(self, terms: list[str]) -> tuple[str, dict[str, str]]:
        """The rank of a shortlisted document (`doc`): each term's ts_rank weighted by its
        inverse document frequency, as BM25 weighs it (ln(1 + (N − df + 0.5) / (df + 0.5)));
        ts_rank alone counts "says" as much as "Plosser". With its query parameters."""
        documents = self._term_documents(terms)
        total = max(self._articles_estimate(), *documents.values(), 1)
        parts, args = [], {}
        for i, term in enumerate(terms):
            df = documents[term]
            weight = math.log(1 + (total - df + 0.5) / (df + 0.5))
            args[f"term{i}"] = _tsquery_terms([term])
            query = _QUERY.replace("%(terms)s", f"%(term{i})s")
            parts.append(f"{weight:.6f} * ts_rank(doc, {query}, 1)")
        return " + ".join(parts), args

    def _articles_estimate(self) -> int:
        """About how many articles there are, copies included (the planner's estimate once
        ANALYZE has run, else counted: a new database is small), cached as the term counts
        are. Close enough for an idf, which takes its logarithm."""
        moment = time.monotonic()
        known = self._shared.get("articles_estimate")
        if known is None or moment - known[1] > TERM_CACHE_SECONDS:
            (estimate,) = self._one(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'articles'::regclass"
            )
            if estimate <= 0:
                (estimate,) = self._one("SELECT count(*) FROM articles")
            known = self._shared["articles_estimate"] = (int(estimate), moment)
        return known[0]

    # -- vector and hybrid search --------------------------------------------------------

    def _ef_search(self, conn, ef: int) -> None:
        """hnsw.ef_search for this connection (a session setting: set only when it changes)."""
        ef = max(1, min(int(ef), 1000))
        if getattr(conn, "_tidings_ef", None) != ef:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef),))
            conn._tidings_ef = ef

    def vector_search(
        self, vector: np.ndarray, limit: int, expansion: int | None = None
    ) -> list[tuple[int, float]]:
        """Nearest originals by cosine similarity, through the HNSW index."""
        if limit <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        dim = len(vector)
        with self._conn() as conn:
            self._ef_search(conn, max(expansion or self.vector_expansion, limit))
            rows = conn.execute(
                f"SELECT article_id, vector::halfvec({dim}) <=> %(v)b::halfvec({dim}) AS d "
                f"FROM embeddings WHERE vector_dims(vector) = {dim} "
                f"ORDER BY vector::halfvec({dim}) <=> %(v)b::halfvec({dim}) LIMIT %(limit)s",
                {"v": vector, "limit": limit},
            ).fetchall()
        return [(int(i), 1.0 - float(d)) for i, d in rows]

    def neighbours(
        self, article_id: int, limit: int, dim: int, expansion: int | None = None
    ) -> list[Neighbour] | None:
        """The `limit` nearest articles to a stored one (itself excluded), each with its
        outline and vector, in one statement: the HNSW search takes the article's own vector
        from a subquery. None when it has no vector of the model's dimension."""
        if limit <= 0 or not isinstance(article_id, int):
            return []
        own = (
            f"(SELECT vector::halfvec({dim}) FROM embeddings "
            f"WHERE article_id = %(id)s AND vector_dims(vector) = {dim})"
        )
        with self._conn() as conn:
            self._ef_search(conn, max(expansion or self.vector_expansion, limit + 1))
            cursor = conn.cursor(binary=True)
            rows = cursor.execute(
                f"SELECT n.article_id, 1 - n.d, a.source, a.duplicate_of, a.published, "
                f"n.vector, n.d IS NULL FROM (SELECT article_id, vector, "
                f"vector::halfvec({dim}) <=> {own} AS d FROM embeddings "
                f"WHERE vector_dims(vector) = {dim} "
                f"ORDER BY vector::halfvec({dim}) <=> {own} LIMIT %(limit)s) AS n "
                f"JOIN articles a ON a.id = n.article_id ORDER BY n.d, n.article_id",
                {"id": article_id, "limit": limit + 1},
            ).fetchall()
        if not rows or rows[0][6]:  # no vector: every distance is NULL
            return None
        return [
            Neighbour(int(i), float(score), Outline(source, duplicate, published), vector)
            for i, score, source, duplicate, published, vector, _ in rows
            if i != article_id
        ][:limit]

    def hybrid_search(
        self, query: str, vector: np.ndarray, depth: int, limit: int,
        expansion: int | None = None,
    ) -> list[tuple[int, float]]:
        """Reciprocal-rank fusion of the keyword and the vector ranking in one statement:
        score = Σ 1 / (60 + rank), ties by id (as index.hybrid fuses them)."""
        terms, others = self._keyword_terms(query)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        dim = len(vector)
        rank, args = self._weighted_rank(terms + others) if terms else ("", {})
        keyword = (
            "SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r "
            f"FROM ({_ranked('q', '%(depth)s', rank)}) AS ranked"
            if terms
            else "SELECT NULL::bigint AS id, NULL::bigint AS r WHERE false"
        )
        with self._conn() as conn:
            self._ef_search(conn, max(expansion or self.vector_expansion, depth))
            rows = conn.execute(
                f"WITH keyword AS ({keyword}), "
                f"semantic AS (SELECT article_id AS id, row_number() OVER (ORDER BY d, article_id)"
                f" AS r FROM (SELECT article_id, vector::halfvec({dim}) <=> %(v)b::halfvec({dim})"
                f" AS d FROM embeddings WHERE vector_dims(vector) = {dim} "
                f"  ORDER BY vector::halfvec({dim}) <=> %(v)b::halfvec({dim}) LIMIT %(depth)s"
                f") AS nearest) "
                f"SELECT id, sum(1.0 / ({RRF_K} + r)) AS score FROM "
                f"(SELECT * FROM keyword UNION ALL SELECT * FROM semantic) AS both_lists "
                f"GROUP BY id ORDER BY score DESC, id LIMIT %(limit)s",
                {**args, "terms": _tsquery_terms(terms), "v": vector, "depth": depth,
                 "limit": limit},
            ).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def counts(self) -> dict[str, Any]:
        with self._conn() as conn:
            total, duplicates = conn.execute(
                "SELECT count(*), count(duplicate_of) FROM articles"
            ).fetchone()
            stories, multi = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE size > 1) FROM stories WHERE size > 0"
            ).fetchone()
        return {
            "articles": total,
            "originals": total - duplicates,
            "duplicates": duplicates,
            "stories": stories or 0,
            "multi_article_stories": multi or 0,
        }

    # -- vectors -----------------------------------------------------------------------

    def embeddings(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        ids = valid_ids(ids)
        if not ids:
            return {}
        with self._conn() as conn:
            cursor = conn.cursor(binary=True)
            rows = cursor.execute(
                "SELECT article_id, vector FROM embeddings WHERE article_id = ANY(%s::bigint[])",
                (ids,),
            ).fetchall()
        return {int(i): v for i, v in rows}

    def vector_count(self, tx: PostgresTransaction | None = None) -> int:
        return self._one("SELECT count(*) FROM embeddings", (), tx)[0]

    def vector_ids(self, tx: PostgresTransaction | None = None) -> np.ndarray:
        with self._conn(tx) as conn:
            rows = conn.execute("SELECT article_id FROM embeddings ORDER BY article_id")
            return np.fromiter((row[0] for row in rows), dtype=np.uint64)

    def iter_vectors(
        self,
        tx: PostgresTransaction | None = None,
        since: int | None = None,
        ids: Sequence[int] | None = None,
        batch: int = 4096,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        where, args = "", []
        if ids is not None:
            wanted = valid_ids(ids)
            if not wanted:
                return
            where, args = "AND article_id = ANY(%s::bigint[])", [wanted]
        elif since is not None:
            where, args = "AND gen > %s", [since]
        last = 0
        while True:
            with self._conn(tx) as conn:
                rows = conn.cursor(binary=True).execute(
                    f"SELECT article_id, vector FROM embeddings WHERE article_id > %s {where} "
                    "ORDER BY article_id LIMIT %s",
                    [last, *args, batch],
                ).fetchall()
            if not rows:
                return
            yield (
                np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows)),
                np.vstack([r[1] for r in rows]),
            )
            last = rows[-1][0]

    def removed_vectors(self, since: int, tx: PostgresTransaction | None = None) -> np.ndarray:
        with self._conn(tx) as conn:
            rows = conn.execute("SELECT article_id FROM removed_vectors WHERE gen > %s", (since,))
            return np.fromiter((row[0] for row in rows), dtype=np.uint64)
