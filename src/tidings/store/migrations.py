"""Schema migrations for the SQLite store: an ordered list; applied ones are recorded."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE sources (
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
        );

        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL DEFAULT '',
            first_seen TEXT,
            last_seen TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            centroid BLOB,
            created_at TEXT NOT NULL
        );
        CREATE INDEX stories_last_seen ON stories(last_seen);

        CREATE TABLE articles (
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
        );
        CREATE INDEX articles_url_key ON articles(url_key);
        CREATE INDEX articles_content_hash ON articles(content_hash);
        CREATE INDEX articles_duplicate_of ON articles(duplicate_of);
        CREATE INDEX articles_story ON articles(story_id);
        CREATE INDEX articles_published ON articles(published);

        CREATE TABLE embeddings (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );

        -- MinHash LSH buckets of original (non-duplicate) articles
        CREATE TABLE minhash_buckets (
            bucket INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            PRIMARY KEY (bucket, article_id)
        ) WITHOUT ROWID;

        -- keyword index over originals only, kept in step by the store inside each write
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, text, tokenize='unicode61 remove_diacritics 2'
        );
        """
    )


def m002_story_names(db: sqlite3.Connection) -> None:
    # the names (capitalised words) a story's articles mention, for clustering
    db.execute("ALTER TABLE stories ADD COLUMN names TEXT")


MIGRATIONS: list[Migration] = [m001_initial, m002_story_names]


def apply(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
    )
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    applied = []
    for number, migration in enumerate(MIGRATIONS, start=1):
        if migration.__name__ in done:
            continue
        with db:
            migration(db)
            db.execute(
                "INSERT INTO migrations (id, name) VALUES (?, ?)", (number, migration.__name__)
            )
        applied.append(migration.__name__)
    return applied
