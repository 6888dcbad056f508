"""What only the PostgreSQL store has to show, on a real server (TIDINGS_TEST_POSTGRES_URL;
skipped, and said in the summary, without one): migrations under an advisory lock, commits
pushed to other processes by NOTIFY, pgvector HNSW and language-aware tsvector search, the
hybrid ranking fused in SQL, and the engine end to end — several processes writing one
database included."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tidings.index import reciprocal_rank_fusion
from tidings.models import Article
from tidings.store import StoreError, open_store

from . import test_engine as engine_tests
from .test_concurrency import MARKERS, overlapping_inputs
from .test_crash_matrix import run_cli, write_jsonl

psycopg = pytest.importorskip("psycopg")

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(postgres_url):
    from tidings.store.postgres import PostgresStore

    opened = PostgresStore(postgres_url)
    yield opened
    opened.close()


def unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def article(n: int, **fields) -> Article:
    base = {
        "url": f"https://news.example/{n}",
        "title": f"Headline {n}",
        "text": f"Body of article {n}.",
        "published": T0 + timedelta(hours=n),
        "content_hash": f"hash-{n}",
        "language": "en",
    }
    base.update(fields)
    return Article(**base)


def sql(url: str, query: str, args=()) -> list[tuple]:
    """Run one statement (committed); its rows, if it returns any."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(query, args or None)
        return cursor.fetchall() if cursor.description else []


# -- schema ----------------------------------------------------------------------------------


def test_open_store_picks_postgres_from_the_url(postgres_url, tmp_path):
    from tidings.store.postgres import PostgresStore

    opened = open_store(postgres_url, tmp_path)
    try:
        assert isinstance(opened, PostgresStore) and opened.searches_vectors
    finally:
        opened.close()
    assert not (tmp_path / "tidings.db").exists()


def test_migrations_apply_atomically(postgres_url, monkeypatch):
    from tidings.store.postgres import PostgresStore, migrations

    PostgresStore(postgres_url).close()
    broken = [
        *migrations.MIGRATIONS,
        ("p999_broken", ["ALTER TABLE stories ADD COLUMN extra TEXT", "THIS IS NOT SQL"]),
    ]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(psycopg.errors.SyntaxError):
        PostgresStore(postgres_url)
    columns = {r[0] for r in sql(postgres_url, "SELECT column_name FROM information_schema"
                                 ".columns WHERE table_schema = current_schema() "
                                 "AND table_name = 'stories'")}
    assert "extra" not in columns
    fixed = [*broken[:-1], ("p999_broken", ["ALTER TABLE stories ADD COLUMN extra TEXT"])]
    monkeypatch.setattr(migrations, "MIGRATIONS", fixed)
    PostgresStore(postgres_url).close()
    names = [r[0] for r in sql(postgres_url, "SELECT name FROM migrations")]
    assert names.count("p999_broken") == 1


def test_a_database_from_a_newer_version_is_refused(postgres_url):
    from tidings.store.postgres import PostgresStore

    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO migrations (id, name) VALUES (999, 'p999_from_the_future')")
    with pytest.raises(StoreError, match="upgrade Tidings"):
        PostgresStore(postgres_url)


def test_an_unreachable_server_is_a_clear_error():
    from tidings.store.postgres import PostgresStore

    with pytest.raises(StoreError, match="cannot open the PostgreSQL database"):
        PostgresStore("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")


OPEN_AND_WRITE = """
import sys
from tidings.store.postgres import PostgresStore
store = PostgresStore(sys.argv[1])
with store.transaction() as tx:
    store.set_meta(tx, "opened-by-" + sys.argv[2], "yes")
store.close()
"""


def test_processes_opening_a_fresh_database_at_once(postgres_url):
    """The schema is created once, by whichever process takes the advisory lock first; the
    others wait, then find nothing to do, and every write lands."""
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, postgres_url, str(i)],
                         stderr=subprocess.PIPE)
        for i in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    names = Counter(r[0] for r in sql(postgres_url, "SELECT name FROM migrations"))
    assert set(names.values()) == {1}
    opened = {r[0] for r in sql(postgres_url, "SELECT key FROM meta WHERE key LIKE 'opened-by-%'")}
    assert len(opened) == 4
    assert sql(postgres_url, "SELECT value FROM meta WHERE key = 'generation'") == [("4",)]


# -- other processes' commits ----------------------------------------------------------------


def test_a_commit_reaches_a_waiting_process_by_notify(store, postgres_url):
    from tidings.store.postgres import PostgresStore

    other = PostgresStore(postgres_url)
    try:
        start = store.generation()
        assert store.wait_for_change(start, timeout=0.3) == start  # nothing: waits, then says so
        woke: list[tuple[int, float]] = []

        def waiter():
            began = time.monotonic()
            woke.append((store.wait_for_change(start, timeout=30), time.monotonic() - began))

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.5)
        with other.transaction() as tx:
            other.insert_article(tx, article(1), "k1", [], unit(1))
        thread.join(timeout=30)
        (generation, waited), = woke
        assert generation == start + 1 and waited < 10  # woken by the commit, not the timeout
        assert store.wait_for_change(start, timeout=5) == start + 1  # already there: at once
    finally:
        other.close()


# -- search ----------------------------------------------------------------------------------


def test_vector_search_goes_through_the_hnsw_index(store, postgres_url):
    with store.transaction() as tx:
        for n in range(1, 30):
            store.insert_article(tx, article(n), f"k{n}", [], unit(n))
    found = store.vector_search(unit(7), 5)
    assert found[0][0] == 7 and found[0][1] == pytest.approx(1.0, abs=1e-3)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET enable_seqscan = off")  # 29 rows: make the planner show its choice
        plan = "\n".join(
            r[0] for r in conn.execute(
                "EXPLAIN SELECT article_id FROM embeddings WHERE vector_dims(vector) = 8 "
                "ORDER BY vector::halfvec(8) <=> %s::halfvec(8) LIMIT 5",
                (str(unit(7).tolist()),),
            )
        )
    assert "embeddings_hnsw_8" in plan


def test_the_hnsw_graph_is_built_as_the_embedded_index_builds_its_own(store, postgres_url,
                                                                      tmp_path):
    from tidings.index.vectors import UsearchIndex

    with store.transaction() as tx:
        store.insert_article(tx, article(1), "k1", [], unit(1))
    (options,) = sql(postgres_url, "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n "
                     "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                     "AND c.relname = 'embeddings_hnsw_8'")[0]
    built = dict(option.split("=") for option in options)
    embedded = UsearchIndex(tmp_path / "v.usearch", 8, "f16")._new()
    assert int(built["m"]) == embedded.connectivity
    assert int(built["ef_construction"]) == embedded.expansion_add


def test_another_dimension_replaces_the_vector_index(store, postgres_url):
    with store.transaction() as tx:
        for n in (1, 2, 3):
            store.insert_article(tx, article(n), f"k{n}", [], unit(n))
    with store.transaction() as tx:  # a re-embed with a 4-dimensional model
        store.replace_embeddings(tx, [(n, unit(n + 10, dim=4)) for n in (1, 2, 3)])
    indexes = {r[0] for r in sql(postgres_url, "SELECT indexname FROM pg_indexes WHERE "
                                 "schemaname = current_schema() AND tablename = 'embeddings'")}
    assert {i for i in indexes if "hnsw" in i} == {"embeddings_hnsw_4"}
    assert store.vector_search(unit(12, dim=4), 1)[0][0] == 2
    assert store.embeddings([2])[2].shape == (4,)


def test_keywords_are_stemmed_in_the_article_language(store):
    ids = {}
    with store.transaction() as tx:
        for n, lang, title, text in (
            (1, "en", "Ferries halted", "All ferries were running late after the storms."),
            (2, "fr", "Les élections municipales", "Les électeurs votent dimanche."),
            (3, "xx", "Zorblat gelflin", "Zorblat gelflins everywhere."),
            (4, "de-AT", "Die Fähren", "Die Fähren fahren wieder."),
        ):
            ids[n] = store.insert_article(
                tx, article(n, language=lang, title=title, text=text), f"k{n}", [], unit(n)
            )
    assert [i for i, _ in store.keyword_search("ferry", 5)] == [ids[1]]  # English stem
    assert [i for i, _ in store.keyword_search("élection", 5)] == [ids[2]]  # French stem
    assert [i for i, _ in store.keyword_search("zorblat", 5)] == [ids[3]]  # unstemmed
    assert [i for i, _ in store.keyword_search("fähre", 5)] == [ids[4]]  # German, by prefix
    assert store.keyword_search("the were", 5) == []  # stop words alone match nothing
    assert store.rebuild_keyword_index() == 4
    assert [i for i, _ in store.keyword_search("ferry", 5)] == [ids[1]]


def test_once_analyzed_keyword_terms_are_chosen_by_estimate_without_reading_articles(
    store, monkeypatch
):
    from tidings.store.postgres import articles

    with store.transaction() as tx:
        for n in range(1, 301):
            store.insert_article(
                tx, article(n, title=f"Common report {n}", text="common " * 20), f"k{n}", [],
                unit(n),
            )
        rare = store.insert_article(
            tx, article(400, title="Quillon breach", text="common quillon"), "k400", [],
            unit(400),
        )
    store.close()  # a new connection sees the statistics ANALYZE is about to write
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute("ANALYZE articles")
    from tidings.store.postgres import PostgresStore

    analyzed = PostgresStore(store.url)
    try:
        def no_counting(self, term):
            raise AssertionError(f"counted the documents of {term!r}")

        monkeypatch.setattr(articles.ArticleQueries, "_counted_documents", no_counting)
        monkeypatch.setattr(articles, "POSTINGS_BUDGET", 50)
        assert [i for i, _ in analyzed.keyword_search("common quillon", 50)] == [rare]
        assert len(analyzed.keyword_search("common", 500)) == 301  # the rarest is kept
        assert analyzed.keyword_search("the", 5) == []
    finally:
        analyzed.close()


def test_titles_weigh_more_than_text(store):
    with store.transaction() as tx:
        in_text = store.insert_article(
            tx, article(1, title="Harbour news", text="A quillon was found."), "k1", [], unit(1)
        )
        in_title = store.insert_article(
            tx, article(2, title="Quillon found", text="Harbour news today."), "k2", [], unit(2)
        )
    assert [i for i, _ in store.keyword_search("quillon", 5)] == [in_title, in_text]


def test_a_rare_term_weighs_more_than_a_common_one(store):
    with store.transaction() as tx:
        for n in range(1, 9):
            store.insert_article(tx, article(n, title=f"Minister says {n}", text="Nothing."),
                                 f"k{n}", [], unit(n))
        rare = store.insert_article(tx, article(9, title="Plosser reports 9", text="Nothing."),
                                    "k9", [], unit(9))
    # one term each, headlines alike: ts_rank alone ties them (and the lowest id would lead)
    found = store.keyword_search("plosser says", 3)
    assert found[0][0] == rare and found[0][1] > found[1][1]


def test_past_the_shortlist_matches_are_chosen_on_their_headline_and_lede(store, monkeypatch):
    from tidings.store.postgres import articles

    filler = "Officials met again on Tuesday to discuss the budget for next year. " * 40
    with store.transaction() as tx:
        deep = store.insert_article(
            tx, article(1, title="Budget talks", text=filler + "The quillon strike began. " * 6),
            "k1", [], unit(1),
        )
        leads = store.insert_article(
            tx, article(2, title="Port news", text="A quillon strike closed the port. " + filler),
            "k2", [], unit(2),
        )
    # within the shortlist, the whole text ranks: six mentions beat one in the lede
    assert [i for i, _ in store.keyword_search("quillon strike", 5)] == [deep, leads]
    assert [i for i, _ in store.keyword_search("quillon strike", 1)] == [deep]
    # (the vector is deep's: with a depth of 1 both lists hold deep, or each its own)
    assert store.hybrid_search("quillon strike", unit(1), 1, 5) == [(deep, pytest.approx(2 / 61))]
    monkeypatch.setattr(articles, "SHORTLIST", 1)
    # past it, the one document shortlisted is the one whose lede holds the words
    assert [i for i, _ in store.keyword_search("quillon strike", 1)] == [leads]
    assert sorted(store.hybrid_search("quillon strike", unit(1), 1, 5)) == [
        (deep, pytest.approx(1 / 61)), (leads, pytest.approx(1 / 61))
    ]
    # matches whose ledes do not hold the words at all: the newest are shortlisted
    assert [i for i, _ in store.keyword_search("began", 1)] == [deep]
    with store.transaction() as tx:
        later = store.insert_article(
            tx, article(3, title="Budget talks", text=filler + "The quillon strike began."),
            "k3", [], unit(3),
        )
    assert [i for i, _ in store.keyword_search("began", 1)] == [later]


def lede_words(url: str, article_id: int) -> set[str]:
    rows = sql(url, "SELECT lede_tsv FROM articles WHERE id = %s", (article_id,))
    return {word.split(":")[0].strip("'") for word in (rows[0][0] or "").split()}


def test_the_lede_is_kept_with_the_text_through_upgrades_demotions_and_rebuilds(
    store, postgres_url
):
    from tidings.store.postgres.articles import LEDE_CHARS

    late = " " + "x" * LEDE_CHARS + " zanzibar"
    with store.transaction() as tx:
        first = store.insert_article(
            tx, article(1, title="Ferry storm", text="Waves hit." + late, partial=True),
            "k1", [], unit(1),
        )
        second = store.insert_article(tx, article(2, title="Rates cut"), "k2", [], unit(2))
    assert {"ferri", "storm", "wave", "hit"} <= lede_words(postgres_url, first)
    assert "zanzibar" not in lede_words(postgres_url, first)  # past the lede: matched only
    assert [i for i, _ in store.keyword_search("zanzibar", 5)] == [first]
    with store.transaction() as tx:
        store.upgrade_article(tx, first, article(1, title="Ferry storm", text="Gales close "
                                                 "the harbour."), [], unit(1))
    assert {"gale", "harbour"} <= lede_words(postgres_url, first)
    assert "wave" not in lede_words(postgres_url, first)
    with store.transaction() as tx:
        store.demote(tx, second, first)
    assert sql(postgres_url, "SELECT lede_tsv IS NULL FROM articles WHERE id = %s",
               (second,)) == [(True,)]
    sql(postgres_url, "UPDATE articles SET lede_tsv = NULL")
    assert store.rebuild_keyword_index() == 1
    assert {"gale", "harbour"} <= lede_words(postgres_url, first)


def test_the_migration_gives_stored_originals_their_lede_in_batches(postgres_url, monkeypatch):
    from tidings.store.postgres import PostgresStore, migrations

    name = "p007_articles_lede_tsv"
    opened = PostgresStore(postgres_url)
    with opened.transaction() as tx:
        originals = [
            opened.insert_article(tx, article(n, title=f"Ferry storm {n}"), f"k{n}", [], unit(n))
            for n in (1, 2, 3)
        ]
        copy = opened.insert_article(tx, article(4, title="Ferry storm", duplicate_of=1),
                                     "k4", [], None)
    opened.close()
    # the database as the version before this migration left it
    sql(postgres_url, "ALTER TABLE articles DROP COLUMN lede_tsv")
    sql(postgres_url, "DELETE FROM migrations WHERE name = %s", (name,))
    batches = []
    fill = migrations.FILLS[name]
    monkeypatch.setattr(migrations, "FILL_BATCH", 2)
    monkeypatch.setitem(migrations.FILLS, name, lambda conn, batch: batches.append(batch)
                        or fill(conn, batch))
    PostgresStore(postgres_url).close()
    assert batches == [2]
    assert sql(postgres_url, "SELECT id, lede_tsv IS NULL FROM articles ORDER BY id") == [
        *[(i, False) for i in originals], (copy, True)
    ]
    assert {"ferri", "storm"} <= lede_words(postgres_url, originals[2])
    # the schema transaction only adds the column: the fill runs after it, batch by batch
    assert [s.split()[0] for s in dict(migrations.MIGRATIONS)[name]] == ["ALTER"]
    PostgresStore(postgres_url).close()  # applied: nothing filled again
    assert batches == [2]


def test_hybrid_search_in_one_statement_ranks_as_the_python_fusion(store):
    rng = np.random.default_rng(5)
    words = ["ferry", "storm", "harbour", "election", "vote", "bank", "rates", "fire"]
    with store.transaction() as tx:
        for n in range(1, 120):
            text = " ".join(rng.choice(words, size=12))
            store.insert_article(tx, article(n, title=f"Report {n}", text=text), f"k{n}", [],
                                 unit(n))
    query, vector = "ferry storm", unit(33)
    depth, limit = 50, 20
    expected = reciprocal_rank_fusion([
        [i for i, _ in store.keyword_search(query, depth)],
        [i for i, _ in store.vector_search(vector, depth)],
    ])[:limit]
    fused = store.hybrid_search(query, vector, depth, limit)
    assert [i for i, _ in fused] == [i for i, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected])
    # no keyword term left (stop words only): the vector ranking alone, fused
    alone = store.hybrid_search("the", vector, depth, limit)
    assert [i for i, _ in alone] == [i for i, _ in store.vector_search(vector, limit)]


# -- the engine on PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def make_pg_engine(make_engine, postgres_url):
    def factory(data_dir=None, **overrides):
        return make_engine(data_dir, database_url=postgres_url, **overrides)

    return factory


def test_engine_ingest_folds_copies_and_is_idempotent(make_pg_engine):
    engine_tests.test_ingest_folds_copies_and_is_idempotent(make_pg_engine)
    assert not list(make_pg_engine().data_dir.glob("*.usearch"))  # no index file of its own


def test_engine_search_modes(make_pg_engine):
    engine_tests.test_search_modes_and_duplicates_never_listed(make_pg_engine)


def test_engine_related(make_pg_engine):
    engine_tests.test_related_excludes_copies_and_marks_story_siblings(make_pg_engine)


def test_engine_stories(make_pg_engine):
    engine_tests.test_stories_group_events(make_pg_engine)


def test_engine_copy_first_gives_way_to_the_original(make_pg_engine):
    engine_tests.test_a_copy_that_arrived_first_gives_way_to_the_original(make_pg_engine)


def test_two_engines_see_each_others_writes_at_once(make_pg_engine, tmp_path):
    """Two processes' engines, one database: what one writes, the other finds on its next
    search, with no index of its own to catch up."""
    a = make_pg_engine(tmp_path / "a")
    b = make_pg_engine(tmp_path / "b")
    a.ingest_articles(engine_tests.sample_articles()[:2])
    b.ingest_articles(engine_tests.sample_articles()[2:])
    top = a.search("central bank holds interest rates", mode="semantic", limit=1)[0]
    assert top.article.url == "https://wire.example/estova-rates"
    assert a.stats()["vectors_indexed"] == b.stats()["vectors_indexed"] == 4


# -- two writer processes --------------------------------------------------------------------


def check_postgres_database(url: str) -> set[str]:
    """The invariants tying articles, copies, stories, vectors and keywords together."""
    with psycopg.connect(url) as db:
        urls = Counter(r[0] for r in db.execute("SELECT url FROM articles"))
        assert [u for u, k in urls.items() if k > 1] == []
        bad_copies = db.execute(
            "SELECT c.id FROM articles c LEFT JOIN articles o ON o.id = c.duplicate_of "
            "WHERE c.duplicate_of IS NOT NULL AND (o.id IS NULL OR o.duplicate_of IS NOT NULL "
            "OR c.story_id IS DISTINCT FROM o.story_id)"
        ).fetchall()
        assert bad_copies == [], "copies must point at an original, in its story"
        wrong = db.execute(
            "SELECT s.id, s.size, (SELECT count(*) FROM articles a WHERE a.story_id = s.id "
            "AND a.duplicate_of IS NULL) AS n FROM stories s"
        ).fetchall()
        assert [w for w in wrong if w[1] != w[2]] == [], "story size != its originals"
        originals = {r[0] for r in db.execute(
            "SELECT id FROM articles WHERE duplicate_of IS NULL")}
        homeless = db.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND story_id IS NULL"
        ).fetchone()[0]
        assert homeless == 0
        embedded = {r[0] for r in db.execute("SELECT article_id FROM embeddings")}
        assert embedded == originals, "exactly the originals have vectors"
        keyword = {r[0] for r in db.execute("SELECT id FROM articles WHERE tsv IS NOT NULL")}
        assert keyword == originals, "exactly the originals are in the keyword index"
    return set(urls)


def test_two_writer_processes_and_a_server_on_one_database(tmp_path, postgres_url):
    rows_a, rows_b = overlapping_inputs()
    files = [write_jsonl(tmp_path / "a.jsonl", rows_a), write_jsonl(tmp_path / "b.jsonl", rows_b)]
    env = {"TIDINGS_DATABASE_URL": postgres_url}
    procs = [
        run_cli(tmp_path / f"data-{i}", "ingest", "--json", str(path), env=env,
                log=tmp_path / f"{i}.log")
        for i, path in enumerate(files)
    ]
    summaries = []
    for i, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, (tmp_path / f"{i}.log").read_text(errors="replace")
        summaries.append(json.loads(out))
    wanted = {r["url"] for r in rows_a} | {r["url"] for r in rows_b}
    for summary, rows in zip(summaries, (rows_a, rows_b), strict=True):
        assert summary["failed"] == [] and summary["skipped"] == []
        assert summary["new"] + summary["duplicate"] + summary["unchanged"] == len(rows)
    assert check_postgres_database(postgres_url) == wanted
    assert sum(s["new"] + s["duplicate"] for s in summaries) == len(wanted)
    roots = dict(sql(postgres_url, "SELECT url, coalesce(duplicate_of, id) FROM articles"))
    ids = dict(sql(postgres_url, "SELECT url, id FROM articles"))
    for group in range(12):
        copy = "first" if group % 3 == 2 else "mirror"
        members = {f"https://wire.example/{group}", f"https://{copy}.example/{group}"}
        assert len({roots[u] for u in members}) == 1, f"group {group} not folded"
        if group % 3 == 2:
            assert roots[f"https://wire.example/{group}"] == ids[f"https://first.example/{group}"]
    # a third process (a server's engine) searches what both wrote
    search = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "--data-dir", str(tmp_path / "data-s"), "search",
         "--mode", "semantic", "--limit", "1", "--json", MARKERS["b"][1]],
        env={**__import__("os").environ, **env}, capture_output=True, timeout=300,
    )
    assert search.returncode == 0, search.stderr.decode()
    found = [h["url"] for h in json.loads(search.stdout)]
    assert found == [MARKERS["b"][0]], exact_neighbours(postgres_url, MARKERS["b"][0])


def exact_neighbours(postgres_url: str, url: str) -> str:
    """For a failure message: the stored article at `url` and its exact nearest originals
    (a sequential scan, not the HNSW index)."""
    row = sql(postgres_url, "SELECT id, duplicate_of, story_id FROM articles WHERE url = %s",
              (url,))
    nearest = sql(
        postgres_url,
        "SELECT a.url, round((e.vector <=> m.vector)::numeric, 3) FROM embeddings e "
        "JOIN articles a ON a.id = e.article_id, "
        "(SELECT e2.vector FROM embeddings e2 JOIN articles a2 ON a2.id = e2.article_id "
        " WHERE a2.url = %s) AS m ORDER BY e.vector <=> m.vector LIMIT 3",
        (url,),
    )
    return f"stored as (id, duplicate_of, story_id) {row}; exact nearest {nearest}"


# -- the Citus layout (checked against Citus's rules; Citus itself is not installable here) --


def test_the_citus_layout_places_every_table_and_names_what_must_change(store, postgres_url):
    from tidings.store.postgres.citus import layout_problems

    with psycopg.connect(postgres_url) as conn:
        problems = layout_problems(conn)
    # exactly the changes the README's scale-out section lists; a new table or constraint
    # that does not fit the layout fails here until the layout (and the README) say where
    assert sorted(problems) == sorted([
        "articles: foreign key articles_duplicate_of_fkey (duplicate_of) -> articles crosses "
        "shards",
        "articles: foreign key articles_story_id_fkey (story_id) -> stories crosses shards",
        "comments: foreign key comments_parent_id_fkey (parent_id) -> comments crosses shards",
        "feed_entries: foreign key feed_entries_article_id_fkey (article_id) -> articles "
        "crosses shards",
        "stories: foreign key stories_merged_into_fkey (merged_into) -> stories crosses shards",
        "articles: unique articles_url_key (url) lacks the distribution column id",
        "comments: unique comments_pkey (id) lacks the distribution column article_id",
        "feed_entries: unique feed_entries_pkey (id) lacks the distribution column source_id",
    ])


def test_an_hnsw_build_is_given_the_memory_its_graph_needs(store, postgres_url):
    """pgvector builds far slower once the graph outgrows maintenance_work_mem (about 1.2 GB
    for the 864k vectors of a 1M archive, against 64 MB by default): a build raises it for
    its own transaction only, within bounds, and never lowers a larger server setting."""
    from tidings.store.postgres.articles import (
        HNSW_BUILD_MEMORY_MAX_KB,
        HNSW_BUILD_MEMORY_MIN_KB,
        hnsw_build_memory_kb,
        size_hnsw_build,
    )

    assert hnsw_build_memory_kb(0, 384) == HNSW_BUILD_MEMORY_MIN_KB
    million = hnsw_build_memory_kb(864_000, 384)
    assert 1024 * 1024 < million < 2 * 1024 * 1024  # between 1 and 2 GB
    assert hnsw_build_memory_kb(864_000, 1024) > million
    assert hnsw_build_memory_kb(10**9, 384) == HNSW_BUILD_MEMORY_MAX_KB
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1MB'")
        with conn.transaction():
            size_hnsw_build(conn, 8)
            assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "64MB"
        assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "1MB"  # LOCAL only
        conn.execute("SET maintenance_work_mem = '8GB'")
        with conn.transaction():
            size_hnsw_build(conn, 8)
            assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "8GB"


def test_reindexing_vectors_rebuilds_the_hnsw_index_in_its_own_transaction(store):
    with store.transaction() as tx:
        for n in range(1, 4):
            store.insert_article(tx, article(n), f"key-{n}", [], unit(n))
    assert store.rebuild_vector_index() == 3
    assert store.vector_search(unit(2), 1, 40)[0][0] == 2


def test_reindexing_gives_an_older_hnsw_graph_todays_build_settings(store, postgres_url):
    from tidings.store.postgres.articles import HNSW_EF_CONSTRUCTION, HNSW_M

    with store.transaction() as tx:
        for n in range(1, 4):
            store.insert_article(tx, article(n), f"key-{n}", [], unit(n))
    sql(postgres_url, "ALTER INDEX embeddings_hnsw_8 SET (ef_construction = 32)")  # an old one

    def options():
        (found,) = sql(postgres_url, "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                       "AND c.relname = 'embeddings_hnsw_8'")[0]
        return dict(option.split("=") for option in found)

    assert options()["ef_construction"] == "32"
    assert store.rebuild_vector_index() == 3
    assert options() == {"m": str(HNSW_M), "ef_construction": str(HNSW_EF_CONSTRUCTION)}
    assert store.vector_search(unit(2), 1, 40)[0][0] == 2


def test_warm_says_when_the_vector_graph_outgrows_shared_buffers(store, postgres_url,
                                                                  caplog, monkeypatch):
    from tidings.index.database import DatabaseVectors
    from tidings.store.postgres.articles import GraphCache

    with store.transaction() as tx:
        for n in range(1, 41):
            store.insert_article(tx, article(n), f"k{n}", [], unit(n))
    [(hnsw,)] = sql(postgres_url, "SELECT pg_relation_size('embeddings_hnsw_8')")
    [(shared,)] = sql(postgres_url, "SELECT pg_size_bytes(current_setting('shared_buffers'))")
    [(installed,)] = sql(postgres_url, "SELECT count(*) FROM pg_extension "
                                       "WHERE extname = 'pg_prewarm'")
    [cache] = store.warm_vector_index()  # one server: no replicas
    assert (cache.graph, cache.buffers, cache.error) == (hnsw, shared, None)
    assert 0 < hnsw < shared // 2
    if installed:  # another user of this server put it in; then it prewarms already
        pytest.skip("pg_prewarm is installed in the test database already")
    assert cache.prewarmed is None
    vectors = DatabaseVectors(store)
    with caplog.at_level("INFO", logger="tidings.index.database"):
        vectors.warm()  # this graph fits, and there is nothing to prewarm with
    assert caplog.records == []
    # pg_prewarm in a schema the store's search_path does not hold: the graph is read
    # into shared_buffers all the same, every block of it
    extension_schema = postgres_url.rsplit("search_path%3D", 1)[1].split(",")[0] + "_ext"
    sql(postgres_url, f"CREATE SCHEMA {extension_schema}")
    try:
        sql(postgres_url, f"CREATE EXTENSION pg_prewarm SCHEMA {extension_schema}")
        assert store.warm_vector_index()[0].prewarmed == hnsw // 8192
        with caplog.at_level("INFO", logger="tidings.index.database"):
            vectors.warm()
        [record] = caplog.records
        assert record.getMessage().startswith("read the HNSW index into shared_buffers on ")
        assert record.getMessage().endswith(f"({hnsw // 8192} blocks)")
    finally:
        sql(postgres_url, f"DROP SCHEMA {extension_schema} CASCADE")
    caplog.clear()
    # a server whose graph has outgrown its cache (950 MiB at 1M against the default 128),
    # and one that could not be asked: said, never raised
    monkeypatch.setattr(store, "warm_vector_index", lambda: [
        GraphCache("db1:5432/news", 950 << 20, 128 << 20, None),
        GraphCache("db2:5432/news", 0, 0, None, "permission denied for index"),
    ])
    with caplog.at_level("WARNING", logger="tidings.index.database"):
        vectors.warm()
    outgrown, failed = (r.getMessage() for r in caplog.records)
    assert "(950 MiB) is larger than shared_buffers (128 MiB) on db1:5432/news" in outgrown
    assert failed == "could not check the HNSW index on db2:5432/news: permission denied for index"


def test_the_stores_statements_are_never_jit_compiled(postgres_url):
    """The planner asks for JIT once a statement's estimated cost passes jit_above_cost,
    which a keyword statement's estimate, growing with the archive and the commonness of
    its words, may pass; a compiled one costs more than it runs (bench/pg_jit.py). A server
    that compiles everything is the worst case."""
    from tidings.store.postgres import PostgresStore

    forced = postgres_url + "%20-cjit%3Don%20-cjit_above_cost%3D0"
    probe = (
        "EXPLAIN (ANALYZE, FORMAT JSON) "
        "SELECT count(*) FROM generate_series(1, 1000) AS g WHERE g % 7 = 0"
    )
    with psycopg.connect(forced) as conn:
        if not conn.execute("SELECT pg_jit_available()").fetchone()[0]:
            pytest.skip("this server is built without JIT: nothing to turn off")
        assert "JIT" in conn.execute(probe).fetchone()[0][0]  # this server compiles it
    opened = PostgresStore(forced)
    try:
        with opened._conn() as conn:
            assert "JIT" not in conn.execute(probe).fetchone()[0][0]
        with opened.transaction() as tx:
            opened.insert_article(tx, article(1, title="Ferry storm"), "k1", [], unit(1))
        assert [i for i, _ in opened.keyword_search("ferry storm", 5)] == [1]
    finally:
        opened.close()


def test_term_counts_are_shared_by_the_store_threads(store, monkeypatch):
    with store.transaction() as tx:
        for n in (1, 2, 3):
            store.insert_article(tx, article(n, title=f"Ferry storm {n}"), f"k{n}", [], unit(n))
    counted = []
    real = store._counted_documents
    monkeypatch.setattr(store, "_counted_documents",
                        lambda term, cap: counted.append(term) or real(term, cap))
    worker = threading.Thread(target=store.keyword_search, args=("ferry storm", 5))
    worker.start()
    worker.join()
    assert sorted(counted) == ["ferry", "storm"]  # counted on the other thread
    counted.clear()
    # a hybrid search's keyword half runs on a helper thread: this one reuses its counts
    assert [i for i, _ in store.keyword_search("ferry storm", 5)] == [1, 2, 3]
    assert counted == []
