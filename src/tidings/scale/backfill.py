"""Bulk backfill of archives (JSONL, WARC, directories of HTML): read → extract → embed, then
written in batches through the ingest pipeline's own write path; resumable by shard."""

# Shards: each JSONL or WARC file is one, and a directory's HTML files are taken 256 at a
# time. A shard is recorded as done (one line in DATA_DIR/backfill.done, fsynced) once every
# row it yielded has been written; a run after an interruption skips the done shards and
# re-reads the others, whose stored URLs count as unchanged (ingest is idempotent).
#
# Writing: vectors come from the embed stage; the writer hands them to the ingest pipeline
# through a `PrecomputedEmbedder` that answers from them, so dedupe, stories, the vector
# index and the model check run exactly as in `tidings ingest`. Every article is embedded,
# copies included: whether one is a copy is decided at write time, in one place.

from __future__ import annotations

import itertools
import logging
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..embed import Embedder, EmbedderError
from ..models import IngestResult, Problem
from ..pipeline.inputs import report
from .stages import (
    EmbedStage,
    Shard,
    article_from_json,
    columns_of,
    extract_rows,
    read_shard,
    rows_of,
)

log = logging.getLogger(__name__)

DONE_FILE = "backfill.done"
HTML_FILES_PER_SHARD = 256
ENGINES = ("local", "ray")


class BackfillError(RuntimeError):
    """The backfill cannot run (no such input, Ray missing or unreachable)."""


@dataclass
class BackfillResult:
    ingest: IngestResult = field(default_factory=IngestResult)
    pages: int = 0  # items written: articles, failures, skips, notes, ignored records
    shards: int = 0
    shards_done_before: int = 0
    seconds: float = 0.0
    peak_rss_mib: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ingest.to_dict(),
            "pages": self.pages,
            "shards": self.shards,
            "shards_done_before": self.shards_done_before,
            "seconds": round(self.seconds, 2),
            "pages_per_second": round(self.pages / self.seconds, 1) if self.seconds else None,
            "peak_rss_mib": round(self.peak_rss_mib),
        }


def plan_shards(inputs: Iterable[str], html_per_shard: int = HTML_FILES_PER_SHARD) -> list[Shard]:
    """Shards of the inputs in the order `tidings ingest` reads them (directories walked in
    sorted order): runs of up to `html_per_shard` HTML files, and each JSONL or WARC file.
    Raises BackfillError for a missing input."""
    shards: list[Shard] = []
    run: list[Path] = []

    def flush() -> None:
        if run:
            shards.append(Shard.of(run.copy()))
            run.clear()

    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise BackfillError(f"{raw}: no such file or directory")
        for found in _walk(path, set()) if path.is_dir() else [path]:
            if _is_html(found):
                run.append(found)
                if len(run) >= html_per_shard:
                    flush()
            else:
                flush()
                shards.append(Shard.of([found]))
    flush()
    return shards


def _walk(directory: Path, seen: set[str]) -> Iterator[Path]:
    """The files `tidings ingest DIR` reads, in its order (entries sorted by name, hidden
    ones skipped, symlink loops cut)."""
    from ..sources import files

    known = (
        files.HTML_SUFFIXES + files.GZ_HTML_SUFFIXES + files.JSONL_SUFFIXES
        + files.GZ_JSONL_SUFFIXES + getattr(files, "WARC_SUFFIXES", (".warc", ".warc.gz"))
    )
    real = os.path.realpath(directory)
    if real in seen:
        return
    seen.add(real)
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise BackfillError(f"{directory}: {exc.strerror or exc}") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.name.lower().endswith(known):
            yield entry


def _is_html(path: Path) -> bool:
    from ..sources import files

    return path.name.lower().endswith(files.HTML_SUFFIXES + files.GZ_HTML_SUFFIXES)


class ShardLog:
    """The shards already written, one id a line, appended and fsynced as each completes."""

    def __init__(self, path: Path):
        self.path = path
        self.done: set[str] = set()
        if path.exists():
            self.done = {line.strip() for line in path.read_text().splitlines() if line.strip()}

    def mark(self, shard_id: str) -> None:
        with self.path.open("a") as fh:
            fh.write(shard_id + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done.add(shard_id)


class PrecomputedEmbedder(Embedder):
    """Answers the ingest pipeline with the vectors the embed stage made (by text); a text it
    has no vector for goes to `fallback`, or is an error when there is none."""

    def __init__(self, model_id: str, dim: int, fallback: Embedder | None = None):
        self.model_id = model_id
        self.dim = dim
        self.fallback = fallback
        self.table: dict[str, np.ndarray] = {}

    def _encode(self, texts, is_query: bool) -> np.ndarray:
        if is_query or any(t not in self.table for t in texts):
            if self.fallback is None:
                raise EmbedderError("the backfill writer has no vector for a text it was given")
            return self.fallback._encode(texts, is_query)
        return np.stack([self.table[t] for t in texts])


Progress = Callable[[BackfillResult], None]


class Writer:
    """Writes rows (after the embed stage) through the engine's ingest pipeline, and marks a
    shard done once all its rows are written."""

    def __init__(self, engine, log_: ShardLog, result: BackfillResult, batch_size: int,
                 progress: Progress | None = None, fallback: Embedder | None = None):
        self.engine = engine
        self.log = log_
        self.result = result
        self.batch_size = batch_size
        self.progress = progress
        self.fallback = fallback
        self.lookup: PrecomputedEmbedder | None = None
        self.expected: dict[str, int] = {}
        self.written: dict[str, int] = {}

    def write(self, batch: dict[str, Any]) -> None:
        from ..pipeline import embed_text

        rows = rows_of(batch)
        articles, counted = [], []
        for r in rows:
            kind = r["kind"]
            if kind == "end":
                self.expected[r["shard"]] = r["count"]
                continue
            counted.append(r["shard"])
            if kind == "article":
                article = article_from_json(r["payload"])
                vector = np.frombuffer(r["vector"], dtype=np.float32)
                self._lookup(r["note"], vector.shape[0]).table[embed_text(article)] = vector
                articles.append(article)
            elif kind in ("failed", "skipped"):
                report(self.result.ingest, kind, r["url"], r["note"], None)
            elif kind == "note":
                self.result.ingest.notes.append(Problem(r["url"], r["note"]))
            else:
                ignored = self.result.ingest.ignored
                ignored[r["note"]] = ignored.get(r["note"], 0) + 1
        if articles:
            self.engine.ingest_items(articles, batch_size=self.batch_size,
                                     result=self.result.ingest)
        if self.lookup is not None:
            self.lookup.table.clear()
        for shard in counted:
            self.written[shard] = self.written.get(shard, 0) + 1
        self.result.pages += len(counted)
        self._finish_shards()
        if self.progress:
            self.progress(self.result)

    def _lookup(self, model_id: str, dim: int) -> PrecomputedEmbedder:
        if self.lookup is None:
            self.lookup = PrecomputedEmbedder(model_id, dim, self.fallback)
            self.engine.model.replace(self.lookup)
        elif (model_id, dim) != (self.lookup.model_id, self.lookup.dim):
            raise EmbedderError(
                f"the embed stage changed models mid-run: {model_id!r} ({dim}) after "
                f"{self.lookup.model_id!r} ({self.lookup.dim})"
            )
        return self.lookup

    def _finish_shards(self) -> None:
        for shard, expected in list(self.expected.items()):
            if self.written.get(shard, 0) >= expected:
                self.log.mark(shard)
                del self.expected[shard]
                self.written.pop(shard, None)

    def finish(self) -> None:
        self._finish_shards()


def run_backfill(
    engine,
    inputs: list[str],
    engine_kind: str = "local",
    address: str | None = None,
    batch_size: int = 256,
    actors: int = 1,
    progress: Progress | None = None,
    html_per_shard: int = HTML_FILES_PER_SHARD,
) -> BackfillResult:
    """Backfill `inputs` into the engine's database with the local or the Ray engine."""
    if engine_kind not in ENGINES:
        raise BackfillError(f"unknown backfill engine {engine_kind!r}; choose one of {ENGINES}")
    if engine_kind == "ray":
        from .ray_runner import import_ray

        import_ray()  # says which extra to install before any work is done
    started = time.perf_counter()
    shards = plan_shards(inputs, html_per_shard)
    done = ShardLog(engine.data_dir / DONE_FILE)
    result = BackfillResult(shards=len(shards))
    todo = [s for s in shards if s.id not in done.done]
    result.shards_done_before = len(shards) - len(todo)
    settings = engine.settings
    if engine_kind == "local":
        embedder = engine.model.embedder  # also checks it against the database
        writer = Writer(engine, done, result, settings.embed_batch_size, progress, embedder)
        stage = EmbedStage(embedder=embedder)
        for shard in todo:
            rows = read_shard(shard.id, shard.paths, settings.fetch_max_bytes)
            while chunk := list(itertools.islice(rows, batch_size)):
                writer.write(stage(extract_rows(columns_of(chunk), settings.fetch_max_bytes)))
    else:
        from .ray_runner import run_on_ray

        writer = Writer(engine, done, result, settings.embed_batch_size, progress)
        run_on_ray(todo, settings, writer, address=address, batch_size=batch_size,
                   actors=actors)
    writer.finish()
    result.seconds = time.perf_counter() - started
    result.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result
