"""OpenAI-compatible embedding servers (TEI, vLLM, Ollama, …) over HTTP: `/v1/embeddings`
in batches, with timeouts, retries with backoff and a check of every answer's shape."""

# A request is retried after a dropped connection, a timeout, a 429 or a 5xx, waiting
# `backoff × 2^attempt` with full jitter (or the server's Retry-After, when it says so).
# Any other answer — a 4xx, malformed JSON, the wrong number of vectors, vectors of the
# wrong dimension — is an EmbedderError at once: retrying would not change it, and the
# ingest batch that asked fails before it writes anything.

from __future__ import annotations

import logging
import math
import random
import threading
import time
import weakref
from collections.abc import Sequence

import numpy as np

from .base import Embedder, EmbedderError
from .sentence_transformers import BUNDLED, BUNDLED_ID

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


def embeddings_url(base: str) -> str:
    """`http://h:8080`, `http://h:8080/v1` and `http://h:8080/v1/embeddings` all name the
    same endpoint."""
    base = base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise EmbedderError(
            f"the openai embedding backend needs TIDINGS_EMBED_URL as an http(s) URL, "
            f"not {base!r}"
        )
    if base.endswith("/embeddings"):
        return base
    if base.endswith("/v1"):
        return base + "/embeddings"
    return base + "/v1/embeddings"


class OpenAIEmbedder(Embedder):
    """Embeds through a server. `model` is the name the server knows the model by; it is also
    the id the database records, so a server running the same model as a local backend (say
    all-MiniLM-L6-v2 in fp32) can share its database."""

    def __init__(
        self,
        model: str = BUNDLED,
        url: str = "",
        api_key: str = "",
        query_prompt: str = "",
        document_prompt: str = "",
        truncate_dim: int = 0,
        batch_size: int = 32,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        dim: int = 0,  # the served model's dimension, when known (skips the probe)
        transport=None,
        **_ignored,
    ):
        import httpx

        self.url = embeddings_url(url)
        self.model = BUNDLED_ID if model in (BUNDLED, "") else model
        self.truncate_dim = truncate_dim
        self.model_id = f"{self.model}@{truncate_dim}" if truncate_dim else self.model
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.batch_size = max(1, batch_size)
        self.retries = max(0, retries)
        self.backoff = backoff
        self._served_dim = dim
        self._lock = threading.Lock()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout), headers=headers, transport=transport
        )
        # the embedder has no owner that closes it; its pooled connections close with it
        self._finalizer = weakref.finalize(self, self.client.close)

    @classmethod
    def options_from_settings(cls, settings) -> dict:
        options = super().options_from_settings(settings)
        options.pop("device"), options.pop("max_seq_length")
        return {
            **options,
            "url": settings.embed_url,
            "api_key": settings.embed_api_key,
            "timeout": settings.embed_timeout,
            "retries": settings.embed_retries,
        }

    @classmethod
    def model_id_for(cls, settings) -> str:
        model = BUNDLED_ID if settings.model in (BUNDLED, "") else settings.model
        return f"{model}@{settings.truncate_dim}" if settings.truncate_dim else model

    @property
    def dim(self) -> int:
        """The stored dimension: the served model's (asked of the server on first need),
        or the Matryoshka truncation."""
        served = self.served_dim
        return min(served, self.truncate_dim) if self.truncate_dim else served

    @property
    def served_dim(self) -> int:
        with self._lock:
            if not self._served_dim:
                self._served_dim = self._request(["dimension probe"]).shape[1]
            return self._served_dim

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        prompt = self.query_prompt if is_query else self.document_prompt
        inputs = [prompt + t for t in texts]
        dim, served = self.dim, self.served_dim
        chunks = []
        for i in range(0, len(inputs), self.batch_size):
            vectors = self._request(inputs[i : i + self.batch_size])
            if vectors.shape[1] != served:
                raise EmbedderError(
                    f"{self.url} returned {vectors.shape[1]}-dimensional vectors for "
                    f"{self.model!r}, but it served {served}-dimensional ones before; "
                    "is the server running another model now?"
                )
            chunks.append(vectors[:, :dim])
        return np.concatenate(chunks)

    def _request(self, inputs: list[str]) -> np.ndarray:
        import httpx

        body = {"model": self.model, "input": inputs, "encoding_format": "float"}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.client.post(self.url, json=body)
            except httpx.TimeoutException as exc:
                problem = f"no answer within {self.client.timeout.read}s ({type(exc).__name__})"
                wait = None
            except httpx.TransportError as exc:
                problem = f"cannot reach the server: {exc or type(exc).__name__}"
                wait = None
            else:
                if response.status_code == 200:
                    return self._parse(response, len(inputs))
                problem = f"HTTP {response.status_code}: {_short(response.text)}"
                if response.status_code not in RETRY_STATUSES:
                    raise EmbedderError(f"{self.url}: {problem}")
                wait = _retry_after(response.headers.get("retry-after"))
            if last:
                raise EmbedderError(
                    f"{self.url}: {problem}; gave up after {self.retries + 1} attempts"
                )
            delay = wait if wait is not None else random.uniform(0, self.backoff * 2**attempt)
            log.warning("embedding server %s: %s; retrying in %.1fs", self.url, problem, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, response, count: int) -> np.ndarray:
        try:
            data = response.json()["data"]
            rows = sorted(data, key=lambda row: row.get("index", 0))
            vectors = [row["embedding"] for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EmbedderError(
                f"{self.url}: not an embeddings answer ({type(exc).__name__}: "
                f"{_short(response.text)})"
            ) from exc
        if len(vectors) != count:
            raise EmbedderError(f"{self.url}: {len(vectors)} vectors for {count} inputs")
        try:
            array = np.asarray(vectors, dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise EmbedderError(f"{self.url}: vectors of unequal length or not numbers") from exc
        if array.ndim != 2 or array.shape[1] == 0 or not np.isfinite(array).all():
            raise EmbedderError(f"{self.url}: malformed vectors (shape {array.shape})")
        return array

    def close(self) -> None:
        self._finalizer()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
