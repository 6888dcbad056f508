"""The backfill's stages over plain rows: read a shard → extract → embed. The same functions
run in-process (`--engine local`) and as Ray Data steps (`--engine ray`); none knows which."""

# Every row has the same columns, whatever its kind, so a Ray block is one Arrow table:
#   shard   the shard it came from (a shard is done when all its rows are written)
#   kind    page | article | failed | skipped | note | ignored | end
#   url     the page's or article's URL (or the input that failed)
#   payload page bytes, or an Article as JSON
#   note    the reason (failed, skipped, note) or kind (ignored); page metadata (JSON) for
#           pages; the model id for embedded articles
#   count   on the shard's `end` row: how many rows the shard yielded before it
#   vector  float32 bytes, after the embed stage (empty before, and for non-articles)

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..models import Article, Page

COLUMNS = ("shard", "kind", "url", "payload", "note", "count", "vector")
_DATES = ("published", "modified", "fetched")


@dataclass(frozen=True)
class Shard:
    """A unit of reading and of resuming: one JSONL or WARC file, or a run of HTML files."""

    id: str
    paths: tuple[str, ...]

    @classmethod
    def of(cls, paths: list[Path]) -> Shard:
        # the id changes with a file's size or time, so a changed file is read again
        stamp = [(str(p.resolve()), *_size_and_time(p)) for p in paths]
        digest = hashlib.sha1(json.dumps(stamp).encode()).hexdigest()[:20]
        return cls(digest, tuple(str(p) for p in paths))


def _size_and_time(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def row(shard: str, kind: str, url: str = "", payload: bytes = b"", note: str = "",
        count: int = 0, vector: bytes = b"") -> dict[str, Any]:
    return {"shard": shard, "kind": kind, "url": url, "payload": payload, "note": note,
            "count": count, "vector": vector}


def read_shard(shard_id: str, paths: list[str] | tuple[str, ...], max_bytes: int
               ) -> Iterator[dict[str, Any]]:
    """Rows of every item of the shard's files, then its `end` row."""
    from ..sources.files import Failure, Ignored, Note, iter_local

    count = 0
    for item in iter_local(list(paths), max_bytes=max_bytes):
        count += 1
        if isinstance(item, Page):
            meta = {
                "final_url": item.final_url,
                "content_type": item.content_type,
                "fetched": item.fetched.isoformat() if item.fetched else None,
                "source": item.source,
            }
            yield row(shard_id, "page", item.url, item.content, json.dumps(meta))
        elif isinstance(item, Article):
            yield row(shard_id, "article", item.url, article_json(item))
        elif isinstance(item, Failure):
            yield row(shard_id, "failed", item.item, note=item.reason)
        elif isinstance(item, Note):  # the record was read; something in it was dropped
            yield row(shard_id, "note", item.item, note=item.reason)
        elif isinstance(item, Ignored):  # passed over on purpose (a WARC revisit …)
            yield row(shard_id, "ignored", item.item, note=item.kind)
        else:  # pragma: no cover - a reader's new kind of item must be handled here
            raise TypeError(f"unexpected input item {item!r}")
    yield row(shard_id, "end", count=count)


def read_shards(tasks: dict[str, Any], max_bytes: int, rows_per_batch: int = 64
                ) -> Iterator[dict[str, list]]:
    """Ray `map_batches` form of read_shard: a batch of tasks {shard, paths} → batches of
    their rows, yielded as they are read (a WARC file of a gigabyte is never one block)."""
    for task in rows_of(tasks):
        buffer: list[dict[str, Any]] = []
        for r in read_shard(task["shard"], list(task["paths"]), max_bytes):
            buffer.append(r)
            if len(buffer) >= rows_per_batch:
                yield columns_of(buffer)
                buffer = []
        if buffer:
            yield columns_of(buffer)


def extract_rows(batch: dict[str, Any], max_bytes: int) -> dict[str, list]:
    """Pages become articles (or skipped/failed rows with the reason); JSONL articles are
    checked the same way the ingest pipeline checks them."""
    from ..pipeline import NotAnArticle, Unreadable, to_article

    out = []
    for r in rows_of(batch):
        if r["kind"] in ("page", "article"):
            try:
                item = _page(r) if r["kind"] == "page" else article_from_json(r["payload"])
                article = to_article(item, max_bytes)
            except NotAnArticle as exc:
                r = row(r["shard"], "skipped", r["url"], note=str(exc))
            except Unreadable as exc:
                r = row(r["shard"], "failed", r["url"], note=str(exc))
            except Exception as exc:  # one bad page must not end a million-page job
                r = row(r["shard"], "failed", r["url"], note=f"extraction error: {exc!r}")
            else:
                r = row(r["shard"], "article", r["url"], article_json(article))
        out.append(r)
    return columns_of(out)


class EmbedStage:
    """The embedding step: a callable class, so Ray runs it as an actor pool that loads the
    model once per actor. `values` are Settings values (Settings itself is not pickled)."""

    def __init__(self, values: dict[str, Any] | None = None, embedder=None):
        if embedder is None:
            from ..embed import embedder_from_settings
            from ..settings import Settings

            embedder = embedder_from_settings(Settings(values or {}))
        self.embedder = embedder

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from ..pipeline import embed_text

        rows = rows_of(batch)
        todo = [r for r in rows if r["kind"] == "article"]
        if todo:
            texts = [embed_text(article_from_json(r["payload"])) for r in todo]
            vectors = self.embedder.embed_documents(texts).astype(np.float32)
            for r, vector in zip(todo, vectors, strict=True):
                r["vector"] = vector.tobytes()
                r["note"] = self.embedder.model_id
        return columns_of(rows)


def _page(r: dict[str, Any]) -> Page:
    meta = json.loads(r["note"] or "{}")
    fetched = meta.get("fetched")
    return Page(
        url=r["url"],
        content=bytes(r["payload"]),
        final_url=meta.get("final_url"),
        content_type=meta.get("content_type"),
        fetched=datetime.fromisoformat(fetched) if fetched else None,
        source=meta.get("source"),
    )


def article_json(article: Article) -> bytes:
    return json.dumps(article.to_dict(), ensure_ascii=False).encode()


def article_from_json(payload: bytes | str) -> Article:
    data = json.loads(payload)
    for key in _DATES:
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    return Article(**data)


def rows_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """A batch as a dict of columns (lists or numpy arrays, as Ray hands them) → rows."""
    keys = list(batch)
    columns = [list(batch[k]) for k in keys]
    out = []
    for values in zip(*columns, strict=True):
        r = dict(zip(keys, values, strict=True))
        for key in ("payload", "vector"):
            if key in r and r[key] is not None and not isinstance(r[key], bytes):
                r[key] = bytes(r[key])
        if "count" in r:
            r["count"] = int(r["count"] or 0)
        out.append(r)
    return out


def columns_of(rows: list[dict[str, Any]]) -> dict[str, list]:
    return {key: [r.get(key, b"" if key in ("payload", "vector") else "") for r in rows]
            for key in COLUMNS}


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)
