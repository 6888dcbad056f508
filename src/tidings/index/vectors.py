"""Vector index: usearch HNSW in a file beside the database, kept level with it.

The file is a cache of the database's embeddings. Beside it, `<file>.json` records the
database generation the file reflects and the vector *epoch* (bumped by `reembed`). Catching
up reads only what changed after that generation (new vectors, removed ones); a file from
another epoch, or one whose count disagrees with the database, is rebuilt or reconciled.
Saves are atomic (unique temp file, fsync, rename) and serialised across processes by a lock
file; a process never overwrites a file that reflects a newer generation than its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .._failpoints import failpoint

log = logging.getLogger(__name__)

EPOCH_KEY = "vectors_epoch"
# the graph's shape: links per node, and candidates kept while inserting one (the PostgreSQL
# store builds its pgvector graph with the same two, store.postgres.articles HNSW_*)
CONNECTIVITY = 16
EXPANSION_ADD = 128


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give the file


class UsearchIndex:
    """Cosine HNSW over article ids."""

    def __init__(
        self,
        path: str | Path,
        dim: int,
        dtype: str = "f16",
        expansion: int = 256,
    ):
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".json")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.dim = dim
        self.dtype = dtype
        self.expansion = expansion
        self.generation = -1  # database generation the in-memory index reflects; -1 unknown
        self.epoch: str | None = None
        self.dirty = False
        self._mutex = threading.RLock()
        self._index = None
        # A file is opened as a memory-mapped view: the first searches need only the pages
        # they touch. A view lives in the page cache, where the database's pages compete
        # with it (search latency then depends on what the cache still holds), and it is
        # immutable: the first change copies it into memory at once, and a server copies it
        # before it answers (`load_into_memory`, from `Engine.warm`). Not in a background
        # thread: usearch holds the GIL while it copies (about a second at a million
        # vectors), so every request or one-shot command would stall behind it (a CLI
        # `related` at 1M took 1.1 s instead of 0.2 s).
        self.viewed = False
        with self._file_lock(fcntl.LOCK_SH):
            state = self._read_state()
            if self.path.exists():
                self._index = self._restore()
                self.viewed = self._index is not None
            if self._index is not None and state is not None and self._matches(state):
                self.generation = int(state.get("generation", -1))
                self.epoch = state.get("epoch")
        if self._index is None:
            self._index = self._new()
        self._index.expansion_search = expansion  # a search setting, not stored in the file

    def load_into_memory(self) -> None:
        """Copy a viewed file into memory now (a server, before its first request)."""
        with self._mutex:
            if not self.viewed:
                return
            try:
                copy = self._index.copy()
            except Exception as exc:  # the view stays; a change copies it then
                log.warning("could not load vector index %s into memory: %s", self.path, exc)
                return
            copy.expansion_search = self.expansion
            self._index, self.viewed = copy, False

    # -- files -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file_lock(self, mode: int):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_state(self) -> dict | None:
        try:
            state = json.loads(self.state_path.read_text())
            return state if isinstance(state, dict) else None
        except (OSError, ValueError):
            return None

    def _matches(self, state: dict) -> bool:
        """Whether the state file describes the index file beside it (not an older or newer
        file put there by a crash between the two renames, or by hand)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        return state.get("count") == len(self._index) and state.get("bytes") == size

    def _restore(self):
        from usearch.index import Index

        try:
            index = Index.restore(str(self.path), view=True)
        except Exception as exc:  # a torn or foreign file: rebuild from the database
            log.warning("vector index %s unreadable (%s); it will be rebuilt", self.path, exc)
            return None
        if index is None or index.ndim != self.dim:
            log.warning("vector index %s has another dimension; rebuilding", self.path)
            return None
        return index

    def _new(self):
        from usearch.index import Index

        return Index(
            ndim=self.dim,
            metric="cos",
            dtype=self.dtype,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=self.expansion,
        )

    def save(self, force: bool = False) -> bool:
        """Write atomically; returns False when nothing was written (not dirty, or the file
        on disk already reflects a newer generation than this process's index, unless
        `force`: a rebuild replaces whatever is there)."""
        with self._mutex:
            if not self.dirty:
                return False
            with self._file_lock(fcntl.LOCK_EX):
                # temp files exist only while a save holds this lock: any left now belong to
                # a save that was killed before its rename
                for leftover in self.path.parent.glob(self.path.name + ".*.tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
                on_disk = self._read_state()
                newer = on_disk is not None and on_disk.get("generation", -1) > self.generation
                if newer and self.path.exists() and not force:
                    return False
                fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                           dir=self.path.parent)
                os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; the index is a plain file
                os.close(fd)
                try:
                    self._index.save(tmp)
                    _fsync(tmp)
                    failpoint("index-save")
                    size = os.stat(tmp).st_size
                    os.replace(tmp, self.path)
                    state = {"generation": self.generation, "epoch": self.epoch,
                             "count": len(self._index), "bytes": size, "dim": self.dim}
                    _write_atomically(self.state_path, json.dumps(state).encode())
                    _fsync_dir(self.path.parent)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
            self.dirty = False
            return True

    # -- operations --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    def _writable(self):
        if self.viewed:
            self._index = self._index.copy()
            self._index.expansion_search = self.expansion
            self.viewed = False
        return self._index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.asarray(ids, dtype=np.uint64)
        with self._mutex:
            self._writable()
            present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
            if present.any():
                self._index.remove(ids[present])
            self._index.add(ids, np.asarray(vectors, dtype=np.float32))
            self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), dtype=np.uint64)
        if not len(ids):
            return
        with self._mutex:
            present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
            if present.any():
                self._writable().remove(ids[present])
                self.dirty = True

    def search(
        self, vector: np.ndarray, limit: int, expansion: int | None = None
    ) -> list[tuple[int, float]]:
        """Nearest ids by cosine; `expansion` overrides expansion_search for this call (every
        search holds the mutex, so no other search sees the change)."""
        with self._mutex:
            if len(self._index) == 0 or limit <= 0:
                return []
            if expansion is not None:
                self._index.expansion_search = expansion
            try:
                matches = self._index.search(
                    np.asarray(vector, dtype=np.float32), min(limit, len(self._index))
                )
            finally:
                if expansion is not None:
                    self._index.expansion_search = self.expansion
        return [
            (int(key), 1.0 - float(dist))
            for key, dist in zip(matches.keys, matches.distances, strict=True)
        ]

    def vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those ids that are in the index (as float32)."""
        keys = np.asarray(list(ids), dtype=np.uint64)
        if not len(keys):
            return {}
        with self._mutex:
            found = self._index.get(keys)
        return {int(k): np.asarray(v, dtype=np.float32)
                for k, v in zip(keys, found, strict=True) if v is not None}

    def keys(self) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.asarray(self._index.keys, dtype=np.uint64)

    # -- keeping level with the database -----------------------------------------------

    def sync(self, store, tx=None) -> dict[str, int]:
        """Catch up with the database (as seen by `tx`, or its latest commit): read only the
        vectors written and removed after the generation this index reflects. Outside a
        transaction the reads share one snapshot, so a commit made meanwhile by another
        process cannot make the counts disagree (which would force a full reconcile)."""
        with self._mutex, (store.snapshot() if tx is None else contextlib.nullcontext()):
            generation = store.generation(tx) if tx is None else tx.previous
            epoch = store.get_meta(EPOCH_KEY, tx)
            if epoch == self.epoch and generation == self.generation:
                return {"added": 0, "removed": 0}
            if epoch != self.epoch or self.generation < 0:
                return self._reconcile(store, tx, generation, epoch)
            removed = store.removed_vectors(self.generation, tx)
            self.remove(removed.tolist())
            added = 0
            for ids, vectors in store.iter_vectors(tx, since=self.generation):
                self.add(ids, vectors)
                added += len(ids)
            self.generation = generation
            if len(self._index) != store.vector_count(tx):
                return self._reconcile(store, tx, generation, epoch)
            if added or len(removed):
                self.dirty = True
            return {"added": added, "removed": int(len(removed))}

    def _reconcile(self, store, tx, generation: int, epoch: str | None) -> dict[str, int]:
        """Compare id sets (and rebuild when the epoch changed: every vector is different)."""
        if epoch != self.epoch and self.epoch is not None:
            log.info("vector index %s is from another embedding epoch; rebuilding", self.path)
            dim = store.get_meta("dim", tx)
            self.dim = int(dim) if dim is not None else self.dim  # the new model's size
            self._index, self.viewed = self._new(), False
        wanted = store.vector_ids(tx)
        have = np.sort(self.keys())
        extra = np.setdiff1d(have, wanted, assume_unique=True)
        missing = np.setdiff1d(wanted, have, assume_unique=True)
        self.remove(extra.tolist())
        added = 0
        for ids, vectors in store.iter_vectors(tx, ids=missing.tolist()):
            self.add(ids, vectors)
            added += len(ids)
        if added or len(extra):
            log.info("vector index repaired: %d added, %d removed", added, len(extra))
        self.generation = generation
        self.epoch = epoch
        self.dirty = True
        return {"added": added, "removed": int(len(extra))}

    def rebuild(self, store) -> int:
        with self._mutex:
            index = self._new()
            generation = store.generation()
            epoch = store.get_meta(EPOCH_KEY)
            count = 0
            for ids, vectors in store.iter_vectors():
                index.add(ids, vectors)
                count += len(ids)
            self._index, self.generation, self.epoch = index, generation, epoch
            self.viewed = False
            self.dirty = True
            self.save(force=True)
            return count


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
