"""halfvec or float32 for the pgvector HNSW index: recall@10 against exact cosine, index size
and build time of both, on a PostgreSQL archive (e.g. one `bench/backends.py` copied).

Usage: python bench/pg_halfvec.py URL [--queries 200] [--ef 40,100,256]

Builds a float32 HNSW index beside the store's halfvec one (same m and ef_construction),
queries both with the same stored vectors (the query itself excluded), then drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="40,100,256")
    args = parser.parse_args()

    import psycopg

    from tidings.store.postgres.articles import HNSW_EF_CONSTRUCTION, HNSW_M

    with psycopg.connect(args.url, autocommit=True) as conn:
        ids, vectors = [], []
        for article_id, text in conn.execute(
            "SELECT article_id, vector::text FROM embeddings ORDER BY article_id"
        ):
            ids.append(article_id)
            vectors.append(np.array(text.strip("[]").split(","), dtype=np.float32))
        ids = np.array(ids)
        matrix = np.vstack(vectors)
        dim = matrix.shape[1]
        rng = np.random.default_rng(7)
        picks = rng.choice(len(ids), size=min(args.queries, len(ids)), replace=False)
        exact = []
        for p in picks:
            scores = matrix @ matrix[p]
            scores[p] = -np.inf
            exact.append(set(ids[np.argpartition(-scores, 10)[:10]].tolist()))
        out: dict = {"vectors": len(ids), "dim": dim, "queries": len(picks),
                     "load_average_start": os.getloadavg()}
        conn.execute("SET maintenance_work_mem = '512MB'")
        started = time.perf_counter()
        conn.execute(
            f"CREATE INDEX bench_hnsw_f32 ON embeddings USING hnsw "
            f"((vector::vector({dim})) vector_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE vector_dims(vector) = {dim}"
        )
        out["f32_build_s"] = round(time.perf_counter() - started, 1)
        sizes = dict(conn.execute(
            "SELECT indexname, pg_relation_size(format('%I', indexname)::regclass) "
            "FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'embeddings' "
            "AND (indexname LIKE 'embeddings_hnsw_%' OR indexname = 'bench_hnsw_f32')"
        ).fetchall())
        out["index_mib"] = {k: round(v / 2**20, 1) for k, v in sizes.items()}
        try:
            for ef in [int(e) for e in args.ef.split(",")]:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                for kind in ("halfvec", "vector"):
                    found, took = [], []
                    for p in picks:
                        q = "[" + ",".join(map(str, matrix[p].tolist())) + "]"
                        started = time.perf_counter()
                        got = conn.execute(
                            f"SELECT article_id FROM embeddings WHERE vector_dims(vector) = {dim}"
                            f" ORDER BY vector::{kind}({dim}) <=> %s::{kind}({dim}) LIMIT 11",
                            (q,),
                        ).fetchall()
                        took.append((time.perf_counter() - started) * 1000)
                        mine = [g[0] for g in got if g[0] != ids[p]][:10]
                        found.append(len(exact[len(found)] & set(mine)) / 10)
                    out[f"ef{ef}_{kind}"] = {
                        "recall_at_10": round(float(np.mean(found)), 4),
                        "p50_ms": round(float(np.percentile(took, 50)), 2),
                    }
        finally:
            conn.execute("DROP INDEX bench_hnsw_f32")
        out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
