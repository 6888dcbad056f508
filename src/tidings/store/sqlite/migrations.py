"""Schema migrations for the SQLite store: an ordered list; applied ones are recorded.

All pending migrations run inside one `BEGIN IMMEDIATE` transaction (SQLite's DDL is
transactional): a crash part-way leaves the schema as it was, and a second process opening
the same fresh database waits for the first and then finds nothing left to do.
"""

from __future__ import annotations

import logging
import sqlite3

from ..._failpoints import failpoint
from ..base import StoreError

log = logging.getLogger(__name__)

_ARTICLE_COLUMNS_TEXT_LAST = """
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    canonical_url TEXT,
    url_key TEXT NOT NULL,
    source TEXT,
    source_id INTEGER REFERENCES sources(id),
    title TEXT NOT NULL DEFAULT '',
    author TEXT,
    published TEXT,
    modified TEXT,
    fetched TEXT,
    language TEXT,
    site_name TEXT,
    image TEXT,
    content_hash TEXT NOT NULL,
    duplicate_of INTEGER REFERENCES articles(id),
    story_id INTEGER REFERENCES stories(id),
    created_at TEXT NOT NULL,
    partial INTEGER NOT NULL DEFAULT 0,
    excerpt TEXT,
    text TEXT NOT NULL DEFAULT ''
"""
# the columns an article row had before m005 (partial is new there and starts at 0)
_ARTICLE_NAMES = ", ".join(
    name
    for name in (line.split()[0] for line in _ARTICLE_COLUMNS_TEXT_LAST.strip().splitlines())
    if name != "partial"
)

# (name, statements). Never edit an applied migration; append a new one.
MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "m001_initial",
        [
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE sources (
                id INTEGER PRIMARY KEY,
                url TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL DEFAULT '',
                kind TEXT NOT NULL DEFAULT 'feed',
                site_url TEXT,
                etag TEXT,
                last_modified TEXT,
                checked_at TEXT,
                last_error TEXT,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE stories (
                id INTEGER PRIMARY KEY,
                label TEXT NOT NULL DEFAULT '',
                first_seen TEXT,
                last_seen TEXT,
                size INTEGER NOT NULL DEFAULT 0,
                centroid BLOB,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX stories_last_seen ON stories(last_seen)",
            """CREATE TABLE articles (
                id INTEGER PRIMARY KEY,
                url TEXT NOT NULL UNIQUE,
                canonical_url TEXT,
                url_key TEXT NOT NULL,
                source TEXT,
                source_id INTEGER REFERENCES sources(id),
                title TEXT NOT NULL DEFAULT '',
                author TEXT,
                published TEXT,
                modified TEXT,
                fetched TEXT,
                language TEXT,
                text TEXT NOT NULL DEFAULT '',
                excerpt TEXT,
                site_name TEXT,
                image TEXT,
                content_hash TEXT NOT NULL,
                duplicate_of INTEGER REFERENCES articles(id),
                story_id INTEGER REFERENCES stories(id),
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX articles_url_key ON articles(url_key)",
            "CREATE INDEX articles_content_hash ON articles(content_hash)",
            "CREATE INDEX articles_duplicate_of ON articles(duplicate_of)",
            "CREATE INDEX articles_story ON articles(story_id)",
            "CREATE INDEX articles_published ON articles(published)",
            """CREATE TABLE embeddings (
                article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
                vector BLOB NOT NULL
            )""",
            # MinHash LSH buckets of original (non-duplicate) articles
            """CREATE TABLE minhash_buckets (
                bucket INTEGER NOT NULL,
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                PRIMARY KEY (bucket, article_id)
            ) WITHOUT ROWID""",
            # keyword index over originals only, kept in step by the store inside each write
            """CREATE VIRTUAL TABLE articles_fts USING fts5(
                title, text, tokenize='unicode61 remove_diacritics 2'
            )""",
        ],
    ),
    # the names (capitalised words) a story's articles mention, for clustering
    ("m002_story_names", ["ALTER TABLE stories ADD COLUMN names TEXT"]),
    (
        # generation tags: what changed since a generation can be read without a full scan
        "m003_generations",
        [
            "ALTER TABLE embeddings ADD COLUMN gen INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX embeddings_gen ON embeddings(gen)",
            "ALTER TABLE stories ADD COLUMN gen INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE stories ADD COLUMN label_time TEXT",
            "CREATE INDEX stories_gen ON stories(gen)",
            "CREATE INDEX stories_first_seen ON stories(first_seen)",
            """CREATE TABLE removed_vectors (
                article_id INTEGER PRIMARY KEY,
                gen INTEGER NOT NULL
            )""",
            "CREATE INDEX removed_vectors_gen ON removed_vectors(gen)",
            # newest originals first, without sorting the table on every request
            "CREATE INDEX articles_latest ON articles(coalesce(published, fetched, created_at), id)"
            " WHERE duplicate_of IS NULL",
        ],
    ),
    (
        # how many documents hold each term, read from the FTS index itself (no storage):
        # keyword search skips the commonest query terms when they would cost too much
        "m004_fts_terms",
        ["CREATE VIRTUAL TABLE articles_fts_terms USING fts5vocab(articles_fts, 'row')"],
    ),
    (
        # The text moves to the end of the row. SQLite spills a long record into a chain of
        # overflow pages, and reading any column after the text walks that chain: story_id,
        # duplicate_of and content_hash, read on every ingest, cost a few pages each. The
        # table is rewritten once (minutes at a million articles); ids stay the same, so the
        # keyword index, embeddings and buckets that point at them stay valid.
        "m005_article_text_last",
        [
            f"CREATE TABLE articles_new ({_ARTICLE_COLUMNS_TEXT_LAST})",
            f"INSERT INTO articles_new ({_ARTICLE_NAMES}) SELECT {_ARTICLE_NAMES} FROM articles",
            "DROP TABLE articles",
            "ALTER TABLE articles_new RENAME TO articles",
            "CREATE INDEX articles_url_key ON articles(url_key)",
            "CREATE INDEX articles_content_hash ON articles(content_hash)",
            "CREATE INDEX articles_duplicate_of ON articles(duplicate_of)",
            "CREATE INDEX articles_story ON articles(story_id)",
            "CREATE INDEX articles_published ON articles(published)",
            "CREATE INDEX articles_latest ON articles(coalesce(published, fetched, created_at), id)"
            " WHERE duplicate_of IS NULL",
        ],
    ),
    (
        # a story absorbed by another (clustering joined two fragments of one event) points
        # at the story that absorbed it
        "m007_story_merges",
        ["ALTER TABLE stories ADD COLUMN merged_into INTEGER REFERENCES stories(id)"],
    ),
    (
        # readers: accounts, server-side sessions, per-reader marks, visit counts, comments
        "m006_readers",
        [
            """CREATE TABLE accounts (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'reader')),
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY,
                account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                csrf TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            "CREATE INDEX sessions_account ON sessions(account_id)",
            """CREATE TABLE reader_marks (
                account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                mark TEXT NOT NULL CHECK (mark IN ('read', 'starred', 'saved')),
                marked_at TEXT NOT NULL,
                PRIMARY KEY (account_id, mark, article_id)
            ) WITHOUT ROWID""",
            # visits per article per UTC hour (today and the last 24 h are sums of hours)
            """CREATE TABLE visits (
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                hour TEXT NOT NULL,
                count INTEGER NOT NULL,
                PRIMARY KEY (article_id, hour)
            ) WITHOUT ROWID""",
            "CREATE INDEX visits_hour ON visits(hour)",
            """CREATE TABLE visit_totals (
                article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
                count INTEGER NOT NULL
            )""",
            """CREATE TABLE comments (
                id INTEGER PRIMARY KEY,
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                parent_id INTEGER REFERENCES comments(id) ON DELETE CASCADE,
                account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
                author TEXT NOT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                commenter TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX comments_article ON comments(article_id, status)",
            "CREATE INDEX comments_status ON comments(status, id)",
            "CREATE INDEX comments_commenter ON comments(commenter, status)",
        ],
    ),
    (
        # subscriptions and the poller's per-feed state; feed entries (identity: feed + GUID,
        # then URL) and articles stored from the feed's own content until their page reads
        "m008_subscriptions",
        [
            "ALTER TABLE sources ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE sources ADD COLUMN category TEXT",
            "ALTER TABLE sources ADD COLUMN icon_url TEXT",
            "ALTER TABLE sources ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE sources ADD COLUMN next_check TEXT",
            "ALTER TABLE sources ADD COLUMN check_interval REAL",
            "ALTER TABLE sources ADD COLUMN last_status INTEGER",
            "ALTER TABLE sources ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE sources ADD COLUMN failing_since TEXT",
            "CREATE INDEX sources_due ON sources(next_check) WHERE subscribed = 1 AND enabled = 1",
            """CREATE TABLE feed_entries (
                id INTEGER PRIMARY KEY,
                source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
                guid TEXT,
                url TEXT NOT NULL,
                article_id INTEGER REFERENCES articles(id),
                partial INTEGER NOT NULL DEFAULT 0,
                attempts INTEGER NOT NULL DEFAULT 0,
                retry_at TEXT,
                last_error TEXT,
                created_at TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX feed_entries_guid ON feed_entries(source_id, guid)"
            " WHERE guid IS NOT NULL",
            "CREATE INDEX feed_entries_url ON feed_entries(url)",
            "CREATE INDEX feed_entries_source ON feed_entries(source_id, article_id)",
            "CREATE INDEX feed_entries_retry ON feed_entries(retry_at) WHERE partial = 1",
            # articles.partial (stored from the feed's own content) came with m005's layout
        ],
    ),
    (
        # API tokens: only a SHA-256 digest of each is kept
        "m009_tokens",
        [
            """CREATE TABLE api_tokens (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                digest TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        # which feeds brought an article (search by a feed's category)
        "m010_feed_entries_by_article",
        ["CREATE INDEX feed_entries_article ON feed_entries(article_id)"],
    ),
    (
        # reader-app sync: an API password per account (apart from the sign-in password) with
        # its Fever key, followed stories, and the lookups streams page through
        "m011_sync",
        [
            """CREATE TABLE api_passwords (
                account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
                password_hash TEXT NOT NULL,
                fever_key TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE followed_stories (
                account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
                created_at TEXT NOT NULL,
                PRIMARY KEY (account_id, story_id)
            ) WITHOUT ROWID""",
            # (which feeds an item came through: m010's index on feed_entries.article_id)
            # ot/nt and mark-all-as-read filter on crawl time
            "CREATE INDEX articles_crawled ON articles(created_at) WHERE duplicate_of IS NULL",
        ],
    ),
    (
        # saved searches and the articles each matched as they were ingested
        "m012_saved_searches",
        [
            """CREATE TABLE saved_searches (
                id INTEGER PRIMARY KEY,
                account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                name TEXT NOT NULL COLLATE NOCASE,
                query TEXT NOT NULL,
                mode TEXT NOT NULL,
                filters TEXT NOT NULL DEFAULT '{}',
                webhook_url TEXT,
                webhook_secret TEXT,
                checked_id INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                UNIQUE (account_id, name)
            )""",
            """CREATE TABLE saved_search_matches (
                search_id INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                score REAL NOT NULL,
                matched_at TEXT NOT NULL,
                PRIMARY KEY (search_id, article_id)
            ) WITHOUT ROWID""",
        ],
    ),
    (
        # the visitors seen lately, shared by every process counting visits (the workers of
        # one `serve`): a keyed hash (the key is random per UTC day) and when it last counted
        "m013_visit_seen",
        [
            """CREATE TABLE visit_seen (
                visitor TEXT NOT NULL,
                article_id INTEGER NOT NULL,
                seen REAL NOT NULL,
                PRIMARY KEY (visitor, article_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX visit_seen_time ON visit_seen(seen)",
        ],
    ),
    (
        # a merge re-points the stories the absorbed one had absorbed: without an index that
        # is a pass over every story (300k at a million articles) per merge
        "m014_stories_merged_into",
        [
            "CREATE INDEX stories_merged_into ON stories(merged_into) "
            "WHERE merged_into IS NOT NULL",
        ],
    ),
    # the story of any article without reading its row (rows hold the text: a lookup into
    # a large archive is a page read of its own); ids only grow, so inserts append
    ("m015_articles_story_of", ["CREATE INDEX articles_story_of ON articles(id, story_id)"]),
    (
        # the same, wider: related articles are chosen among 20-30 nearest neighbours by
        # outlet and date, and copies left out, before any of their rows is read
        "m016_articles_outline",
        [
            "CREATE INDEX articles_outline "
            "ON articles(id, story_id, duplicate_of, source, published)",
            "DROP INDEX articles_story_of",
        ],
    ),
]


def apply(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order, atomically; return the names applied now.

    Foreign keys are off while they run (SQLite's procedure for rewriting a table: dropping
    the old one must not cascade into the rows that point at it). A migration that rewrites
    a table keeps every id, and its test checks that no reference dangles afterwards; a
    check here would read every row of a million-article database on the upgrade."""
    db.execute("PRAGMA foreign_keys=OFF")
    try:
        return _apply(db)
    finally:
        db.execute("PRAGMA foreign_keys=ON")


def _apply(db: sqlite3.Connection) -> list[str]:
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
        )
        done = {row[0] for row in db.execute("SELECT name FROM migrations")}
        known = {name for name, _ in MIGRATIONS}
        if done - known:
            raise StoreError(
                f"this database has schema migrations this version of Tidings does not know "
                f"({', '.join(sorted(done - known))}); upgrade Tidings to open it"
            )
        applied = []
        for number, (name, statements) in enumerate(MIGRATIONS, start=1):
            if name in done:
                continue
            for i, statement in enumerate(statements):
                db.execute(statement)
                if i == 0:
                    failpoint("migration")
            db.execute("INSERT INTO migrations (id, name) VALUES (?, ?)", (number, name))
            applied.append(name)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if applied:
        log.info("database migrated: %s", ", ".join(applied))
    return applied
