"""Embedding backends behind one `Embedder` interface, chosen by name or dotted path."""

from __future__ import annotations

import importlib
from typing import Any

from .base import Embedder, EmbedderError

__all__ = [
    "Embedder",
    "EmbedderError",
    "backend_class",
    "create_embedder",
    "embedder_from_settings",
]

BACKENDS = {
    "onnx": "tidings.embed.onnx.OnnxEmbedder",
    "openai": "tidings.embed.openai.OpenAIEmbedder",
    "sentence-transformers": "tidings.embed.sentence_transformers.SentenceTransformerEmbedder",
}


def backend_class(backend: str) -> type[Embedder]:
    """The Embedder subclass of a backend name or dotted path (its module is imported, its
    heavy libraries are not)."""
    target = BACKENDS.get(backend, backend)
    module_name, _, class_name = target.rpartition(".")
    if not module_name:
        raise EmbedderError(f"unknown embedding backend {backend!r}; known: {sorted(BACKENDS)}")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EmbedderError(f"cannot import embedding backend {target!r}: {exc}") from exc


def create_embedder(backend: str, **options: Any) -> Embedder:
    """Build an embedder from a backend name or a dotted path to an Embedder subclass."""
    return backend_class(backend)(**options)


def embedder_from_settings(settings) -> Embedder:
    """The configured backend, built with the options it takes from settings."""
    cls = backend_class(settings.embed_backend)
    return cls(**cls.options_from_settings(settings))
