"""The ONNX Runtime backend: a local export of the real bundled model (and of a tiny Qwen3
built here) gives the sentence-transformers vectors; int8 stays close but is recorded as a
model of its own; the export is cached and reused."""

from __future__ import annotations

import numpy as np
import pytest

from tidings.embed import EmbedderError, create_embedder
from tidings.engine import ModelMismatchError
from tidings.models import Article

from .conftest import make_settings
from .test_embed import QWEN_PROMPT, tiny_qwen3  # noqa: F401  (a fixture)

pytest.importorskip("onnxruntime")

TEXTS = [
    "Ferry runs aground off Skarra",
    "The ferry Selkie Dawn ran aground on a reef off Skarra late on Tuesday; lifeboats from "
    "three harbours took all 216 passengers off before dawn, and the coastguard said the "
    "hull was breached in two places. " * 6,
    "Central bank holds rates",
    "Dockworkers at Varnholt vote to strike over automated cranes, the union says.",
    "Wildfire spreads north of the valley as winds pick up",
    "x",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_fp32(onnx_cache):
    return create_embedder("onnx", cache_dir=onnx_cache)


@pytest.fixture(scope="session")
def onnx_int8(onnx_cache):
    return create_embedder("onnx", cache_dir=onnx_cache, quantize="int8")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_fp32_export_gives_the_sentence_transformers_vectors(embedder, onnx_fp32):
    assert onnx_fp32.model_id == embedder.model_id
    assert onnx_fp32.dim == 384
    docs = onnx_fp32.embed_documents(TEXTS)
    assert docs.dtype == np.float32 and docs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert cosines(docs, embedder.embed_documents(TEXTS)).min() > 0.9999
    query = onnx_fp32.embed_query("ship aground near island")
    assert cosines(query[None], embedder.embed_queries(["ship aground near island"]))[0] > 0.9999


def test_a_vector_does_not_depend_on_its_batch(onnx_fp32, onnx_cache):
    """Texts are sorted by length and padded per batch: the padding must not leak."""
    small_batches = create_embedder("onnx", cache_dir=onnx_cache, batch_size=2)
    together = small_batches.embed_documents(TEXTS)
    alone = np.stack([onnx_fp32.embed_documents([t])[0] for t in TEXTS])
    reversed_order = onnx_fp32.embed_documents(TEXTS[::-1])[::-1]
    assert cosines(together, alone).min() > 0.99999
    assert cosines(reversed_order, alone).min() > 0.99999


def test_int8_is_close_but_a_model_of_its_own(embedder, onnx_int8):
    assert onnx_int8.model_id == embedder.model_id + "+int8"
    docs = onnx_int8.embed_documents(TEXTS)
    close = cosines(docs, embedder.embed_documents(TEXTS))
    assert close.mean() > 0.98 and close.min() > 0.95
    query = onnx_int8.embed_query("ship aground near island")
    assert int(np.argmax(docs @ query)) in (0, 1)


def test_the_export_is_cached_and_keyed_by_options(onnx_fp32, onnx_int8, onnx_cache, monkeypatch):
    import tidings.embed.onnx as onnx_backend

    assert onnx_fp32.path != onnx_int8.path
    assert sorted(p.name for p in onnx_cache.iterdir()) == sorted(
        [onnx_fp32.path.name, onnx_int8.path.name]
    )

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_backend, "export", no_export)
    again = create_embedder("onnx", cache_dir=onnx_cache, quantize="int8")
    assert again.path == onnx_int8.path
    assert np.allclose(again.embed_documents(TEXTS[:2]), onnx_int8.embed_documents(TEXTS[:2]))


def test_bad_options_are_clear_errors(onnx_cache, tmp_path):
    with pytest.raises(EmbedderError, match="unknown embedding quantization 'int4'"):
        create_embedder("onnx", cache_dir=onnx_cache, quantize="int4")
    with pytest.raises(EmbedderError, match="not a local path"):
        create_embedder("onnx", cache_dir=onnx_cache, model="org/not-downloaded-model")
    (tmp_path / "broken").mkdir()
    with pytest.raises(EmbedderError, match="cannot load embedding model"):
        create_embedder("onnx", cache_dir=tmp_path / "cache", model=str(tmp_path / "broken"))


def test_tiny_qwen3_last_token_pooling_prompt_and_truncation(tiny_qwen3, onnx_cache):  # noqa: F811
    options = {"model": str(tiny_qwen3), "query_prompt": QWEN_PROMPT, "truncate_dim": 32}
    torch_model = create_embedder("sentence-transformers", **options)
    onnx_model = create_embedder("onnx", cache_dir=onnx_cache, **options)
    assert onnx_model.model_id == torch_model.model_id and onnx_model.dim == 32
    texts = ["the ferry story", "bank rates", "the flood the fire the bridge the bank news"]
    assert cosines(onnx_model.embed_documents(texts), torch_model.embed_documents(texts)).min() > (
        0.9999
    )
    assert cosines(onnx_model.embed_queries(texts), torch_model.embed_queries(texts)).min() > (
        0.9999
    )
    assert not np.allclose(onnx_model.embed_documents(texts), onnx_model.embed_queries(texts))


FERRY = Article(
    url="https://example.com/ferry",
    title="Ferry aground off Skarra",
    text="The ferry ran aground near the island; every passenger was taken off by lifeboat.",
)
BANK = Article(
    url="https://example.com/bank",
    title="Central bank holds rates",
    text="The central bank kept its main rate unchanged, citing slowing inflation.",
)


def test_a_database_records_what_switching_backends_needs(tmp_path, embedder, onnx_cache):
    """torch and ONNX fp32 share a database; int8 is refused until `reembed`."""
    from tidings.engine import Engine

    with Engine(make_settings(tmp_path), embedder=embedder) as engine:
        engine.ingest_articles([FERRY])
    onnx_settings = make_settings(tmp_path, embed_backend="onnx", embed_cache_dir=str(onnx_cache))
    with Engine(onnx_settings) as engine:
        assert engine.ingest_articles([BANK]).new == 1
        assert engine.search("ship aground", mode="semantic")[0].article.url == FERRY.url
    int8_settings = make_settings(
        tmp_path, embed_backend="onnx", embed_cache_dir=str(onnx_cache), embed_quantize="int8"
    )
    with pytest.raises(ModelMismatchError, match=r"\+int8.*tidings reembed"):
        Engine(int8_settings)
    with Engine(int8_settings, check_model=False) as engine:
        assert engine.reembed() == 2
    with Engine(int8_settings) as engine:
        assert engine.stats()["model"].endswith("+int8")
        assert engine.search("ship aground", mode="semantic")[0].article.url == FERRY.url
    with pytest.raises(ModelMismatchError):
        Engine(make_settings(tmp_path), embedder=embedder)


def test_the_default_cache_is_beside_the_data(tmp_path):
    from tidings.embed.onnx import OnnxEmbedder

    options = OnnxEmbedder.options_from_settings(make_settings(tmp_path / "data"))
    assert options["cache_dir"] == str(tmp_path / "data" / "models")
