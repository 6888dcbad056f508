"""The articles row keeps its large text last. SQLite stores a row as one record and spills
what does not fit in a page to a chain of overflow pages; reading a column that sits after the
text means walking that chain. With story_id and duplicate_of after the text, the 64-neighbour
story lookup of each ingested article read megabytes at a million articles (7 ms against
0.3 ms for a column before the text)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tidings.models import Article
from tidings.store import SQLiteStore, StoryState
from tidings.store.sqlite import articles as sqlite_articles
from tidings.store.sqlite import migrations
from tidings.store.sqlite.db import ARTICLE_COLUMNS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def columns(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(articles)")]


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    return v / np.linalg.norm(v)


def vectors_of(store) -> dict[int, np.ndarray]:
    out = {}
    for keys, matrix in store.iter_vectors():
        out.update(zip(keys.tolist(), matrix, strict=True))
    return out


def test_the_text_is_the_last_column_of_an_article_row(tmp_path):
    path = tmp_path / "t.db"
    SQLiteStore(path).close()
    names = columns(path)
    assert names[-1] == "text"
    assert names[-2] == "excerpt"  # the only other column that may be long


def test_an_older_database_is_rewritten_to_the_new_layout_and_keeps_everything(
    tmp_path, monkeypatch
):
    path = tmp_path / "old.db"
    everything = list(migrations.MIGRATIONS)
    before_layout = [m for m in everything if m[0] < "m005"]
    monkeypatch.setattr(migrations, "MIGRATIONS", before_layout)
    # an older Tidings wrote no `partial` column (it came with the new layout)
    monkeypatch.setattr(
        sqlite_articles, "ARTICLE_COLUMNS", tuple(c for c in ARTICLE_COLUMNS if c != "partial")
    )
    store = SQLiteStore(path)
    assert columns(path)[-1] != "text"  # the layout an older Tidings made
    with store.transaction() as tx:
        story = store.create_story(tx, "Harbour strike", T0)
        ids = []
        for n in range(6):
            a = Article(
                url=f"https://news.example/{n}",
                title=f"Dockers walk out at pier {n}",
                text=f"Pier {n} stopped work this morning. " + "Long report text. " * 400,
                excerpt=f"Pier {n} stopped work.",
                source="Harbour Line",
                published=T0 + timedelta(hours=n),
                content_hash=f"hash-{n}",
                story_id=story,
                duplicate_of=ids[0] if n == 5 else None,
            )
            ids.append(store.insert_article(tx, a, f"key-{n}", [n, 100 + n], unit(n)))
        store.save_story(
            tx, StoryState(story, "Harbour strike", T0, T0, 5, unit(99), {"Pier": 5}, T0)
        )
    old = store.articles(ids)
    old_vectors = vectors_of(store)
    old_hits = store.keyword_search("dockers pier", 10)
    store.close()

    monkeypatch.setattr(migrations, "MIGRATIONS", everything)
    monkeypatch.setattr(sqlite_articles, "ARTICLE_COLUMNS", ARTICLE_COLUMNS)
    store = SQLiteStore(path)
    assert columns(path)[-1] == "text"
    assert store.articles(ids) == old
    new_vectors = vectors_of(store)
    assert new_vectors.keys() == old_vectors.keys() and len(new_vectors) == 6
    assert all(np.array_equal(new_vectors[k], old_vectors[k]) for k in old_vectors)
    assert store.keyword_search("dockers pier", 10) == old_hits
    assert store.story_ids(ids) == {story}
    assert store.root_of(ids[5]) == ids[0]
    assert store.bucket_candidates([3, 103]) == [ids[3]]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"articles_latest", "articles_story", "articles_content_hash"} <= indexes
    # the foreign keys are on again and guard the new table
    orphan = Article(url="https://news.example/new", text="x", content_hash="h", story_id=999)
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
        store.insert_article(tx, orphan, "k", [], None)
    store.close()


def _live_connections() -> int:
    import gc

    gc.collect()
    # type(), not isinstance(): isinstance reads `__class__`, which some objects (torch's
    # deprecated aliases, when the model is loaded in this process) answer with a warning
    return sum(issubclass(type(o), sqlite3.Connection) for o in gc.get_objects())


def test_a_finished_threads_reader_connection_is_closed(tmp_path):
    # a server's worker threads come and go (anyio retires idle ones, a test client starts
    # one per request): each reads through a connection of its own, which must not outlive
    # it (each holds a file descriptor and up to 64 MiB of page cache)
    import threading

    store = SQLiteStore(tmp_path / "t.db")
    try:
        store.latest(1)
        before = _live_connections()
        for _ in range(40):
            thread = threading.Thread(target=store.latest, args=(1,))
            thread.start()
            thread.join()
        assert _live_connections() == before
    finally:
        store.close()
