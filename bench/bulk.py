"""Bulk-load a synthetic archive (bench/synth.py) straight through the Store contract, for
building 100k–1M article databases in minutes instead of hours.

The base archive bypasses the ingest pipeline (and the model): articles, copies, vectors,
stories (the generator's own story assignment, with real centroid sums and name tallies),
MinHash bucket rows (pseudo-random per text, shared by copies, so the table has its real
size) and the keyword index are written by `Store.insert_article` / `save_story` in large
transactions; the vector index is built once at the end. What is *measured* on top of it
(ingest rate, story assignment, search) then runs through the real pipeline — see
bench/scale.py.

Usage: python bench/bulk.py DATA_DIR --size 1000000 [--index-dtype f16] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHUNK = 2000
EVICT_DAYS = 15  # generator stories span at most 10 days; older ones are finished


def _generate(job: tuple[int, int, int, float, int, int]):
    """Worker: articles start..stop with the vectors of the originals."""
    from synth import Archive, SyntheticEmbedder

    from tidings.dedupe import content_hash
    from tidings.pipeline import embed_text

    size, seed, _, per_day, start, stop = job
    archive = _archive(size, seed, per_day)
    embedder = _embedder(seed)
    articles = [archive.article(i) for i in range(start, stop)]
    for a in articles:
        a.content_hash = content_hash(a.title, a.text)
        a.excerpt = a.text[:300]
    keys = [(int(archive.story[i]), int(archive.k[i]), int(archive.copy[i]))
            for i in range(start, stop)]
    originals = [n for n, (_, _, j) in enumerate(keys) if j < 0]
    vectors = embedder.embed_documents([embed_text(articles[n]) for n in originals])
    del Archive, SyntheticEmbedder
    return start, articles, keys, dict(zip(originals, vectors, strict=True))


_ARCHIVE = None
_EMBEDDER = None


def _archive(size, seed, per_day):
    global _ARCHIVE
    if _ARCHIVE is None:
        from synth import Archive

        _ARCHIVE = Archive(size, seed=seed, per_day=per_day)
    return _ARCHIVE


def _embedder(seed):
    global _EMBEDDER
    if _EMBEDDER is None:
        from synth import SyntheticEmbedder

        _EMBEDDER = SyntheticEmbedder(seed=seed)
    return _EMBEDDER


def _buckets(s: int, k: int) -> list[int]:
    digest = b"".join(
        hashlib.blake2b(f"{s}:{k}:{part}".encode(), digest_size=64).digest() for part in range(4)
    )
    return np.frombuffer(digest, dtype=np.int64).tolist()


def bulk_load(data_dir: Path, size: int, seed: int = 1, per_day: float = 3000.0,
              index_dtype: str = "f16", workers: int = 2) -> dict:
    from synth import SyntheticEmbedder

    from tidings.dedupe import canonical_url
    from tidings.embed.binding import ModelBinding
    from tidings.index import UsearchIndex
    from tidings.settings import Settings
    from tidings.store import SQLiteStore, StoryState
    from tidings.stories import NAMES_KEPT, salient_names

    marker = data_dir / "bulk.json"
    if marker.exists():
        return json.loads(marker.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(data_dir / "tidings.db")
    embedder = SyntheticEmbedder(seed=seed)
    settings = Settings.load(env={}, data_dir=str(data_dir))
    with store.transaction() as tx:
        ModelBinding(store, settings, embedder).record(tx, embedder)
    started = time.perf_counter()
    ids: dict[tuple[int, int], int] = {}
    stories: dict[int, dict] = {}
    jobs = [(size, seed, 0, per_day, a, min(a + CHUNK, size)) for a in range(0, size, CHUNK)]
    done = 0
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _start, articles, keys, vectors in pool.imap(_generate, jobs):
            touched = set()
            with store.transaction() as tx:
                for n, (article, (s, k, j)) in enumerate(zip(articles, keys, strict=True)):
                    vector = vectors.get(n)
                    if j >= 0:
                        if (s, k) not in ids:  # its original fell outside the archive
                            continue
                        article.duplicate_of = ids[(s, k)]
                        article.story_id = stories[s]["id"] if s in stories else None
                    else:
                        st = stories.get(s)
                        if st is None:
                            st = stories[s] = {
                                "id": store.create_story(tx, article.title, article.published),
                                "label": article.title, "first": article.published,
                                "last": article.published, "size": 0,
                                "sum": np.zeros(len(vector), np.float32), "names": Counter(),
                            }
                        st["size"] += 1
                        st["sum"] += vector
                        st["last"] = max(st["last"], article.published)
                        st["names"].update(salient_names(article.title, article.text))
                        st["names"] = Counter(dict(st["names"].most_common(NAMES_KEPT)))
                        article.story_id = st["id"]
                        touched.add(s)
                    article_id = store.insert_article(
                        tx, article, canonical_url(article.url), _buckets(s, k), vector
                    )
                    if j < 0:
                        ids[(s, k)] = article_id
                for s in touched:
                    st = stories[s]
                    store.save_story(tx, StoryState(
                        st["id"], st["label"], st["first"], st["last"], st["size"], st["sum"],
                        dict(st["names"]), st["first"],
                    ))
            done += len(articles)
            newest = articles[-1].published
            for s in [s for s, st in stories.items()
                      if (newest - st["last"]).days > EVICT_DAYS]:
                del stories[s]
            elapsed = time.perf_counter() - started
            print(f"\r{done:>9,} articles  {done / elapsed:7.0f}/s", end="", file=sys.stderr)
    print(file=sys.stderr)
    load_s = time.perf_counter() - started
    t = time.perf_counter()
    index = UsearchIndex(data_dir / "vectors.usearch", embedder.dim, index_dtype)
    vectors_indexed = index.rebuild(store)
    index_s = time.perf_counter() - t
    counts = store.counts()
    store.close()
    summary = {"size": size, "seed": seed, "per_day": per_day, "index_dtype": index_dtype,
               "load_s": round(load_s, 1), "index_s": round(index_s, 1),
               "vectors": vectors_indexed, **counts}
    marker.write_text(json.dumps(summary, indent=1))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-day", type=float, default=3000.0)
    parser.add_argument("--index-dtype", default="f16", choices=["f32", "f16", "i8"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    summary = bulk_load(args.data_dir, args.size, args.seed, args.per_day, args.index_dtype,
                        args.workers)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
