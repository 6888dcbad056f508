"""What JIT compiling costs the PostgreSQL store's searches: the keyword and the hybrid
statement timed with JIT off (the store's setting), with the server's default thresholds
(what the store paid before it turned JIT off), and compiled every time.

Usage: python bench/pg_jit.py DATA_DIR URL [--queries 100] [--seed 11]

DATA_DIR is an archive made by bench/bulk.py (queries are made from its headlines, the
query vector is the article's stored one); URL its PostgreSQL copy (`tidings db copy`).
The planner asks for JIT once a statement's estimated cost passes `jit_above_cost`
(100,000 by default), and inlines and optimises past 500,000: a keyword statement's
estimate grows with the archive and with how common the query's words are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODES = {
    "off (the store's setting)": ["SET jit = off"],
    "server defaults": ["RESET jit", "RESET jit_above_cost", "RESET jit_inline_above_cost",
                        "RESET jit_optimize_above_cost"],
    "every statement compiled": ["SET jit = on", "SET jit_above_cost = 0",
                                 "SET jit_inline_above_cost = 0",
                                 "SET jit_optimize_above_cost = 0"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("url")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from scale import make_queries, percentile, sample_originals, timed

    from tidings.store.postgres import PostgresStore

    rng = np.random.default_rng(args.seed)
    picks = sample_originals(args.data_dir / "tidings.db", args.queries, rng)
    queries = make_queries([title for _, title in picks], rng)
    store = PostgresStore(args.url, vector_expansion=256, pool_size=1)  # one session
    try:
        vectors = store.embeddings([i for i, _ in picks])
        pairs = [(q, vectors[i]) for (i, _), q in zip(picks, queries, strict=True) if i in vectors]
        out = {"queries": len(pairs), "modes": {}}
        for query, vector in pairs:  # the pages the searches read, cached before any timing
            store.keyword_search(query, 10)
            store.hybrid_search(query, vector, 50, 10)
        for name, statements in MODES.items():
            with store._conn() as conn:  # the pool's only connection: the settings stay
                for statement in statements:
                    conn.execute(statement)
            keyword = timed(lambda p: store.keyword_search(p[0], 10), pairs)
            hybrid = timed(lambda p: store.hybrid_search(p[0], p[1], 50, 10), pairs)
            out["modes"][name] = {
                mode: {"p50_ms": round(percentile(t, 0.5), 1),
                       "p99_ms": round(percentile(t, 0.99), 1)}
                for mode, t in (("keyword", keyword), ("hybrid", hybrid))
            }
            print(name, json.dumps(out["modes"][name]), file=sys.stderr, flush=True)
    finally:
        store.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
