"""The embedding backends: the bundled model, and the non-default path (any local model,
query prompts, Matryoshka truncation) tested with a tiny Qwen3 model built here."""

from __future__ import annotations

import numpy as np
import pytest

from tidings.embed import EmbedderError, create_embedder
from tidings.engine import ModelMismatchError

QWEN_PROMPT = "Instruct: Given a news search query, retrieve relevant articles\nQuery:"


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    """A randomly initialised two-layer Qwen3 with a word-level tokenizer, saved as a
    sentence-transformers model (last-token pooling, like Qwen3-Embedding)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    root = tmp_path_factory.mktemp("qwen3")
    words = (
        "the a news story ferry bridge fire flood rates bank instruct given search "
        "query retrieve relevant articles"
    ).split()
    vocab = {"<pad>": 0, "<unk>": 1, "<eos>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    ).save_pretrained(root / "hf")
    config = Qwen3Config(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=128,
    )
    Qwen3Model(config).save_pretrained(root / "hf")
    transformer = st_models.Transformer(str(root / "hf"), max_seq_length=64)
    pooling = st_models.Pooling(64, pooling_mode="lasttoken")
    SentenceTransformer(modules=[transformer, pooling, st_models.Normalize()]).save(
        str(root / "st")
    )
    return root / "st"


def test_bundled_model_embeds_offline_and_normalises(embedder):
    vectors = embedder.embed_documents(["Ferry runs aground off Skarra", "Central bank holds"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    near = embedder.embed_queries(["ship aground near island"])[0]
    assert near @ vectors[0] > near @ vectors[1]


def test_local_qwen3_with_query_prompt_and_truncation(tiny_qwen3):
    plain = create_embedder("sentence-transformers", model=str(tiny_qwen3))
    assert plain.dim == 64
    prompted = create_embedder(
        "sentence-transformers", model=str(tiny_qwen3), query_prompt=QWEN_PROMPT, truncate_dim=32
    )
    assert prompted.dim == 32
    assert prompted.model_id.endswith("@32")
    doc = prompted.embed_documents(["the ferry story"])[0]
    query = prompted.embed_queries(["the ferry story"])[0]
    assert doc.shape == (32,)
    # the instruction goes on queries only: same text, different vectors
    assert not np.allclose(doc, query)
    # documents get no prompt: equal to the untruncated model's first 32 dims, renormalised
    full = plain.embed_documents(["the ferry story"])[0][:32]
    assert np.allclose(doc, full / np.linalg.norm(full), atol=1e-5)


def test_unknown_backend_and_missing_model_are_clear_errors(tmp_path):
    with pytest.raises(EmbedderError, match="unknown embedding backend"):
        create_embedder("nope")
    with pytest.raises(EmbedderError, match="cannot load embedding model"):
        create_embedder("sentence-transformers", model=str(tmp_path / "missing-model"))


def test_opening_a_database_with_another_model_is_a_clear_error(tmp_path, embedder, tiny_qwen3):
    from tidings.engine import Engine
    from tidings.models import Article

    from .conftest import make_settings

    settings = make_settings(tmp_path)
    with Engine(settings, embedder=embedder) as engine:
        engine.ingest_articles(
            [
                Article(
                    url="https://example.com/a",
                    title="Ferry aground",
                    text="The ferry ran aground near the island.",
                )
            ]
        )
    other = create_embedder("sentence-transformers", model=str(tiny_qwen3))
    with pytest.raises(ModelMismatchError, match="all-MiniLM-L6-v2"):
        Engine(settings, embedder=other)
    # same id but another dimension is caught when vectors would be written
    with pytest.raises(ModelMismatchError, match="tidings reembed"):
        Engine(make_settings(tmp_path, model=str(tiny_qwen3)))
    # after reembed the database belongs to the new model
    with Engine(make_settings(tmp_path, model=str(tiny_qwen3)), check_model=False) as engine:
        assert engine.reembed() == 1
    with Engine(make_settings(tmp_path, model=str(tiny_qwen3))) as engine:
        assert engine.stats()["dim"] == 64
        assert [h.article.title for h in engine.search("ferry", mode="semantic")] == [
            "Ferry aground"
        ]
