"""Figures on a bulk-loaded synthetic archive (bench/bulk.py): open time, search and related
latency (query embedding included), ingest rate and story assignment through the real
pipeline, /api/articles latency, recall of the vector index, memory and file sizes.

Usage: python bench/at_scale.py DATA_DIR [--queries 200] [--extras 2000]
                                [--window-days 30] [--expansion 0] [--skip-recall]
                                [--with-model 0]

DATA_DIR holds an archive made by `python bench/bulk.py DATA_DIR --size N`. Each run ingests
--extras new articles that continue the archive's recent stories (another set each run), so
the archive grows by that much per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

OPEN_SNIPPET = """
import json, sys, time
started = time.perf_counter()
from synth import SyntheticEmbedder
from tidings.engine import Engine
from tidings.settings import Settings
imported = time.perf_counter()
engine = Engine(Settings.load(env={}, data_dir=sys.argv[1], index_dtype=sys.argv[2]),
                embedder=SyntheticEmbedder())
opened = time.perf_counter()
engine.related(int(sys.argv[3]), limit=10)
related = time.perf_counter()
engine.stories(limit=20)
engine.close()
print(json.dumps({"import_s": imported - started, "open_s": opened - imported,
                  "first_related_s": related - opened}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--extras", type=int, default=2000)
    parser.add_argument("--window-days", type=float, default=30.0)
    parser.add_argument("--expansion", type=int, default=0, help="usearch expansion_search")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument(
        "--with-model", type=int, default=0,
        help="then ingest this many more with the real model's time included",
    )
    args = parser.parse_args()

    from scale import (
        ModelCostEmbedder,
        QueryModelEmbedder,
        measure_recall,
        percentile,
        sample_originals,
        stories_in_window,
        time_api,
        timed,
    )
    from synth import Archive, SyntheticEmbedder

    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder
    from tidings.engine import Engine
    from tidings.settings import Settings

    data = args.data_dir
    bulk = json.loads((data / "bulk.json").read_text())
    db = data / "tidings.db"
    rng = np.random.default_rng(7)
    out: dict = {"size": bulk["size"], "index_dtype": bulk["index_dtype"]}

    sample = sample_originals(db, args.queries, rng)
    opens = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", OPEN_SNIPPET, str(data), bulk["index_dtype"],
             str(sample[0][0])],
            capture_output=True, text=True, check=True, cwd=Path(__file__).parent,
        )
        opens.append(json.loads(proc.stdout))
    out["open"] = opens

    settings = Settings.load(
        env={}, data_dir=str(data), index_dtype=bulk["index_dtype"],
        story_window_days=args.window_days,
    )
    documents = SyntheticEmbedder(seed=bulk["seed"])
    real_model = SentenceTransformerEmbedder()
    engine = Engine(settings, embedder=QueryModelEmbedder(documents, real_model))
    if args.expansion and engine.index is not None:
        engine.index._index.expansion_search = args.expansion
    engine.search("warm up the model", mode="semantic")
    ids = [i for i, _ in sample]
    out["related_ms"] = _summary(timed(lambda i: engine.related(i, limit=10), ids), percentile)
    titles = [t for _, t in sample]
    queries = [" ".join(t.split()[:3]) for t in titles]
    for mode in ("keyword", "semantic", "hybrid"):
        engine.searcher._query_vectors.clear()  # each mode asks the model for its queries
        out[f"{mode}_ms"] = _summary(
            timed(lambda q, m=mode: engine.search(q, mode=m, limit=10), queries), percentile
        )
    if not args.skip_recall:
        out["recall"] = measure_recall(engine, db, args.queries, rng)

    runs = data / "extras-runs"
    run = int(runs.read_text()) if runs.exists() else 0
    runs.write_text(str(run + 1))
    archive = Archive(bulk["size"], seed=bulk["seed"], per_day=bulk["per_day"])
    extras = [a for a, _ in archive.extras(args.extras + args.with_model, run=run)]
    out["stories_in_window"] = stories_in_window(db, args.window_days)[0]
    assign_s: list[float] = []
    assign = engine.clusterer.assign

    def timed_assign(*a, **k):
        started = time.perf_counter()
        try:
            return assign(*a, **k)
        finally:
            assign_s.append(time.perf_counter() - started)

    engine.clusterer.assign = timed_assign
    started = time.perf_counter()
    result = engine.ingest_items(extras[: args.extras], batch_size=32)
    elapsed = time.perf_counter() - started
    out["ingest"] = {
        "articles": args.extras, "new": result.new, "duplicate": result.duplicate,
        "rate_per_s": args.extras / elapsed, "embed_s": documents.seconds,
        "assign_ms": _summary([s * 1000 for s in assign_s], percentile),
    }
    if args.with_model:
        # the same pipeline, with the real model's time per batch included
        engine.model._embedder = ModelCostEmbedder(documents, real_model)
        started = time.perf_counter()
        result = engine.ingest_items(extras[args.extras :], batch_size=32)
        out["ingest_with_model"] = {
            "articles": args.with_model, "new": result.new,
            "rate_per_s": args.with_model / (time.perf_counter() - started),
        }
    out["api_articles_ms"] = {
        k: _summary(v, percentile) for k, v in time_api(engine, bulk["originals"], rng).items()
    }
    engine.close()
    import resource

    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["files_mib"] = {
        p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(data.iterdir()) if p.is_file()
    }
    print(json.dumps(out, indent=1))


def _summary(values: list[float], percentile) -> dict:
    return {"n": len(values), "p50": round(percentile(values, 0.5), 2),
            "p99": round(percentile(values, 0.99), 2)}


if __name__ == "__main__":
    main()
