"""Read replicas (`TIDINGS_DATABASE_READ_URLS`) against a real streaming replica of the test
server: reads go to it, this process reads its own writes while it lags (replay paused), the
reader site works through it, and reads fall back to the primary when it is down."""

from __future__ import annotations

import logging
import time

import pytest

from .conftest import SITE_READER, start_site
from .site_client import BROWSER_UA, SiteClient
from .site_corpus import demo_articles

FERRY = "https://meridian-wire.example/northsea-ferry-grounding-01"
BRIDGE_EVENT = ("kessler-bridge-collapse",)
FERRY_EVENT = ("northsea-ferry-grounding",)
REPLICAS_LOG = "tidings.store.postgres.replicas"


# -- the setting, without a server -----------------------------------------------------------


def test_read_urls_are_split_on_commas_but_not_inside_a_multi_host_url():
    from tidings.store.postgres.replicas import split_urls

    assert split_urls("") == []
    assert split_urls(" postgresql://a/db , postgres://b:5433/db") == [
        "postgresql://a/db", "postgres://b:5433/db",
    ]
    assert split_urls("postgresql://h1:5432,h2:5432/db") == ["postgresql://h1:5432,h2:5432/db"]


@pytest.mark.parametrize("database_url", ["", "sqlite:///{dir}/x.db"])
def test_read_urls_with_sqlite_are_a_clear_error(make_engine, tmp_path, database_url):
    with pytest.raises(ValueError, match="READ_URLS names PostgreSQL read replicas"):
        make_engine(
            database_url=database_url.format(dir=tmp_path),
            database_read_urls="postgresql://replica.example/tidings",
        )


def test_a_read_url_that_is_not_postgresql_is_refused(tmp_path):
    from tidings.store import open_store

    with pytest.raises(ValueError, match="must be postgresql://"):
        open_store("postgresql://127.0.0.1:1/x", tmp_path, "sqlite:///x.db")


# -- against the replica -----------------------------------------------------------------------


def _on_replica(store) -> bool:
    """Whether the connection the store's next autocommit read takes is a standby's."""
    with store._conn() as conn:
        return conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]


def _replica_count(replica, schema_url: str, sql: str, args=()) -> int:
    import psycopg

    with psycopg.connect(replica.url_for(schema_url), autocommit=True) as conn:
        return conn.execute(sql, args).fetchone()[0]


@pytest.fixture
def replica_engine(make_engine, postgres_url, postgres_replica):
    """An engine on a fresh schema of the primary, reading from the replica."""

    def factory(data_dir=None, **overrides):
        return make_engine(
            data_dir,
            database_url=postgres_url,
            database_read_urls=postgres_replica.url_for(postgres_url),
            **overrides,
        )

    return factory


def test_reads_go_to_the_replica(postgres_url, postgres_replica):
    import psycopg

    from tidings.store.postgres import PostgresStore

    store = PostgresStore(postgres_url, read_urls=[postgres_replica.url_for(postgres_url)])
    try:
        postgres_replica.catch_up()
        assert _on_replica(store)
        with store.snapshot(), store._conn() as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        # another process's write while the replica's replay is paused: this store does not
        # see it, because it reads the replica (and has no write of its own to wait for)
        postgres_replica.pause()
        try:
            with psycopg.connect(postgres_url, autocommit=True) as other:
                other.execute("INSERT INTO meta (key, value) VALUES ('elsewhere', 'yes')")
            assert store.get_meta("elsewhere") is None
        finally:
            postgres_replica.resume()
        postgres_replica.catch_up()
        assert store.get_meta("elsewhere") == "yes"
    finally:
        store.close()


def _store_vectors(store, count: int) -> None:
    """`count` articles with vectors of 8 dimensions, written through the primary."""
    from .test_postgres import article, unit

    with store.transaction() as tx:
        for n in range(1, count + 1):
            store.insert_article(tx, article(n), f"k{n}", [], unit(n))


def test_each_server_warms_its_own_vector_graph(postgres_url, postgres_replica, caplog):
    """The primary and every replica have buffers of their own: each is measured (and
    prewarmed) itself, not whichever server the next read happens to go to."""
    import socket

    from tidings.store.postgres import PostgresStore
    from tidings.store.postgres.replicas import server_name

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        nowhere = f"postgresql://127.0.0.1:{sock.getsockname()[1]}/x"
    replica_url = postgres_replica.url_for(postgres_url)
    store = PostgresStore(postgres_url, read_urls=[replica_url, nowhere])
    try:
        _store_vectors(store, 20)
        postgres_replica.catch_up()
        with caplog.at_level(logging.WARNING):
            caches = store.warm_vector_index()
        assert [c.server for c in caches] == [server_name(postgres_url), server_name(replica_url)]
        assert caches[0].graph == caches[1].graph > 0 and all(c.error is None for c in caches)
        assert any("cannot be reached" in r.getMessage() for r in caplog.records)
    finally:
        store.close()


def test_reindex_runs_on_the_primary_when_reads_go_to_a_replica(postgres_url, postgres_replica):
    from tidings.store.postgres import PostgresStore

    store = PostgresStore(postgres_url, read_urls=[postgres_replica.url_for(postgres_url)])
    try:
        _store_vectors(store, 5)
        postgres_replica.catch_up()
        assert _on_replica(store)  # reads would go to the standby, which cannot REINDEX
        assert store.rebuild_vector_index() == 5
    finally:
        store.close()


def test_own_writes_are_read_back_while_the_replica_lags(
    replica_engine, make_engine, tmp_path, postgres_url, postgres_replica
):
    engine = replica_engine()
    assert not engine.ingest_items(demo_articles(BRIDGE_EVENT)).failed
    postgres_replica.catch_up()
    assert _on_replica(engine.store)  # caught up: reads go to the replica again
    postgres_replica.pause()
    try:
        assert engine.ingest_items(demo_articles(FERRY_EVENT)).new > 0
        ferry = engine.store.id_by_url(FERRY)
        assert ferry is not None
        # the replica really has not replayed it: only the primary can answer what follows
        assert _replica_count(
            postgres_replica, postgres_url, "SELECT count(*) FROM articles WHERE id = %s", (ferry,)
        ) == 0
        assert not _on_replica(engine.store)
        found = engine.article(ferry)
        assert found is not None and found[0].url == FERRY
        assert ferry in [h.article.id for h in engine.search("ferry ran aground", "semantic")]
        assert ferry in [h.article.id for h in engine.search("ferry aground", "keyword")]
        assert ferry in [h.article.id for h in engine.search("ferry ran aground")]
        assert any("northsea-ferry" in a.url for a in engine.latest(5))
        # related: the same list as an engine that reads only the primary
        primary_only = make_engine(tmp_path / "primary-only", database_url=postgres_url)
        related = [h.article.id for h in engine.related(ferry)]
        assert related and related == [h.article.id for h in primary_only.related(ferry)]
    finally:
        postgres_replica.resume()
    postgres_replica.catch_up()
    assert _on_replica(engine.store)  # replayed: the replica answers again


def test_reader_site_signs_in_marks_visits_and_comments_through_a_lagging_replica(
    replica_engine, tmp_path, postgres_url, postgres_replica
):
    settings = {"comment_moderation": "none", "comment_rate_limit": 1000,
                "login_attempts": 1000}
    engine = replica_engine(tmp_path / "one", **settings)
    assert not engine.ingest_items(demo_articles(FERRY_EVENT)).failed
    engine.readers.accounts.add(*SITE_READER)
    ferry = engine.store.id_by_url(FERRY)
    other = replica_engine(tmp_path / "two", **settings)  # a second `serve` worker's engine
    postgres_replica.catch_up()
    first, second = start_site(engine), start_site(other)
    postgres_replica.pause()  # from here on the replica has none of the reader's writes
    try:
        with SiteClient(first.url) as c:
            c.sign_in(*SITE_READER)
            assert "Sign out" in c.get("/").text
            c.submit(f"/article/{ferry}", f"/article/{ferry}/mark", mark="starred", on="1")
            assert f'href="/article/{ferry}"' in c.get("/starred").text
            body = "Was the ferry's second engine ever repaired?"
            posted = c.submit(f"/article/{ferry}", f"/article/{ferry}/comments", body=body)
            assert posted.status_code == 303
            page = c.get(f"/article/{ferry}", headers={"user-agent": f"{BROWSER_UA} other"})
            assert "ferry&#39;s second engine" in page.text or "ferry's second engine" in page.text
            # a second visitor; then the buffered visits are committed (as they are in time)
            with SiteClient(first.url) as anonymous:
                anonymous.get(f"/article/{ferry}")
            engine.readers.visits.flush()
            assert engine.store.visit_counts([ferry], "2000-01-01T00")[ferry][0] == 2
            assert "2 visits" in c.get(f"/article/{ferry}").text
            # the other worker has not written anything: its reads still go to the replica,
            # but the session it has never seen is asked of the primary
            with SiteClient(second.url, cookies=c.cookies) as c2:
                assert "Sign out" in c2.get("/").text
        for table in ("sessions", "reader_marks", "comments"):
            assert _replica_count(
                postgres_replica, postgres_url, f"SELECT count(*) FROM {table}"
            ) == 0, f"the replica replayed {table}: the test did not make it lag"
    finally:
        postgres_replica.resume()
        first.stop()
        second.stop()


def test_reads_fall_back_to_the_primary_when_the_replica_is_down(
    replica_engine, postgres_replica, caplog, monkeypatch
):
    from tidings.store.postgres import replicas

    monkeypatch.setattr(replicas, "DOWN_SECONDS", 1.0)
    engine = replica_engine()
    assert not engine.ingest_items(demo_articles(FERRY_EVENT)).failed
    ferry = engine.store.id_by_url(FERRY)
    postgres_replica.catch_up()
    assert _on_replica(engine.store)  # an idle connection to the replica is now pooled
    postgres_replica.stop()
    try:
        with caplog.at_level(logging.WARNING, logger=REPLICAS_LOG):
            for _ in range(3):
                assert ferry in [h.article.id for h in engine.search("ferry ran aground")]
                assert engine.article(ferry) is not None
                assert any("northsea-ferry" in a.url for a in engine.store.latest(5))
                with engine.store.snapshot():
                    assert engine.store.article(ferry) is not None
                assert not _on_replica(engine.store)
                time.sleep(0.6)  # past DOWN_SECONDS: the replica is tried (and fails) again
        warnings = [r for r in caplog.records if r.name == REPLICAS_LOG]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]  # rate-limited
        assert "reading from the primary" in warnings[0].getMessage()
    finally:
        postgres_replica.start()
    deadline = time.monotonic() + 15
    while not _on_replica(engine.store):  # back up: used again once DOWN_SECONDS passed
        assert time.monotonic() < deadline, "the replica was not used again"
        time.sleep(0.2)


def test_a_replica_unreachable_from_the_start_does_not_stop_the_engine(
    make_engine, postgres_url, caplog
):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger=REPLICAS_LOG):
        engine = make_engine(
            database_url=postgres_url, database_read_urls=f"postgresql://127.0.0.1:{port}/x"
        )
        assert not engine.ingest_items(demo_articles(FERRY_EVENT)).failed
        ferry = engine.store.id_by_url(FERRY)
        assert ferry in [h.article.id for h in engine.search("ferry ran aground")]
    assert any("reading from the primary" in r.getMessage() for r in caplog.records)
