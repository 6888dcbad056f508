"""`tidings db copy`: an archive moved SQLite → PostgreSQL → SQLite keeps every row (counts
and checksums compared), answers the same searches, and an interrupted copy goes on where
it stopped. Needs the PostgreSQL test server (skipped, and said, without it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from tidings.cli import main
from tidings.models import Comment
from tidings.store import SQLiteStore, StoreError
from tidings.store.copy import TABLES, copy_database, table_digest

from . import test_engine as engine_tests

pytest.importorskip("psycopg")


@pytest.fixture
def archive(make_engine, tmp_path):
    """A small SQLite archive holding a bit of everything: originals, copies, stories,
    accounts, a session, marks, visits, a comment thread, an API password, a followed story
    and a saved search with its matches."""
    engine = make_engine(tmp_path / "sqlite")
    engine.ingest_articles(engine_tests.sample_articles())
    store = engine.store
    ada = store.add_account("Ada", "hash", "admin")
    store.add_session("token", ada, "csrf", datetime.now(UTC) + timedelta(days=1))
    ids = [r["id"] for r in engine.export()]
    store.set_marks(ada, ids[:3], "starred", True)
    store.add_visits({(ids[0], "2026-11-03T09"): 4, (ids[1], "2026-11-03T10"): 1})
    first = store.add_comment(Comment(ids[0], "Ada", "First", "approved"), "k1")
    store.add_comment(Comment(ids[0], "Bob", "Reply", "pending", parent_id=first), "k2")
    store.set_api_password(ada, "api-hash", "0123abcd")
    assert store.follow_story(ada, engine.stories()[0].id, True)
    search = store.add_saved_search(ada, {
        "name": "Ferries", "query": "ferry", "mode": "keyword", "filters": {"category": "World"},
        "webhook_url": "https://hooks.example/x", "webhook_secret": "s3cret", "checked_id": 0,
    })
    assert store.add_search_matches(search, [(ids[0], 0.75), (ids[1], 0.5)], ids[-1])
    engine.close()
    return tmp_path / "sqlite" / "tidings.db"


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def digests(store) -> dict[str, tuple[int, str]]:
    return {t.name: table_digest(store, t) for t in TABLES}


def test_an_archive_moves_to_postgres_and_back(archive, postgres_url, tmp_path, make_engine):
    result = run("db", "copy", "--from", f"sqlite:///{archive}", "--to", postgres_url)
    assert result.exit_code == 0, result.output
    assert "counts and checksums match" in result.output
    assert "articles" in result.output and "matches the source" in result.output

    sqlite_engine = make_engine(archive.parent)
    pg_engine = make_engine(tmp_path / "pg-data", database_url=postgres_url)
    assert pg_engine.stats() | {"vectors_indexed": 0} == sqlite_engine.stats() | {
        "vectors_indexed": 0
    }
    assert pg_engine.stats()["vectors_indexed"] == pg_engine.stats()["originals"] == 4
    for query in ("ferry aground Skarra", "central bank rates"):
        for mode in ("semantic", "keyword"):
            mine = [h.article.id for h in pg_engine.search(query, mode=mode, limit=3)]
            theirs = [h.article.id for h in sqlite_engine.search(query, mode=mode, limit=3)]
            assert mine[0] == theirs[0], (query, mode)
    story = sqlite_engine.stories()[0]
    assert pg_engine.story(story.id).articles == sqlite_engine.story(story.id).articles
    account, _ = pg_engine.store.account_credentials("ada")
    assert pg_engine.store.comment_counts([1]) == sqlite_engine.store.comment_counts([1])
    assert pg_engine.store.marks(account.id, [1, 2, 3]) == sqlite_engine.store.marks(
        account.id, [1, 2, 3]
    )
    # the reader-app sync state came along
    assert pg_engine.store.api_credentials("ada")[1] == "api-hash"
    assert pg_engine.store.account_by_fever_key("0123ABCD").id == account.id
    assert pg_engine.store.followed_stories(account.id) == sqlite_engine.store.followed_stories(
        account.id)
    assert pg_engine.store.saved_searches() == sqlite_engine.store.saved_searches()
    assert pg_engine.store.saved_searches()[0]["matches"] == 2
    # new rows get new ids after the copied ones
    new = pg_engine.store.add_account("Carol", "h", "reader")
    assert new == account.id + 1
    later = pg_engine.store.add_saved_search(account.id, {
        "name": "Banks", "query": "bank", "mode": "semantic"})
    assert later == pg_engine.store.saved_searches()[0]["id"] + 1
    assert pg_engine.store.remove_saved_search(account.id, later)

    back = tmp_path / "back.db"
    pg_engine.store.remove_account("Carol")
    result = run("db", "copy", "--from", postgres_url, "--to", f"sqlite:///{back}")
    assert result.exit_code == 0, result.output
    copied, original = SQLiteStore(back), SQLiteStore(archive)
    try:
        mine, theirs = digests(copied), digests(original)
        # Carol and a saved search came and went on PostgreSQL: four more generations
        theirs["accounts"], theirs["meta"] = mine["accounts"], mine["meta"]
        assert mine == theirs
        assert copied.generation() == original.generation() + 4
        assert copied.keyword_search("ferry", 5) == original.keyword_search("ferry", 5)
    finally:
        copied.close()
        original.close()
    engine = make_engine(tmp_path / "back-data", database_url=f"sqlite:///{back}")
    top = engine.search("ship stuck on a sandbar near an island", mode="semantic")[0]
    assert "ferry" in top.article.title.lower()  # the usearch index was built from the copy


def test_an_interrupted_copy_goes_on_where_it_stopped(archive, postgres_url, monkeypatch):
    from tidings.store.postgres import PostgresStore, rows

    source, target = SQLiteStore(archive), PostgresStore(postgres_url)
    try:
        load = rows.RowQueries.load_rows
        calls = {"n": 0}

        def failing(self, tx, table, batch):
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt  # killed in the middle of the articles
            return load(self, tx, table, batch)

        monkeypatch.setattr(rows.RowQueries, "load_rows", failing)
        with pytest.raises(KeyboardInterrupt):
            copy_database(source, target, batch=2)
        held = target.table_count(TABLES[2])
        assert 0 < held < source.table_count(TABLES[2])
        monkeypatch.setattr(rows.RowQueries, "load_rows", load)
        seen: list[tuple[str, int, int]] = []
        report = copy_database(source, target, batch=2,
                               progress=lambda *a: seen.append(a))
        assert report["articles"]["copied"] == source.table_count(TABLES[2]) - held
        assert report["articles"]["source"] == report["articles"]["target"]
        assert ("articles", held, 6) in seen  # the progress starts from what was there
        with pytest.raises(StoreError, match="not empty"):
            copy_database(source, target)
    finally:
        source.close()
        target.close()
