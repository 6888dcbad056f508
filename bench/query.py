"""Search and related-articles latency (p50/p99) on a database built by bench/ingest.py or
`make demo`.

Usage: python bench/query.py --data-dir DIR [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

QUERIES = [
    "bridge collapse rescue divers",
    "dockworkers strike automation",
    "battery fires recall",
    "river flood evacuation",
    "central bank interest rates",
    "mayoral election recount",
    "health insurer data breach ransomware",
    "telescope first images",
    "grocery merger",
    "wildfire evacuations smoke",
    "metro line opening delays",
    "miners trapped rescue",
    "RSV vaccine trial results",
    "ferry ran aground passengers",
    "insurance claims",
    "who pays for the damage",
    "union vote on the deal",
    "how safe is the new line",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from tidings.engine import Engine
    from tidings.settings import Settings

    engine = Engine(Settings.load(data_dir=args.data_dir))
    engine.search("warm up the model", mode="hybrid")
    ids = [r["id"] for r in engine.export() if r["duplicate_of"] is None]
    print(
        f"database: {engine.stats()['originals']} articles; "
        f"{args.rounds} rounds of {len(QUERIES)} queries; related for {len(ids)} articles"
    )
    for mode in ("keyword", "semantic", "hybrid"):
        times = []
        for _ in range(args.rounds):
            for query in QUERIES:
                started = time.perf_counter()
                engine.search(query, mode=mode, limit=10)
                times.append((time.perf_counter() - started) * 1000)
        print(
            f"search {mode:<8} p50 {statistics.median(times):6.2f} ms   "
            f"p99 {percentile(times, 0.99):6.2f} ms   (n={len(times)})"
        )
    times = []
    for _ in range(args.rounds):
        for article_id in ids:
            started = time.perf_counter()
            engine.related(article_id, limit=10)
            times.append((time.perf_counter() - started) * 1000)
    print(
        f"related         p50 {statistics.median(times):6.2f} ms   "
        f"p99 {percentile(times, 0.99):6.2f} ms   (n={len(times)})"
    )
    engine.close()


if __name__ == "__main__":
    main()
