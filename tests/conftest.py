"""Shared fixtures: the real bundled model once per session, real SQLite in temp dirs,
a real local HTTP server for fetching."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def embedder():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def make_settings(data_dir: Path, **overrides):
    from tidings.settings import Settings

    return Settings.load(env={}, data_dir=str(data_dir), **overrides)


@pytest.fixture
def make_engine(tmp_path, embedder):
    """Factory for engines on a fresh temp database sharing the session's model."""
    from tidings.engine import Engine

    opened = []

    def factory(data_dir: Path | None = None, **overrides):
        engine = Engine(
            make_settings(data_dir or tmp_path / "data", **overrides), embedder=embedder
        )
        opened.append(engine)
        return engine

    yield factory
    for engine in opened:
        with contextlib.suppress(Exception):  # a test may have closed it already
            engine.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_directory(root: Path):
    """Serve a directory on 127.0.0.1:<ephemeral port>; returns (base_url, server)."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def stop_server(server) -> None:
    server.shutdown()
    server.server_close()


# -- the reader site: one database and one live server for the whole session ---------------

SITE_ADMIN = ("editor", "editor password 1")
SITE_READER = ("reader", "reader password 1")


class LiveSite:
    def __init__(self, url: str, engine, server, thread):
        self.url = url
        self.engine = engine
        self._server = server
        self._thread = thread

    def article_id(self, url: str) -> int:
        return self.engine.store.id_by_url(url)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.engine.close()


def start_site(engine) -> LiveSite:
    """uvicorn on 127.0.0.1 on a free port, in a thread, serving the full app."""
    import socket
    import time

    import uvicorn

    from tidings.api import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the site did not start"
    return LiveSite(f"http://127.0.0.1:{port}", engine, server, thread)


@pytest.fixture(scope="session")
def site(tmp_path_factory, embedder):
    """Five demo events (originals + syndicated copies), hostile articles and a hostile JSONL
    file, an admin and a reader account, served live."""
    from tidings.engine import Engine

    from .site_corpus import (
        SITE_EVENTS,
        demo_articles,
        hostile_articles,
        hostile_jsonl,
        hostile_link_articles,
    )

    data = tmp_path_factory.mktemp("site")
    engine = Engine(
        make_settings(data, comment_rate_limit=1000, login_attempts=1000,
                      # the admin page subscribes to feeds served on 127.0.0.1
                      fetch_allow_private=True, fetch_per_host_interval=0,
                      fetch_respect_robots=False),
        embedder=embedder,
    )
    result = engine.ingest_items(demo_articles(SITE_EVENTS) + hostile_articles())
    assert not result.failed
    refused = engine.ingest([str(hostile_jsonl(data / "hostile.jsonl"))])
    assert len(refused.failed) == 2 and refused.new == 0  # a JSONL URL must be http(s)
    assert engine.ingest_items(hostile_link_articles()).new == 2
    engine.readers.accounts.add(*SITE_ADMIN, admin=True)
    engine.readers.accounts.add(*SITE_READER)
    live = start_site(engine)
    yield live
    live.stop()


# -- PostgreSQL: a real server when TIDINGS_TEST_POSTGRES_URL names one (CI starts one) -------

POSTGRES_ENV = "TIDINGS_TEST_POSTGRES_URL"
_postgres_missing: list[str] = []  # why the PostgreSQL tests did not run, once per session


def _postgres_server() -> str:
    """The test server's URL, or skip (recorded, and said in the summary) when there is none."""
    url = os.environ.get(POSTGRES_ENV, "")
    reason = ""
    if not url:
        reason = f"{POSTGRES_ENV} is not set (scripts/install_pg.sh starts a server)"
    else:
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except ImportError:
            reason = "psycopg is not installed (pip install 'tidings[postgres]')"
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means: no server
            reason = f"the server at {POSTGRES_ENV} cannot be reached: {exc}"
    if reason:
        if not _postgres_missing:
            _postgres_missing.append(reason)
        pytest.skip(f"PostgreSQL suite did not run: {reason}")
    return url


def with_search_path(url: str, schema: str) -> str:
    """The URL of one schema of the test database (pgvector's types stay in public)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema},public"


@contextlib.contextmanager
def fresh_postgres_schema():
    """A fresh, empty schema of the test server (its URL); dropped afterwards."""
    import uuid

    import psycopg

    server = _postgres_server()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url():
    """A fresh schema of the test server for one test."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_url():
    """A fresh schema of the test server shared by one module's tests."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request):
    """The database URL of each backend in turn ("" is SQLite in the data directory)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return ""


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Said last, beside the counts: skipped PostgreSQL tests are not passes."""
    yield
    if _postgres_missing:
        skipped = [
            r for r in terminalreporter.stats.get("skipped", [])
            if "PostgreSQL suite did not run" in str(getattr(r, "longrepr", ""))
        ]
        terminalreporter.write_sep(
            "!", f"PostgreSQL suite did not run ({len(skipped)} tests skipped, not passed): "
            f"{_postgres_missing[0]}", yellow=True, bold=True,
        )


@pytest.fixture(scope="session")
def postgres_replica():
    """A streaming replica (hot standby) of the test server, made by `pg_basebackup -R` in a
    temp dir and started on a free port; stopped and removed at the end of the session."""
    server = _postgres_server()
    from .pg_replica import StreamingReplica

    replica = StreamingReplica(server)
    try:
        replica.create()
        yield replica
    finally:
        replica.remove()
