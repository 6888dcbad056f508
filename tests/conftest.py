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
