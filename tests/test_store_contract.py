"""The Store contract, run against every backend (SQLite today; PostgreSQL joins this list
when its store lands). Behaviour only: what the pipeline, the indexes and the stories rely on."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tidings.models import Article
from tidings.store import SQLiteStore, Store, StoreError, StoryState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite"])
def store(request, tmp_path) -> Store:
    opened = SQLiteStore(tmp_path / "contract.db")
    yield opened
    opened.close()


def article(n: int, **fields) -> Article:
    base = {
        "url": f"https://news.example/{n}",
        "title": f"Headline {n}",
        "text": f"Body of article {n}. " * 20,
        "source": f"Outlet {n % 3}",
        "published": T0 + timedelta(hours=n),
        "content_hash": f"hash-{n}",
    }
    base.update(fields)
    return Article(**base)


def unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def insert(store: Store, *articles: Article, vectors: bool = True) -> list[int]:
    with store.transaction() as tx:
        return [
            store.insert_article(tx, a, a.url, [a.id or 0], unit(i) if vectors else None)
            for i, a in enumerate(articles)
        ]


def test_each_transaction_commits_as_the_next_generation(store):
    before = store.generation()
    with store.transaction() as tx:
        assert (tx.previous, tx.generation) == (before, before + 1)
        store.set_meta(tx, "k", "v")
        assert store.get_meta("k", tx) == "v"  # the transaction sees its own write
    assert store.generation() == before + 1
    assert store.get_meta("k") == "v"


def test_a_failed_transaction_leaves_nothing(store):
    before = store.generation()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        store.insert_article(tx, article(1), "k1", [], unit(1))
        raise RuntimeError("crash in the middle of a batch")
    assert store.generation() == before
    assert store.id_by_url(article(1).url) is None
    assert store.vector_count() == 0


def test_an_url_stored_by_another_writer_is_not_an_error(store):
    (first,) = insert(store, article(1))
    with store.transaction() as tx:
        assert store.insert_article(tx, article(1, title="Again"), "k", [], unit(2)) is None
    assert store.article(first).title == "Headline 1"
    assert store.vector_count() == 1


def test_lookups_return_roots_and_demote_keeps_copies_flat(store):
    a, b, c = insert(store, article(1), article(2, content_hash="hash-1"), article(3))
    with store.transaction() as tx:
        copy = store.insert_article(
            tx, article(4, duplicate_of=a, content_hash="hash-1"), article(1).url, [], None
        )
        store.demote(tx, a, c)  # c turns out to be the original of a (and of a's copy)
    assert store.root_of(copy) == c and store.root_of(a) == c and store.root_of(c) == c
    assert store.originals_by_hash("hash-1") == sorted({b, c}, reverse=True)  # newest first
    assert store.originals_by_url_key(article(1).url) == [c]
    assert sorted(x.id for x in store.copies([c])[c]) == sorted([a, copy])
    assert all(x.text == "" for x in store.copies([c])[c])  # summaries: no text


def test_vector_changes_can_be_read_since_a_generation(store):
    first = insert(store, article(1), article(2))
    seen = store.generation()
    second = insert(store, article(3))
    with store.transaction() as tx:
        store.demote(tx, first[0], second[0])
    changed = [int(i) for ids, _ in store.iter_vectors(since=seen) for i in ids]
    assert changed == second
    assert store.removed_vectors(seen).tolist() == [first[0]]
    assert store.removed_vectors(store.generation()).tolist() == []
    assert store.vector_count() == 2
    assert store.vector_ids().tolist() == sorted([first[1], second[0]])
    (ids, vectors), = store.iter_vectors(ids=[second[0], 10**6])
    assert ids.tolist() == second and vectors.shape == (1, 8)


def test_latest_lists_newest_originals_without_text(store):
    ids = insert(store, article(1), article(2), article(3))
    with store.transaction() as tx:
        store.insert_article(tx, article(9, duplicate_of=ids[0]), "k9", [], None)
    latest = store.latest(limit=10)
    assert [a.id for a in latest] == ids[::-1]
    assert all(a.text == "" for a in latest)
    assert [a.id for a in store.latest(limit=1, offset=1)] == [ids[1]]


def test_ids_beyond_64_bits_are_simply_absent(store):
    insert(store, article(1))
    huge = 2**64 + 5
    assert store.articles([huge, -1, 0]) == {}
    assert store.article(huge) is None
    assert store.story(huge) is None and store.story_articles(huge) == []
    assert store.embeddings([huge]) == {}
    assert store.story_ids([huge]) == set()
    for call in (
        lambda: store.latest(offset=2**63),
        lambda: store.latest(limit=-1),
        lambda: store.stories(offset=2**63),
        lambda: store.stories(min_size=2**64),
    ):
        with pytest.raises(ValueError, match="must be between 0 and"):
            call()


def test_story_states_by_window_and_by_generation(store):
    with store.transaction() as tx:
        old = store.create_story(tx, "Old", T0 - timedelta(days=90))
        new = store.create_story(tx, "New", T0)
        for story_id, when in ((old, T0 - timedelta(days=90)), (new, T0)):
            store.save_story(
                tx, StoryState(story_id, "L", when, when, 1, unit(story_id), {"Skarra": 1}, when)
            )
    seen = store.generation()
    active = store.story_states(active_from=T0 - timedelta(days=30))
    assert [s.id for s in active] == [new]
    assert active[0].names == {"Skarra": 1} and active[0].centroid.shape == (8,)
    with store.transaction() as tx:
        state = store.story_states(tx)[0]
        state.size = 2
        store.save_story(tx, state)
    assert [s.id for s in store.story_states(since=seen)] == [state.id]
    assert store.story(state.id).size == 2


def test_story_articles_in_time_order_originals_only(store):
    with store.transaction() as tx:
        story = store.create_story(tx, "S", T0)
        late = store.insert_article(tx, article(5, story_id=story), "k5", [], unit(5))
        early = store.insert_article(tx, article(1, story_id=story), "k1", [], unit(1))
        store.insert_article(tx, article(7, story_id=story, duplicate_of=early), "k7", [], None)
    assert [a.id for a in store.story_articles(story)] == [early, late]
    assert store.story_ids([late, early]) == {story}


def test_keyword_search_never_fails_on_user_syntax(store):
    insert(store, article(1, title="Ferry aground off Skarra", text="The ferry ran aground."))
    assert store.keyword_search('ferry "OR NEAR( * -', 5)[0][0] == store.id_by_url(
        article(1).url
    )
    assert store.keyword_search("***", 5) == []


def test_migrations_apply_atomically(tmp_path, monkeypatch):
    """A migration that fails half-way leaves the schema as it was (a crash after its first
    ALTER TABLE must not leave a database no later open accepts)."""
    from tidings.store.sqlite import migrations

    path = tmp_path / "m.db"
    SQLiteStore(path).close()
    broken = [
        *migrations.MIGRATIONS,
        ("m999_broken", ["ALTER TABLE stories ADD COLUMN extra TEXT", "THIS IS NOT SQL"]),
    ]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        SQLiteStore(path)
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(stories)")}
    assert "extra" not in columns
    fixed = [*broken[:-1], ("m999_broken", ["ALTER TABLE stories ADD COLUMN extra TEXT"])]
    monkeypatch.setattr(migrations, "MIGRATIONS", fixed)
    SQLiteStore(path).close()  # the corrected migration applies cleanly: no duplicate column
    names = [row[0] for row in sqlite3.connect(path).execute("SELECT name FROM migrations")]
    assert names.count("m999_broken") == 1


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "n.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO migrations (id, name) VALUES (999, 'm999_from_the_future')")
    with pytest.raises(StoreError, match="upgrade Tidings"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "x.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a Tidings database"):
        SQLiteStore(path)


def test_keyword_search_leaves_out_the_commonest_terms_when_they_cost_too_much(
    store, monkeypatch
):
    from tidings.store.sqlite import articles

    rare = insert(store, *(article(n, title=f"Common word {n}", text="common " * 30)
                           for n in range(1, 9)),
                  article(20, title="Quillon breach", text="common quillon breach"))[-1]
    assert len(store.keyword_search("common quillon", 50)) == 9  # cheap enough: both terms
    monkeypatch.setattr(articles, "POSTINGS_BUDGET", 3)
    assert [i for i, _ in store.keyword_search("common quillon", 50)] == [rare]
    assert len(store.keyword_search("common", 50)) == 9  # the rarest term is always kept


# -- subscriptions, feed entries, partial articles, tokens ------------------------------


def test_subscribe_is_idempotent_and_lists_with_poll_state(store):
    feed_id, created = store.subscribe("https://a.example/feed", "A", "News")
    assert created
    assert store.subscribe("https://a.example/feed", "Again", "Other") == (feed_id, False)
    (listed,) = store.subscriptions()
    assert (listed["id"], listed["title"], listed["category"]) == (feed_id, "A", "News")
    assert listed["enabled"] is True and listed["error_count"] == 0 and listed["entries"] == 0
    assert store.subscription_by_url("https://a.example/feed")["id"] == feed_id
    # a source known from a one-off ingest becomes a subscription
    plain = store.upsert_source("https://b.example/rss", "B", "feed")
    assert store.subscriptions([plain]) == []
    assert store.subscribe("https://b.example/rss", "", "Tech") == (plain, True)
    assert store.subscription(plain)["title"] == "B"


def test_unsubscribe_keeps_the_source(store):
    feed_id, _ = store.subscribe("https://a.example/feed", "A")
    assert store.unsubscribe(feed_id)
    assert not store.unsubscribe(feed_id)
    assert store.subscriptions() == [] and store.source("https://a.example/feed") is not None


def test_due_subscriptions_and_record_poll(store):
    now = T0
    a, _ = store.subscribe("https://a.example/feed", "A")
    b, _ = store.subscribe("https://b.example/feed", "B")
    assert [s["id"] for s in store.due_subscriptions(now)] == [a, b]
    assert store.next_check_due() == ""
    store.record_poll(a, {"next_check": now + timedelta(hours=1), "last_status": 200,
                          "check_interval": 3600.0, "checked_at": now})
    store.record_poll(b, {"next_check": now - timedelta(minutes=1), "error_count": 2,
                          "last_error": "HTTP 500", "failing_since": now})
    assert [s["id"] for s in store.due_subscriptions(now)] == [b]
    assert datetime.fromisoformat(store.next_check_due()) == now - timedelta(minutes=1)
    assert store.subscription(b)["last_error"] == "HTTP 500"
    store.record_poll(b, {"enabled": 0, "next_check": None})
    assert [s["id"] for s in store.due_subscriptions(now + timedelta(days=9))] == [a]
    with pytest.raises(ValueError, match="not poller fields"):
        store.record_poll(a, {"subscribed": 0})


def test_a_moved_url_already_taken_is_not_applied(store):
    a, _ = store.subscribe("https://a.example/feed", "A")
    store.subscribe("https://b.example/feed", "B")
    assert not store.record_poll(a, {"url": "https://b.example/feed", "last_status": 200})
    assert store.subscription(a)["url"] == "https://a.example/feed"
    assert store.subscription(a)["last_status"] == 200
    assert store.record_poll(a, {"url": "https://a.example/new"})
    assert store.subscription(a)["url"] == "https://a.example/new"


def test_entry_identity_is_feed_and_guid_then_url(store):
    (stored,) = insert(store, article(1))
    feed, _ = store.subscribe("https://a.example/feed", "A")
    other, _ = store.subscribe("https://b.example/feed", "B")
    assert store.record_entries(feed, [
        {"guid": "g1", "url": article(1).url, "article_id": stored},
        {"guid": None, "url": "https://news.example/unstored"},
    ]) == 2
    # the same rows again add nothing
    assert store.record_entries(feed, [{"guid": "g1", "url": "https://x.example/moved"},
                                       {"guid": None, "url": "https://news.example/unstored"}]) == 0
    known = store.known_entries(feed, [
        ("g1", "https://x.example/moved"),  # same GUID, new URL: known
        (None, article(1).url),  # stored article
        ("g2", "https://news.example/unstored"),  # URL known to a feed without an article
        ("g3", "https://news.example/new"),
    ])
    assert known == [stored, stored, 0, None]
    # in another feed the GUID means nothing, the URL still does
    assert store.known_entries(other, [("g1", "https://x.example/moved"),
                                       ("g9", article(1).url)]) == [None, stored]
    assert store.subscription(feed)["entries"] == 1


def test_partial_articles_are_upgraded_in_place(store):
    (partial_id,) = insert(store, article(1, partial=True, text="Short feed summary."))
    (whole_id,) = insert(store, article(2))
    assert store.article(partial_id).partial is True
    feed, _ = store.subscribe("https://a.example/feed", "A")
    store.record_entries(feed, [{"guid": "g", "url": article(1).url, "article_id": partial_id,
                                 "partial": True, "retry_at": T0}])
    (due,) = store.partial_entries_due(T0)
    assert (due["article_id"], due["url"], due["attempts"]) == (partial_id, article(1).url, 0)
    assert store.partial_entries_due(T0 - timedelta(seconds=1)) == []
    before = store.generation()
    full = article(1, title="Whole story", text="Zanzibarite harbour pilots. " * 30,
                   content_hash="whole")
    with store.transaction() as tx:
        assert store.upgrade_article(tx, partial_id, full, [7, 8], unit(9)) == "original"
        assert store.upgrade_article(tx, whole_id, full, [], unit(9)) is None  # not partial
    upgraded = store.article(partial_id)
    assert (upgraded.title, upgraded.partial, upgraded.content_hash) == (
        "Whole story", False, "whole")
    assert [i for i, _ in store.keyword_search("zanzibarite", 5)] == [partial_id]
    assert np.allclose(store.embeddings([partial_id])[partial_id], unit(9))
    changed = np.concatenate([ids for ids, _ in store.iter_vectors(since=before)])
    assert changed.tolist() == [partial_id]
    store.record_entry_retry(due["id"], None, None, upgraded=True)
    assert store.partial_entries_due(T0 + timedelta(days=1)) == []


def test_tokens_are_stored_by_digest(store):
    assert store.add_token("laptop", "d1")
    assert not store.add_token("laptop", "d2")
    assert store.token_by_digest("d1")["name"] == "laptop"
    assert store.token_by_digest("d2") is None
    assert [t["name"] for t in store.tokens()] == ["laptop"]
    assert "digest" not in store.tokens()[0]
    assert store.delete_token("laptop") and not store.delete_token("laptop")
    assert store.token_by_digest("d1") is None
