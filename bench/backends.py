"""SQLite and PostgreSQL side by side on one synthetic archive (bench/bulk.py), in one run:
the archive is copied into PostgreSQL with `db copy` (timed), then both engines answer the
same queries in turn (hybrid, keyword and semantic search and related, query embedding by
the real model included), the vector indexes' recall@10 is measured against exact cosine,
open times, ingest through the real pipeline with one and two writer processes, and disk.

Usage: python bench/backends.py DATA_DIR --postgres URL [--queries 200] [--extras 1000]

DATA_DIR holds an archive made by `python bench/bulk.py DATA_DIR --size N`; URL names an
empty PostgreSQL database (or schema, via options=-csearch_path=…) that receives the copy,
or one holding a finished copy of it (then the copy is not redone).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

OPEN_SNIPPET = """
import json, resource, sys, time
started = time.perf_counter()
from synth import SyntheticEmbedder
from tidings.engine import Engine
from tidings.settings import Settings
engine = Engine(Settings.load(env={}, data_dir=sys.argv[1], database_url=sys.argv[2]),
                embedder=SyntheticEmbedder())
opened = time.perf_counter()
engine.related(int(sys.argv[3]), limit=10)
related = time.perf_counter()
engine.close()
print(json.dumps({"open_s": opened - started, "first_related_s": related - opened,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WRITER_SNIPPET = """
import json, sys, time
from synth import Archive, SyntheticEmbedder
from tidings.engine import Engine
from tidings.settings import Settings
data, url, size, seed, per_day, run, part, parts, n = sys.argv[1:10]
archive = Archive(int(size), seed=int(seed), per_day=float(per_day))
extras = [a for a, _ in archive.extras(int(n), run=int(run))][int(part)::int(parts)]
engine = Engine(Settings.load(env={}, data_dir=data, database_url=url),
                embedder=SyntheticEmbedder(seed=int(seed)))
engine.search("open the index first", mode="semantic")
started = time.perf_counter()
result = engine.ingest_items(extras, batch_size=32)
elapsed = time.perf_counter() - started
engine.close()
print(json.dumps({"articles": len(extras), "new": result.new, "seconds": elapsed}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--postgres", required=True, help="postgresql://… (empty database)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--extras", type=int, default=1000)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--pg-expansion", type=int, default=None, metavar="EF",
                        help="PostgreSQL's ef_search (default: the same expansion as usearch's): "
                             "latency at an equal recall@10, as ANN benchmarks compare")
    parser.add_argument("--skip-searches", action="store_true",
                        help="only the copy, open times, ingest and disk")
    args = parser.parse_args()

    from scale import sample_originals

    from tidings.store import SQLiteStore
    from tidings.store.copy import copy_database
    from tidings.store.postgres import PostgresStore

    data = args.data_dir
    bulk = json.loads((data / "bulk.json").read_text())
    db = data / "tidings.db"
    pg_data = data / "pg-engine"
    out: dict = {"size": bulk["size"], "load_average_start": os.getloadavg()}

    # -- the copy ------------------------------------------------------------------------
    target = PostgresStore(args.postgres)
    if target.get_meta("dim") is None or target.get_meta("copy_in_progress"):
        source = SQLiteStore(db)
        started = time.perf_counter()
        report = copy_database(source, target, batch=5000)
        seconds = time.perf_counter() - started
        rows = sum(r["source"][0] for r in report.values())
        out["copy"] = {"seconds": round(seconds, 1), "rows": rows,
                       "rows_per_s": round(rows / seconds), "verified": True}
        source.close()
    target.close()

    # -- searches, interleaved -------------------------------------------------------------
    rng = np.random.default_rng(7)
    sample = sample_originals(db, args.queries, rng)
    for name in ("sqlite", "postgres"):
        out[name] = {}
    if not args.skip_searches:
        _searches(args, out, data, pg_data, db, bulk, sample)

    # -- open time -------------------------------------------------------------------------
    for name, (where, url) in {"sqlite": (data, ""), "postgres": (pg_data, args.postgres)}.items():
        proc = subprocess.run(
            [sys.executable, "-c", OPEN_SNIPPET, str(where), url, str(sample[1][0])],
            capture_output=True, text=True, check=True, cwd=Path(__file__).parent,
        )
        out[name]["open"] = json.loads(proc.stdout)

    # -- ingest with 1 and 2 writer processes ----------------------------------------------
    if not args.skip_ingest:
        runs = data / "extras-runs"  # shared with at_scale.py: every run new articles
        run = int(runs.read_text()) if runs.exists() else 0
        for writers in (1, 2):
            runs.write_text(str(run + 1))  # both backends get the same new articles
            for name, (where, url) in {"sqlite": (data, ""),
                                       "postgres": (pg_data, args.postgres)}.items():
                started = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [sys.executable, "-c", WRITER_SNIPPET, str(where), url,
                         str(bulk["size"]), str(bulk["seed"]), str(bulk["per_day"]), str(run),
                         str(part), str(writers), str(args.extras)],
                        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent,
                    )
                    for part in range(writers)
                ]
                results = [json.loads(p.communicate()[0]) for p in procs]
                wall = time.perf_counter() - started
                total = sum(r["articles"] for r in results)
                if sum(r["new"] for r in results) < total:
                    print(f"warning: {name}: some of run {run}'s articles were stored before; "
                          "its rate is not an ingest rate", file=sys.stderr)
                out[name][f"ingest_{writers}_writers"] = {
                    "articles": total, "new": sum(r["new"] for r in results),
                    "wall_s": round(wall, 1),
                    "rate_per_s": round(total / max(r["seconds"] for r in results), 1),
                    "load_average": os.getloadavg(),
                }
            run += 1

    # -- disk ------------------------------------------------------------------------------
    out["sqlite"]["disk_mib"] = {
        p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(data.iterdir())
        if p.is_file() and p.name.startswith(("tidings.db", "vectors.usearch"))
    }
    import psycopg

    with psycopg.connect(args.postgres) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 2 DESC"
        ).fetchall()
        hnsw = conn.execute(
            "SELECT indexname, pg_relation_size(format('%I', indexname)::regclass) "
            "FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'embeddings_hnsw_%'"
        ).fetchall()
    out["postgres"]["disk_mib"] = {name: round(size / 2**20, 1) for name, size in rows[:6]}
    out["postgres"]["disk_mib"]["total"] = round(sum(s for _, s in rows) / 2**20, 1)
    out["postgres"]["hnsw_index_mib"] = {n: round(s / 2**20, 1) for n, s in hnsw}
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


def _searches(args, out, data, pg_data, db, bulk, sample) -> None:
    """Both engines answer the same queries in turn; then recall and stats."""
    from scale import QueryModelEmbedder, measure_recall, percentile
    from synth import SyntheticEmbedder

    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder
    from tidings.engine import Engine
    from tidings.settings import Settings

    documents = SyntheticEmbedder(seed=bulk["seed"])
    pg_settings = {} if args.pg_expansion is None else {"index_expansion": args.pg_expansion}
    model = SentenceTransformerEmbedder()
    engines = {
        "sqlite": Engine(Settings.load(env={}, data_dir=str(data)),
                         embedder=QueryModelEmbedder(documents, model)),
        "postgres": Engine(Settings.load(env={}, data_dir=str(pg_data),
                                         database_url=args.postgres, **pg_settings),
                           embedder=QueryModelEmbedder(documents, model)),
    }
    for engine in engines.values():
        engine.warm()  # as `tidings serve` does before it answers
        engine.search("warm up the model", mode="semantic")
        engine.related(sample[0][0], limit=10)
    queries = [" ".join(t.split()[:3]) for _, t in sample]
    calls = {
        "hybrid": lambda e, n: e.search(queries[n], mode="hybrid", limit=10),
        "keyword": lambda e, n: e.search(queries[n], mode="keyword", limit=10),
        "semantic": lambda e, n: e.search(queries[n], mode="semantic", limit=10),
        "related": lambda e, n: e.related(sample[n][0], limit=10),
    }
    times: dict[str, dict[str, list[float]]] = {k: {c: [] for c in calls} for k in engines}
    names = list(engines)
    for n in range(len(sample)):
        for call, run in calls.items():
            for name in names if n % 2 else names[::-1]:  # alternate who goes first
                engines[name].searcher._query_vectors.clear()  # the model's time included
                started = time.perf_counter()
                run(engines[name], n)
                times[name][call].append((time.perf_counter() - started) * 1000)
    for name in engines:
        out[name] |= {
            f"{call}_ms": {"n": len(v), "p50": round(percentile(v, 0.5), 2),
                           "p99": round(percentile(v, 0.99), 2)}
            for call, v in times[name].items()
        }
    out["search_ratio_pg_over_sqlite_p50"] = {
        call: round(out["postgres"][f"{call}_ms"]["p50"] / out["sqlite"][f"{call}_ms"]["p50"], 2)
        for call in calls
    }
    for name, engine in engines.items():
        # the same stored vectors as queries for both indexes
        out[name]["recall"] = measure_recall(
            engine, db, min(args.queries, 200), np.random.default_rng(11)
        )
        out[name]["stats"] = engine.stats()
        out[name]["expansion"] = engine.settings.index_expansion
        engine.close()
    out["load_average_searches"] = os.getloadavg()


if __name__ == "__main__":
    main()
