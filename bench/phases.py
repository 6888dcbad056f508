"""Where a search or a related list spends its time, on an archive made by bench/bulk.py:
each store and index call of 200 hybrid searches (query embedding by the real model) and
200 related lists is timed on its own, and a few terms' document counts are taken the way
keyword search takes them and in full (FTS5's vocabulary table).

Usage: python bench/phases.py DATA_DIR [--seed 7] [--terms the,said,from] [--postgres URL]

--postgres times the same calls on a PostgreSQL copy of the archive (`tidings db copy`);
the term counts are then left out (they read the SQLite file's vocabulary table).

A fresh --seed draws other articles (and their headlines as queries): their pages are not
in the page cache yet, as on a server's first requests for them.
"""

from __future__ import annotations

import argparse
import collections
import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--terms", default="the,said,from,which")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help="time a PostgreSQL copy of the archive instead")
    args = parser.parse_args()

    from scale import QueryModelEmbedder, percentile, sample_originals, timed
    from synth import SyntheticEmbedder

    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder
    from tidings.engine import Engine
    from tidings.settings import Settings

    data = args.data_dir
    bulk = json.loads((data / "bulk.json").read_text())
    db = data / "tidings.db"
    out: dict = {"size": bulk["size"], "seed": args.seed}
    if args.postgres is None:
        out["term_documents_ms"] = _term_counts(db, args.terms.split(","))
    else:
        out["postgres"] = args.postgres

    sample = sample_originals(db, args.queries, np.random.default_rng(args.seed))
    engine = Engine(
        Settings.load(env={}, data_dir=str(data), index_dtype=bulk["index_dtype"],
                      database_url=args.postgres),
        embedder=QueryModelEmbedder(SyntheticEmbedder(seed=bulk["seed"]),
                                    SentenceTransformerEmbedder()),
    )
    engine.search("warm up the model", mode="semantic")
    parts: dict[str, list[float]] = collections.defaultdict(list)
    for obj, name in [(engine.store, "keyword_search"), (engine.store, "articles"),
                      (engine.store, "copies"), (engine.store, "sources_of"),
                      (engine.store, "embeddings"), (engine.vectors, "search"),
                      (engine.vectors, "vectors"), (engine.searcher, "query_vector")]:
        _time_calls(obj, name, parts)

    def summary(values: list[float]) -> dict:
        return {"n": len(values), "p50": round(percentile(values, 0.5), 2),
                "p99": round(percentile(values, 0.99), 2), "total": round(sum(values))}

    queries = [" ".join(t.split()[:3]) for _, t in sample]
    out["hybrid_ms"] = summary(timed(lambda q: engine.search(q, mode="hybrid", limit=10),
                                     queries))
    out["hybrid_parts_ms"] = {k: summary(v) for k, v in parts.items()}
    parts.clear()
    out["related_ms"] = summary(timed(lambda i: engine.related(i, limit=10),
                                      [i for i, _ in sample]))
    out["related_parts_ms"] = {k: summary(v) for k, v in parts.items()}
    engine.close()
    print(json.dumps(out, indent=1))


def _time_calls(obj, name: str, parts: dict[str, list[float]]) -> None:
    """Time every call of obj.name into parts[name] (an instance attribute shadows the
    method for this benchmark's engine only)."""
    call = getattr(obj, name)

    def timed_call(*a, **k):
        started = time.perf_counter()
        try:
            return call(*a, **k)
        finally:
            parts[name].append(1000 * (time.perf_counter() - started))

    setattr(obj, name, timed_call)


def _term_counts(db: Path, terms: list[str]) -> dict:
    """Per term: documents counted up to 40,001 (as keyword search counts them), then in
    full from the fts5vocab table (as it counted them before), in ms, in that order."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {}
    for term in terms:
        started = time.perf_counter()
        conn.execute("SELECT count(*) FROM (SELECT rowid FROM articles_fts "
                     "WHERE articles_fts MATCH ? LIMIT 40001)", (f'"{term}"',)).fetchone()
        capped = time.perf_counter()
        conn.execute("SELECT doc FROM articles_fts_terms WHERE term = ?", (term,)).fetchone()
        done = time.perf_counter()
        out[term] = {"capped": round(1000 * (capped - started), 1),
                     "vocabulary": round(1000 * (done - capped), 1)}
    conn.close()
    return out


if __name__ == "__main__":
    main()
