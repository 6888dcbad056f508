"""The model a database is bound to: the id and dimension recorded in it, checked on open and
inside every write that stores vectors, so a database never mixes two models' vectors."""

from __future__ import annotations

import threading
import uuid

from ..index.vectors import EPOCH_KEY
from ..settings import Settings
from . import Embedder, EmbedderError, backend_class, embedder_from_settings


class ModelMismatchError(EmbedderError):
    """The database was built with another embedding model."""


class ModelBinding:
    """Loads the configured embedder on first need and keeps it consistent with the
    database's recorded model."""

    def __init__(self, store, settings: Settings, embedder: Embedder | None = None):
        self.store = store
        self.settings = settings
        self._embedder = embedder
        self._lock = threading.RLock()

    def wanted_model_id(self) -> str:
        if self._embedder is not None:
            return self._embedder.model_id
        return backend_class(self.settings.embed_backend).model_id_for(self.settings)

    def check(self, tx=None) -> None:
        recorded = self.store.get_meta("model", tx)
        if recorded is not None and recorded != self.wanted_model_id():
            raise ModelMismatchError(
                f"this database was embedded with {recorded!r} "
                f"(dimension {self.store.get_meta('dim', tx)}), but the configured model is "
                f"{self.wanted_model_id()!r}; use the original model, or run "
                f"`tidings reembed` to re-embed every article with the new one"
            )

    def make(self) -> Embedder:
        return embedder_from_settings(self.settings)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self.make()
            self._check_dim(self._embedder)
            return self._embedder

    def unchecked(self) -> Embedder:
        """The configured embedder without the dimension check (for `reembed`)."""
        with self._lock:
            return self._embedder if self._embedder is not None else self.make()

    def replace(self, embedder: Embedder) -> None:
        with self._lock:
            self._embedder = embedder

    def _check_dim(self, embedder: Embedder, tx=None) -> None:
        recorded_dim = self.store.get_meta("dim", tx)
        if recorded_dim is not None and int(recorded_dim) != embedder.dim:
            raise ModelMismatchError(
                f"the model {embedder.model_id!r} makes {embedder.dim}-dimensional vectors but "
                f"this database holds {recorded_dim}-dimensional ones; use the original model "
                f"or run `tidings reembed`"
            )

    def check_in(self, tx) -> None:
        """Inside a write that stores vectors: the database must still be bound to our model
        (a `reembed` in another process may have switched it); the first write records it."""
        embedder = self.embedder
        self.check(tx)
        self._check_dim(embedder, tx)
        if self.store.get_meta("dim", tx) is None:
            self.record(tx, embedder)

    def record(self, tx, embedder: Embedder, new_epoch: bool = False) -> None:
        self.store.set_meta(tx, "model", embedder.model_id)
        self.store.set_meta(tx, "dim", str(embedder.dim))
        if new_epoch or self.store.get_meta(EPOCH_KEY, tx) is None:
            self.store.set_meta(tx, EPOCH_KEY, uuid.uuid4().hex)
