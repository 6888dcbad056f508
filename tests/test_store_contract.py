"""The Store contract, run against every backend: SQLite, and PostgreSQL when a test server
is named by TIDINGS_TEST_POSTGRES_URL (CI starts one; without it those runs are skipped and
the summary says the PostgreSQL suite did not run). Behaviour only: what the pipeline, the
indexes and the stories rely on."""

from __future__ import annotations

import importlib
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tidings.models import Article
from tidings.store import SQLiteStore, Store, StoreError, StoryState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Store:
    if request.param == "postgres":
        from tidings.store.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        opened = SQLiteStore(tmp_path / "contract.db")
    yield opened
    opened.close()


def integrity_errors() -> tuple[type[Exception], ...]:
    """What a backend raises for a row its schema refuses."""
    errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.IntegrityError)


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
    summaries = store.story_articles(story, text=False)
    assert [a.id for a in summaries] == [early, late] and {a.text for a in summaries} == {""}
    assert store.story_ids([late, early]) == {story}
    (middle,) = insert(store, article(3, story_id=story))
    assert [a.id for a in store.story_articles(story, latest=2)] == [middle, late]
    assert [a.id for a in store.story_articles(story, text=False, latest=10)] == [
        early, middle, late
    ]


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
    articles = importlib.import_module(type(store).__module__ + ".articles")
    rare = insert(store, *(article(n, title=f"Common word {n}", text="common " * 30)
                           for n in range(1, 9)),
                  article(20, title="Quillon breach", text="common quillon breach"))[-1]
    assert len(store.keyword_search("common quillon", 50)) == 9  # cheap enough: both terms
    monkeypatch.setattr(articles, "POSTINGS_BUDGET", 3)
    assert [i for i, _ in store.keyword_search("common quillon", 50)] == [rare]
    assert len(store.keyword_search("common", 50)) == 9  # the rarest term is always kept


def test_keyword_search_keeps_the_rarest_term_when_every_term_costs_too_much(store, monkeypatch):
    articles = importlib.import_module(type(store).__module__ + ".articles")
    insert(store, *(article(n, title=f"Common word {n}", text="common " * 30) for n in range(1, 6)))
    breach = insert(
        store,
        *(article(n, title=f"Quillon breach {n}", text="common breach") for n in range(10, 14)),
    )
    monkeypatch.setattr(articles, "POSTINGS_BUDGET", 3)  # both terms are over it
    found = {i for i, _ in store.keyword_search("common breach", 50)}
    assert found == set(breach)  # "breach" (4 documents), not "common" (9) nor both


def test_keyword_terms_over_the_budget_still_rank_the_documents_that_hold_them(store, monkeypatch):
    articles = importlib.import_module(type(store).__module__ + ".articles")
    insert(store, *(article(n, title=f"Common word {n}", text="common " * 30) for n in range(1, 9)))
    insert(store, *(article(n, title=f"Filler {n}", text="nothing to see") for n in range(30, 60)))
    alone, both = insert(
        store,
        # alike but for one word: on "quillon" alone they tie, and the first one leads
        article(20, title="Quillon breach", text="the quillon breach, a rare one"),
        article(21, title="Quillon breach", text="the quillon breach, a common one"),
    )
    monkeypatch.setattr(articles, "POSTINGS_BUDGET", 3)  # "common" (9 documents) is over it
    assert [i for i, _ in store.keyword_search("common quillon", 50)] == [both, alone]


def test_articles_with_only_the_opening_of_their_text(store):
    long = "Opening words of the report. " + "x" * 30_000 + " the end"
    (first,) = insert(store, article(1, text=long))
    whole = store.articles([first])[first]
    opened = store.articles([first], opening=28)[first]
    assert whole.text == long and opened.text == long[:28]
    assert opened.title == whole.title and opened.published == whole.published
    assert opened.source == whole.source and opened.content_hash == whole.content_hash
    assert not store.articles([first], text=False, opening=28)[first].text


def test_sources_of_name_each_articles_source_original_and_date(store):
    first, other = insert(store, article(1, source="Daily"), article(2, source=None))
    copy = insert(store, article(3, duplicate_of=first, published=None), vectors=False)[0]
    assert store.sources_of([first, other, copy, 999]) == {
        first: ("Daily", None, T0 + timedelta(hours=1)),
        other: (None, None, T0 + timedelta(hours=2)),
        copy: ("Outlet 0", first, None),
    }


def test_neighbours_of_an_article_with_outline_and_vector_itself_left_out(store, tmp_path):
    from tidings.index import open_vector_index

    with store.transaction() as tx:
        store.set_meta(tx, "dim", "8")
    ids = insert(store, *(article(n, source=f"Desk {n}") for n in range(1, 7)))
    copy = insert(store, article(9, duplicate_of=ids[0]), vectors=False)[0]
    faces = open_vector_index(store, tmp_path / "v.usearch", "f32", 64)
    found = faces.neighbours(ids[2], 3)
    vectors = {i: unit(n) for n, i in enumerate(ids)}
    exact = sorted(
        (i for i in ids if i != ids[2]), key=lambda i: -float(vectors[i] @ vectors[ids[2]])
    )[:3]
    assert [n.id for n in found] == exact
    assert [round(n.score, 2) for n in found] == [
        round(float(vectors[i] @ vectors[ids[2]]), 2) for i in exact
    ]
    for n in found:
        assert n.outline == store.sources_of([n.id])[n.id]
        assert n.outline.source == f"Desk {ids.index(n.id) + 1}"
        np.testing.assert_allclose(n.vector, vectors[n.id], atol=1e-3)
    assert faces.neighbours(copy, 3) is None  # a copy keeps no vector
    assert faces.neighbours(ids[0], 0) == []


def test_a_merged_story_moves_its_articles_and_leads_to_the_other(store):
    with store.transaction() as tx:
        keep = store.create_story(tx, "Kept", T0)
        gone = store.create_story(tx, "Gone", T0)
        older = store.create_story(tx, "Absorbed earlier", T0)
        for story_id in (keep, gone, older):
            store.save_story(tx, StoryState(story_id, "L", T0, T0, 1, unit(story_id), {}, T0))
        a = store.insert_article(tx, article(1, story_id=keep), "k1", [], unit(1))
        b = store.insert_article(tx, article(2, story_id=gone), "k2", [], unit(2))
        store.merge_story(tx, older, gone)
    seen = store.generation()
    with store.transaction() as tx:
        store.merge_story(tx, gone, keep)
    assert store.story_ids([a, b]) == {keep}
    assert store.story(gone).id == keep and store.story(older).id == keep  # chains stay flat
    assert [s.id for s in store.stories(limit=10)] == [keep]
    changed = {s.id: s for s in store.story_states(since=seen)}
    assert changed[gone].merged_into == keep and changed[gone].centroid is None
    assert gone not in {s.id for s in store.story_states(active_from=T0 - timedelta(days=1))}
# -- readers -------------------------------------------------------------------------------


def test_accounts_are_unique_by_name_whatever_the_case(store):
    first = store.add_account("Ada", "hash-1", "admin")
    assert first is not None
    assert store.add_account("ada", "hash-2", "reader") is None
    account, stored = store.account_credentials("ADA")
    assert (account.id, account.name, account.role, stored) == (first, "Ada", "admin", "hash-1")
    store.set_password_hash(first, "hash-3")
    assert store.account_credentials("ada")[1] == "hash-3"
    store.add_account("bob", "h", "reader")
    assert [a.name for a in store.accounts()] == ["Ada", "bob"]
    assert store.account(2**64) is None and store.account_credentials("nobody") is None
    with pytest.raises(integrity_errors()):
        store.add_account("eve", "h", "superuser")  # only the two roles exist


def test_sessions_go_with_their_account(store):
    account = store.add_account("ada", "h", "reader")
    expires = T0 + timedelta(days=3650)
    store.add_session("token-hash", account, "csrf-1", expires)
    found, csrf, when = store.session("token-hash")
    assert (found.name, csrf, when) == ("ada", "csrf-1", expires)
    assert store.session("other") is None
    store.add_session("second", account, "csrf-2", expires)
    store.remove_session("token-hash")
    assert store.session("token-hash") is None and store.session("second") is not None
    assert store.remove_account("ada") and not store.remove_account("ada")
    assert store.session("second") is None


def test_expired_sessions_are_dropped_when_new_ones_start(store):
    account = store.add_account("ada", "h", "reader")
    store.add_session("old", account, "c", T0 - timedelta(days=1))
    assert store.session("old") is not None  # read as stored; the readers room checks expiry
    store.add_session("new", account, "c", T0 + timedelta(days=3650))
    assert store.session("old") is None


def test_marks_per_account_and_missing_articles_ignored(store):
    a, b = insert(store, article(1), article(2))
    ada = store.add_account("ada", "h", "reader")
    bob = store.add_account("bob", "h", "reader")
    assert store.set_marks(ada, [a, b, 10**9], "read", True) == 2
    assert store.set_marks(ada, [a], "read", True) == 0  # already marked
    store.set_marks(ada, [b], "starred", True)
    store.set_marks(bob, [a], "saved", True)
    assert store.marks(ada, [a, b]) == {a: {"read"}, b: {"read", "starred"}}
    assert store.marks(bob, [a, b]) == {a: {"saved"}, b: set()}
    assert store.set_marks(ada, [a], "read", False) == 1
    assert [x.id for x in store.marked(ada, "read")] == [b]
    assert store.marked(ada, "read")[0].text == ""
    with pytest.raises(ValueError, match="unknown mark"):
        store.set_marks(ada, [a], "liked", True)
    with pytest.raises(ValueError, match="unknown mark"):
        store.marked(ada, "liked")


def test_visits_add_up_by_hour_and_in_total(store):
    a, b = insert(store, article(1), article(2))
    store.add_visits({(a, "2026-11-02T08"): 3, (a, "2026-11-03T09"): 2, (b, "2026-11-03T10"): 1})
    store.add_visits({(a, "2026-11-03T09"): 4, (10**9, "2026-11-03T09"): 5})  # gone: dropped
    assert store.visit_counts([a, b, 10**9], "2026-11-03T00") == {
        a: (9, 6), b: (1, 1), 10**9: (0, 0)
    }
    assert store.most_visited("2026-11-03T00", 5) == [(a, 6), (b, 1)]
    assert store.most_visited("2026-11-04T00", 5) == []
    with pytest.raises(RuntimeError), store.transaction() as tx:  # in a caller's transaction
        store.add_visits({(b, "2026-11-03T10"): 7}, tx)
        raise RuntimeError("rolled back")
    with store.transaction() as tx:
        store.add_visits({(b, "2026-11-03T11"): 2}, tx)
        committed_as = tx.generation
    assert store.visit_counts([b], "2026-11-03T00") == {b: (3, 3)}
    assert store.generation() == committed_as


def test_a_view_counts_once_per_visitor_and_window_for_every_process(store):
    a, b = insert(store, article(1), article(2))
    views = [("v1", a, 100.0), ("v1", a, 160.0), ("v1", b, 161.0), ("v2", a, 170.0)]
    with store.transaction() as tx:
        assert store.counted_views(tx, views, 1800.0) == [True, False, True, True]
    with store.transaction() as tx:  # later, maybe from another process
        assert store.counted_views(tx, [("v1", a, 1000.0), ("v1", a, 1901.0)], 1800.0) == [
            False, True
        ]
    with pytest.raises(RuntimeError), store.transaction() as tx:
        store.counted_views(tx, [("v3", a, 2000.0)], 1800.0)
        raise RuntimeError("rolled back: not remembered")
    with store.transaction() as tx:
        assert store.counted_views(tx, [("v3", a, 2001.0)], 1800.0) == [True]


def test_comments_threads_statuses_and_counts(store):
    from tidings.models import Comment

    a, b = insert(store, article(1), article(2))
    first = store.add_comment(Comment(a, "Ada", "First!", "approved"), "key-ada")
    reply = store.add_comment(Comment(a, "Bob", "Reply", "pending", parent_id=first), "key-bob")
    assert store.add_comment(Comment(b, "Bob", "Wrong thread", parent_id=first), "k") is None
    assert store.add_comment(Comment(10**9, "Bob", "No article"), "k") is None
    assert store.add_comment(Comment(a, "Bob", "Huge parent", parent_id=2**70), "k") is None
    assert [c.id for c in store.comments(a)] == [first]
    assert [c.id for c in store.comments(a, ("approved", "pending"))] == [first, reply]
    assert store.comment(reply).parent_id == first
    assert [c.id for c in store.comments_with_status("pending")] == [reply]
    assert store.commenter_approved("key-ada") and not store.commenter_approved("key-bob")
    assert store.set_comment_status(reply, "approved")
    assert store.commenter_approved("key-bob")
    assert store.comment_counts([a, b]) == {a: 2, b: 0}
    assert not store.set_comment_status(10**9, "approved")
    with pytest.raises(ValueError):
        store.set_comment_status(reply, "published")
    assert store.remove_comment(first)  # its replies go with it
    assert store.comments(a, ("approved", "pending", "rejected")) == []


def test_a_comment_body_is_stored_exactly_as_given(store):
    from tidings.models import Comment

    (a,) = insert(store, article(1))
    body = "<script>alert('x')</script> ' OR 1=1; -- \"quoted\" ü ✓"
    cid = store.add_comment(Comment(a, "<b>x</b>", body, "approved"), "k")
    assert (store.comment(cid).body, store.comment(cid).author) == (body, "<b>x</b>")


def test_story_summaries_lead_outlets_and_burst(store):
    with store.transaction() as tx:
        story = store.create_story(tx, "S", T0)
        early = store.insert_article(
            tx, article(1, story_id=story, source="A"), "k1", [], unit(1)
        )
        store.insert_article(tx, article(40, story_id=story, source="B"), "k40", [], unit(2))
        store.insert_article(tx, article(50, story_id=story, source="C"), "k50", [], unit(3))
        store.insert_article(
            tx, article(51, story_id=story, source="D", duplicate_of=early), "k51", [], None
        )
        late = T0 + timedelta(hours=50)
        store.save_story(tx, StoryState(story, "S", T0, late, 3, unit(9), {}, T0))
    summary = store.story_summaries([story, 10**9])[story]
    assert summary["lead"].id == early and summary["lead"].text == ""
    assert summary["sources"] == 4  # the copy's outlet counts
    assert summary["burst"] == 2  # originals at hours 40 and 50, within 24 h of hour 50
    outlets = {o["source"]: (o["originals"], o["copies"]) for o in store.outlets()}
    assert outlets == {"A": (1, 0), "B": (1, 0), "C": (1, 0), "D": (0, 1)}


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


def test_feed_categories_of_articles_include_their_copies_feeds(store):
    a, b, c = insert(store, article(1), article(2), article(3))
    (copy,) = insert(store, article(4, duplicate_of=a))
    world, _ = store.subscribe("https://w.example/feed", "W", "World")
    tech, _ = store.subscribe("https://t.example/feed", "T", "Tech")
    plain, _ = store.subscribe("https://p.example/feed", "P")  # no category
    store.record_entries(world, [{"guid": "1", "url": article(1).url, "article_id": a}])
    store.record_entries(tech, [{"guid": "2", "url": article(4).url, "article_id": copy}])
    store.record_entries(plain, [{"guid": "3", "url": article(2).url, "article_id": b}])
    assert store.feed_categories([a, b, c]) == {a: {"World", "Tech"}}
    assert store.feed_categories([]) == {}


# -- reader-app sync -----------------------------------------------------------------------


def _feed_items(store):
    """Two feeds (one in category "World"); five originals, a copy of #1 from feed B."""
    a, _ = store.subscribe("https://a.example/feed", "A", "World")
    b, _ = store.subscribe("https://b.example/feed", "B")
    ids = insert(store, *(article(n) for n in range(1, 6)))
    (copy,) = insert(store, article(9, duplicate_of=ids[0]), vectors=False)
    store.record_entries(a, [{"url": f"https://news.example/{n}", "article_id": i}
                             for n, i in zip(range(1, 4), ids[:3], strict=True)])
    store.record_entries(b, [{"url": "https://news.example/9", "article_id": copy},
                             {"url": "https://news.example/4", "article_id": ids[3]}])
    return a, b, ids, copy


def test_api_password_and_fever_key(store):
    account = store.add_account("Reader", "login-hash", "reader")
    assert store.api_credentials("reader") is None  # no API password yet
    store.set_api_password(account, "api-hash-1", "ABCDEF0123")
    found, api_hash = store.api_credentials("READER")
    assert (found.id, api_hash) == (account, "api-hash-1")
    assert store.account_by_fever_key("abcdef0123").id == account
    assert store.account_by_fever_key("AbCdEf0123").id == account
    store.set_api_password(account, "api-hash-2", "999")  # replaced, old key gone
    assert store.api_credentials("reader")[1] == "api-hash-2"
    assert store.account_by_fever_key("abcdef0123") is None
    assert store.account_credentials("reader")[1] == "login-hash"  # sign-in password untouched


def test_stream_items_filters_and_keyset(store):
    from tidings.store import StreamQuery

    a, b, ids, copy = _feed_items(store)
    reader = store.add_account("r", "h", "reader")
    everything = store.stream_items(reader, StreamQuery())
    assert [i.id for i in everything] == sorted(ids, reverse=True)  # copies are not items
    first = next(i for i in everything if i.id == ids[0])
    assert first.feed_ids == (a, b)  # its own feed first, then its copy's
    assert first.crawled is not None
    assert [i.id for i in store.stream_items(reader, StreamQuery(feed_ids=[b]))] == [
        ids[3], ids[0]]
    assert [i.id for i in store.stream_items(reader, StreamQuery(categories=["World"]))] == [
        ids[2], ids[1], ids[0]]
    assert store.stream_items(reader, StreamQuery(ids=[copy])) == []
    assert store.stream_items(reader, StreamQuery(feed_ids=[])) == []
    store.set_marks(reader, ids[:2], "read", True)
    store.set_marks(reader, [ids[1]], "starred", True)
    unread = store.stream_items(reader, StreamQuery(unmarked=("read",)))
    assert [i.id for i in unread] == sorted(ids[2:], reverse=True)
    assert [i.id for i in store.stream_items(
        reader, StreamQuery(marked=("read", "starred")))] == [ids[1]]
    page = store.stream_items(reader, StreamQuery(limit=2))
    rest = store.stream_items(reader, StreamQuery(before_id=page[-1].id, limit=10))
    assert [i.id for i in page + rest] == sorted(ids, reverse=True)
    up = store.stream_items(reader, StreamQuery(after_id=ids[2], oldest_first=True))
    assert [i.id for i in up] == ids[3:]
    late = datetime.now(UTC) + timedelta(hours=1)
    assert store.stream_items(reader, StreamQuery(crawled_from=late)) == []
    assert len(store.stream_items(reader, StreamQuery(crawled_before=late))) == 5
    with pytest.raises(ValueError):
        store.stream_items(reader, StreamQuery(marked=("bogus",)))


def test_stream_counts_per_feed(store):
    from tidings.store import StreamQuery

    a, b, ids, _ = _feed_items(store)
    reader = store.add_account("r", "h", "reader")
    store.set_marks(reader, [ids[0]], "read", True)
    counts = store.stream_counts(reader, StreamQuery(unmarked=("read",)))
    assert {k: v[0] for k, v in counts.items()} == {0: 4, a: 2, b: 1}
    assert store.stream_counts(reader, StreamQuery(ids=[])) == {}


def test_edit_subscription_and_follow_story(store):
    a, _ = store.subscribe("https://a.example/feed", "A", "World")
    assert store.edit_subscription(a, {"title": "Renamed", "category": None})
    got = store.subscription(a)
    assert (got["title"], got["category"]) == ("Renamed", None)
    assert not store.edit_subscription(a + 100, {"title": "x"})
    with pytest.raises(ValueError):
        store.edit_subscription(a, {"url": "https://elsewhere.example/"})
    reader = store.add_account("r", "h", "reader")
    with store.transaction() as tx:
        one = store.create_story(tx, "One", T0)
        two = store.create_story(tx, "Two", T0)
    assert store.follow_story(reader, one, True)
    assert not store.follow_story(reader, one, True)  # already followed
    assert not store.follow_story(reader, 10_000, True)  # no such story
    assert store.followed_stories(reader) == [one]
    with store.transaction() as tx:
        store.merge_story(tx, one, two)
    assert store.followed_stories(reader) == [two]  # followed through the merge
    assert store.follow_story(reader, two, False)
    assert store.followed_stories(reader) == []


def test_saved_searches_and_their_matches(store):
    from tidings.store import StreamQuery

    ids = insert(store, *(article(n) for n in range(1, 4)))
    ada = store.add_account("Ada", "h", "reader")
    bob = store.add_account("Bob", "h", "reader")
    fields = {"name": "Ferries", "query": "ferry", "mode": "hybrid",
              "filters": {"category": "World"}, "webhook_url": "https://hooks.example/x",
              "webhook_secret": "s", "checked_id": ids[0]}
    search = store.add_saved_search(ada, fields)
    assert search is not None
    assert store.add_saved_search(ada, fields | {"name": "FERRIES"}) is None  # name taken
    other = store.add_saved_search(bob, fields | {"filters": None, "webhook_url": None,
                                                  "webhook_secret": None})
    (found,) = store.saved_searches(ada)
    assert {k: found[k] for k in fields} == fields
    assert (found["id"], found["account_id"], found["matches"]) == (search, ada, 0)
    assert found["created"] is not None
    assert [s["id"] for s in store.saved_searches()] == [search, other]
    assert store.saved_searches(bob)[0]["filters"] == {}

    # new matches only; a missing article is left out; checked_id never goes back
    assert store.add_search_matches(search, [(ids[1], 0.9), (10_000, 0.5)], ids[1]) == [ids[1]]
    assert store.add_search_matches(search, [(ids[1], 0.9), (ids[2], 0.7)], ids[0]) == [ids[2]]
    (found,) = store.saved_searches(ada)
    assert (found["matches"], found["checked_id"]) == (2, ids[1])
    matched = store.stream_items(ada, StreamQuery(saved_search=search))
    assert [i.id for i in matched] == [ids[2], ids[1]]
    assert store.stream_items(ada, StreamQuery(saved_search=other)) == []

    assert not store.remove_saved_search(bob, search)  # not his
    assert store.remove_saved_search(ada, search)
    assert not store.remove_saved_search(ada, search)
    assert [s["id"] for s in store.saved_searches()] == [other]
    assert store.stream_items(ada, StreamQuery(saved_search=search)) == []
    assert store.add_search_matches(search, [(ids[0], 0.5)], ids[2]) == []  # search gone
