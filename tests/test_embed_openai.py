"""The OpenAI-compatible client against a real local HTTP server: batching, prompts, API key,
retries after 429/5xx/timeouts/dropped connections, clear errors for everything else, and a
database that loses nothing when the server fails mid-ingest."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from click.testing import CliRunner

from tidings.embed import EmbedderError, create_embedder
from tidings.engine import Engine, ModelMismatchError
from tidings.models import Article

from .conftest import make_settings
from .embedserver import EmbedServer, text_vector

PROMPT = "Instruct: Given a news search query, retrieve relevant articles\nQuery:"


@pytest.fixture
def server():
    served = EmbedServer(dim=16)
    yield served
    served.stop()


def client(server, **options):
    options = {"model": "Qwen/Qwen3-Embedding-0.6B", "backoff": 0.01, **options}
    return create_embedder("openai", url=server.url, **options)


def test_batches_keep_order_prompts_and_the_api_key(server):
    embedder = client(server, batch_size=4, api_key="sekret", query_prompt=PROMPT)
    texts = [f"story number {i} about the ferry" for i in range(10)]
    vectors = embedder.embed_documents(texts)
    assert embedder.dim == 16 and vectors.shape == (10, 16)
    # the probe, then 4 + 4 + 2; answers come back reversed and are put in input order
    assert [len(batch) for batch in server.inputs()] == [1, 4, 4, 2]
    assert np.allclose(vectors, [text_vector(t, 16) for t in texts], atol=1e-6)
    request = server.requests[-1]
    assert request["headers"]["Authorization"] == "Bearer sekret"
    assert request["body"]["model"] == "Qwen/Qwen3-Embedding-0.6B"
    embedder.embed_query("ferry aground")
    assert server.inputs()[-1] == [PROMPT + "ferry aground"]  # the instruction: queries only
    assert server.inputs()[-2][0] == "story number 8 about the ferry"


def test_truncation_keeps_the_first_dimensions_renormalised(server):
    embedder = client(server, truncate_dim=8)
    assert embedder.dim == 8 and embedder.model_id == "Qwen/Qwen3-Embedding-0.6B@8"
    vector = embedder.embed_documents(["the ferry"])[0]
    full = np.asarray(text_vector("the ferry", 16))[:8]
    assert np.allclose(vector, full / np.linalg.norm(full), atol=1e-6)


@pytest.mark.parametrize("failures", [["503"], ["429", "500"], ["close"], ["502", "close"]])
def test_transient_failures_are_retried(server, failures):
    embedder = client(server, dim=16)
    server.script = list(failures)
    vectors = embedder.embed_documents(["flood warning"])
    assert np.allclose(vectors[0], text_vector("flood warning", 16), atol=1e-6)
    assert len(server.requests) == len(failures) + 1


def test_a_slow_answer_times_out_and_is_retried(server):
    server.slow_seconds = 1.0
    embedder = client(server, dim=16, timeout=0.3)
    server.script = ["slow"]
    started = time.monotonic()
    assert embedder.embed_documents(["bank rates"]).shape == (1, 16)
    assert len(server.requests) == 2 and time.monotonic() - started < 1.0
    server.script = ["slow", "slow"]
    with pytest.raises(EmbedderError, match=r"no answer within 0.3s.*after 2 attempts"):
        client(server, dim=16, timeout=0.3, retries=1).embed_documents(["bank rates"])


def test_persistent_errors_give_up_with_the_reason(server):
    server.script = ["500"] * 3
    with pytest.raises(EmbedderError, match=r"HTTP 500.*busy.*gave up after 3 attempts"):
        client(server, dim=16, retries=2).embed_documents(["x"])


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("401", "HTTP 401"),
        ("400", "HTTP 400"),
        ("bad-json", "not an embeddings answer"),
        ("few", "1 vectors for 2 inputs"),
        ("wrong-dim", "32-dimensional vectors .* served 16-dimensional"),
    ],
)
def test_other_bad_answers_fail_at_once(server, behaviour, message):
    embedder = client(server, retries=3)
    assert embedder.dim == 16
    server.script = [behaviour]
    with pytest.raises(EmbedderError, match=message):
        embedder.embed_documents(["a", "b"])
    assert len(server.requests) == 2  # the probe and one try: nothing to gain from retrying


def test_a_server_that_is_not_there(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = create_embedder(
        "openai", url=f"http://127.0.0.1:{port}", retries=1, backoff=0.01, model="m"
    )
    with pytest.raises(EmbedderError, match="cannot reach the server.*after 2 attempts"):
        embedder.embed_documents(["x"])
    with pytest.raises(EmbedderError, match="http"):
        create_embedder("openai", url="", model="m")


def articles(first: int, count: int) -> list[Article]:
    topics = ["ferry aground off Skarra", "bank holds rates", "dock strike at Varnholt"]
    return [
        Article(
            url=f"https://example.com/{i}",
            title=f"Report {i}: {topics[i % 3]}",
            text=f"Report {i} on the {topics[i % 3]}; witnesses {i} and {i + 1} spoke.",
        )
        for i in range(first, first + count)
    ]


def test_an_engine_on_a_server_loses_nothing_when_it_fails(tmp_path, server):
    settings = make_settings(
        tmp_path, embed_backend="openai", embed_url=server.url, model="news-embedder",
        embed_retries=1,
    )
    with Engine(settings) as engine:
        assert engine.ingest_items(articles(0, 6), batch_size=3).new == 6
        assert engine.stats()["model"] == "news-embedder" and engine.stats()["dim"] == 16
        hit = engine.search("ferry aground", mode="semantic")[0]
        assert "ferry" in hit.article.title
        # the server fails for good in the second batch: the first one stays stored
        server.script = ["ok"] + ["503"] * 10
        with pytest.raises(EmbedderError, match="503"):
            engine.ingest_items(articles(6, 6), batch_size=3)
        assert engine.stats()["originals"] == 9
    server.script = []
    with Engine(settings) as engine:
        result = engine.ingest_items(articles(6, 6), batch_size=3)
        assert (result.new, result.unchanged) == (3, 3)
        assert len(engine.vectors) == 12


def test_a_server_with_another_dimension_is_refused(tmp_path, server):
    settings = make_settings(
        tmp_path, embed_backend="openai", embed_url=server.url, model="news-embedder"
    )
    with Engine(settings) as engine:
        engine.ingest_items(articles(0, 2))
    bigger = EmbedServer(dim=24)
    try:
        with (
            Engine(settings.replace(embed_url=bigger.url)) as engine,
            pytest.raises(ModelMismatchError, match="24-dimensional.*16-dimensional"),
        ):
            engine.ingest_items(articles(2, 1))
    finally:
        bigger.stop()


def test_the_cli_reports_a_down_server_without_a_traceback(tmp_path, server):
    from tidings.cli import main

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"url": "https://example.com/x", "title": "Ferry", "text": "aground"}\n')
    env = {
        "TIDINGS_EMBED_BACKEND": "openai",
        "TIDINGS_EMBED_URL": server.url,
        "TIDINGS_EMBED_RETRIES": "0",
        "TIDINGS_MODEL": "m",
    }
    server.script = ["503"]
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path / "data"), "ingest", str(jsonl)], env=env
    )
    assert result.exit_code == 1
    assert "embedding failed" in result.output and "HTTP 503" in result.output
    assert "Traceback" not in result.output
