"""The Embedder interface every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class EmbedderError(RuntimeError):
    """An embedding model cannot be used (missing, wrong dimension, wrong model)."""


class Embedder:
    """Turns texts into L2-normalised float32 vectors.

    Batch-first: backends implement `_encode(texts, is_query)`; documents and queries may get
    different prompts (instruction-tuned models such as Qwen3-Embedding want an instruction on
    queries only).
    """

    model_id: str = ""
    dim: int = 0

    @classmethod
    def options_from_settings(cls, settings) -> dict:
        """Constructor arguments from Settings; backends with options of their own extend
        this."""
        return {
            "model": settings.model,
            "query_prompt": settings.query_prompt,
            "document_prompt": settings.document_prompt,
            "truncate_dim": settings.truncate_dim,
            "batch_size": settings.embed_batch_size,
            "device": settings.device,
            "max_seq_length": settings.max_seq_length,
        }

    @classmethod
    def model_id_for(cls, settings) -> str:
        """The model id this backend will record for these settings, known without loading
        the model (opening a database checks it)."""
        from .sentence_transformers import resolve_model

        _, model_id = resolve_model(settings.model)
        if settings.truncate_dim:
            model_id = f"{model_id}@{settings.truncate_dim}"
        return model_id

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._encode(list(texts), is_query=False))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._encode(list(texts), is_query=True))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
