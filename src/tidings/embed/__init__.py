"""Embedding backends behind one `Embedder` interface, chosen by name or dotted path."""

from __future__ import annotations

import importlib
from typing import Any

from .base import Embedder, EmbedderError

__all__ = ["Embedder", "EmbedderError", "create_embedder"]

BACKENDS = {
    "sentence-transformers": "tidings.embed.sentence_transformers.SentenceTransformerEmbedder",
}


def create_embedder(backend: str, **options: Any) -> Embedder:
    """Build an embedder from a backend name or a dotted path to an Embedder subclass."""
    target = BACKENDS.get(backend, backend)
    module_name, _, class_name = target.rpartition(".")
    if not module_name:
        raise EmbedderError(f"unknown embedding backend {backend!r}; known: {sorted(BACKENDS)}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EmbedderError(f"cannot import embedding backend {target!r}: {exc}") from exc
    return cls(**options)
