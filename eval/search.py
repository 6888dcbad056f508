"""Search quality: P@10 and MRR of keyword, semantic and hybrid search, with each headline of
a labelled set as a query and the other articles of its story as the relevant ones.

Datasets (ingested through the real path, like eval/stories.py):
  news-aggregator  ../shared/data/news-aggregator-dev (3,318 headlines, 44 stories)
  demo             the bundled demo news web (full pages through their feeds, 14 events)

The query article itself is left out of its results; copies are folded by dedupe, so only
originals are ranked and judged. P@10 counts relevant results in the first ten (out of ten,
or of the relevant ones when a story has fewer); MRR is the mean of 1 / rank of the first
relevant result (0 past the depth searched).

Usage: python eval/search.py [--dataset news-aggregator|demo] [--queries N] [--seed S]
                             [--keep DIR] [--postgres URL]

--postgres runs the same on a PostgreSQL server (pgvector installed): the set is ingested into
a fresh schema of that database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "eval"))

MODES = ("keyword", "semantic", "hybrid")
DEPTH = 10


def corpus(engine, dataset: str, work: Path) -> list[tuple[int, str, object]]:
    """Ingest the set; returns (article id, headline, story label) for each original."""
    import stories as story_eval

    if dataset == "news-aggregator":
        story_eval.run_news_aggregator(engine, work, by_day=1)
        source = story_eval.data_root() / "news-aggregator-dev" / "articles.jsonl"
        import json

        label = {}
        for line in source.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                label[row["url"]] = row["story"]
    else:
        label = demo_labels(engine, work)
    return [
        (row["id"], row["title"], label[row["url"]])
        for row in engine.export()
        if row["duplicate_of"] is None and row["url"] in label
    ]


def headline_slice(engine, work: Path, stories: int, per_story: int) -> list[tuple]:
    """A pinned slice for the test gate: the first `per_story` headlines (by id) of the first
    `stories` stories (by label), ingested as JSONL by day like the full set."""
    import json

    import stories as story_eval

    source = story_eval.data_root() / "news-aggregator-dev" / "articles.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    labels = sorted({r["story"] for r in rows})[:stories]
    picked = []
    for label in labels:
        picked += sorted((r for r in rows if r["story"] == label), key=lambda r: r["id"])[
            :per_story
        ]
    for row in picked:
        row["timestamp_ms"] -= row["timestamp_ms"] % story_eval.DAY_MS
    picked.sort(key=lambda r: (r["timestamp_ms"], r["id"]))
    items = work / "slice.jsonl"
    items.write_text("\n".join(json.dumps(r) for r in picked) + "\n")
    engine.ingest([str(items)])
    label = {r["url"]: r["story"] for r in picked}
    return [
        (row["id"], row["title"], label[row["url"]])
        for row in engine.export()
        if row["duplicate_of"] is None and row["url"] in label
    ]


def demo_labels(engine, work: Path) -> dict[str, str]:
    import json

    sys.path.insert(0, str(REPO / "demo"))
    from build_site import build_site
    from run_demo import serve_site

    site = work / "site"
    site.mkdir()
    server = serve_site(site)
    build_site(REPO / "demo" / "corpus", site, server.base_url)
    manifest = json.loads((site / "_manifest.json").read_text())
    engine.ingest([feed["url"] for feed in manifest["feeds"]])
    server.close()
    return {p["url"]: p["event"] for p in manifest["pages"]}


def evaluate(engine, docs, queries: int | None = None, seed: int = 1, modes=MODES) -> dict:
    """P@10 and MRR per mode over the (sampled) headlines of `docs`."""
    story_of = {doc_id: story for doc_id, _, story in docs}
    size = {}
    for story in story_of.values():
        size[story] = size.get(story, 0) + 1
    picked = [d for d in docs if size[d[2]] > 1]
    if queries and queries < len(picked):
        picked = random.Random(seed).sample(picked, queries)
    out = {}
    for mode in modes:
        precision = reciprocal = 0.0
        for doc_id, title, story in picked:
            ranked = [h.article.id for h in engine.search(title, mode=mode, limit=DEPTH + 1)]
            ranked = [i for i in ranked if i != doc_id][:DEPTH]
            relevant = [story_of.get(i) == story for i in ranked]
            precision += sum(relevant) / min(DEPTH, size[story] - 1)
            first = next((k for k, hit in enumerate(relevant, start=1) if hit), None)
            reciprocal += 1 / first if first else 0.0
        out[mode] = (precision / len(picked), reciprocal / len(picked))
    out["queries"] = len(picked)
    return out


@contextlib.contextmanager
def scratch_schema(server: str):
    """The URL of a fresh schema of the PostgreSQL database `server` names; dropped after."""
    import os

    import psycopg

    schema = f"tidings_eval_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in server else "?"
        yield f"{server}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def run(dataset: str, queries: int | None = None, seed: int = 1, embedder=None,
        keep: Path | None = None, postgres: str | None = None) -> dict:
    """`keep`: a directory the database is built in once and reused by later runs (for
    comparing rankings without ingesting again); `postgres`: a PostgreSQL database whose
    fresh schema holds the set instead of an SQLite file (not with `keep`)."""
    import json

    from tidings.engine import Engine
    from tidings.settings import Settings

    if keep is not None and postgres is not None:
        raise ValueError("--keep reuses an SQLite database; not with --postgres")
    with tempfile.TemporaryDirectory() as tmp, (
        scratch_schema(postgres) if postgres else contextlib.nullcontext()
    ) as database_url:
        work = Path(tmp)
        db = (keep or work) / "db"
        settings = Settings.load(
            env={}, data_dir=str(db), fetch_allow_private=True, fetch_per_host_interval=0.0,
            database_url=database_url,
        )
        saved = (keep or work) / "docs.json"
        with Engine(settings, embedder=embedder) as engine:
            if keep is not None and saved.exists():
                docs = [tuple(d) for d in json.loads(saved.read_text())]
            else:
                docs = corpus(engine, dataset, work)
                saved.write_text(json.dumps(docs))
            return evaluate(engine, docs, queries, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["news-aggregator", "demo"], default="news-aggregator")
    parser.add_argument("--queries", type=int, default=None, help="a seeded sample of N queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="build/reuse the database here")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help="ingest into a fresh schema of this PostgreSQL database instead")
    args = parser.parse_args()
    if args.keep and args.postgres:
        parser.error("--keep reuses an SQLite database; not with --postgres")
    started = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    result = run(args.dataset, args.queries, args.seed, keep=args.keep, postgres=args.postgres)
    print(f"{args.dataset}{' on PostgreSQL' if args.postgres else ''}: {result['queries']} "
          f"queries; {time.perf_counter() - started:.0f} s")
    for mode in MODES:
        p10, mrr = result[mode]
        print(f"  {mode:<9} P@10 {p10:.3f}  MRR {mrr:.3f}")


if __name__ == "__main__":
    main()
