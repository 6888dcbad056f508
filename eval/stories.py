"""Story clustering quality: B-cubed precision/recall/F1 of the engine's online clustering
against labelled story clusters.

Datasets:
  news-aggregator  ../shared/data/news-aggregator-dev/articles.jsonl (3,318 headlines in 44
                   Google News stories; titles only), ingested as JSONL in time order
  demo             the bundled demo news web (140 articles in 14 events), ingested through
                   its feeds like `make demo`

Usage: python eval/stories.py [--dataset news-aggregator|demo] [--by-day SEED]
                              [--order feeds|time|shuffle:SEED]
                              [--set story_threshold=0.45 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    env = os.environ.get("TIDINGS_EVAL_DATA")
    if env:
        return Path(env)
    local = REPO.parent / "shared" / "data"
    return local if local.exists() else Path("/work/shared/data")


def bcubed(pred: list, gold: list) -> tuple[float, float, float]:
    pc, gc, pg = Counter(pred), Counter(gold), Counter(zip(pred, gold, strict=True))
    precision = sum(pg[(p, g)] / pc[p] for p, g in zip(pred, gold, strict=True)) / len(pred)
    recall = sum(pg[(p, g)] / gc[g] for p, g in zip(pred, gold, strict=True)) / len(pred)
    return precision, recall, 2 * precision * recall / (precision + recall)


DAY_MS = 86_400_000


def run_news_aggregator(engine, work: Path, by_day: int | None = None) -> tuple[list, list]:
    """`by_day`: a seed. The file's timestamps put each story in a burst seconds long, which
    no real stream does; coarsened to the day (and shuffled within a day by the seed), the
    stream tells clustering only what a real one would."""
    source = data_root() / "news-aggregator-dev" / "articles.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    if by_day is None:
        rows.sort(key=lambda r: (r["timestamp_ms"], r["id"]))
    else:
        import random

        random.Random(by_day).shuffle(rows)
        for row in rows:
            row["timestamp_ms"] -= row["timestamp_ms"] % DAY_MS
        rows.sort(key=lambda r: r["timestamp_ms"])  # stable: shuffled within each day
    items = work / "articles.jsonl"
    items.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    engine.ingest([str(items)])
    gold_by_url = {r["url"]: r["story"] for r in rows}
    pred, gold = [], []
    for row in engine.export():
        original = row["duplicate_of"] or row["id"]
        pred.append(engine.store.article(original).story_id)
        gold.append(gold_by_url[row["url"]])
    return pred, gold


def run_demo(engine, work: Path, order: str = "feeds") -> tuple[list, list]:
    """`order`: "feeds" ingests the outlets' feeds one after another (as `make demo` does);
    "time" ingests every page in publication order and "shuffle:SEED" in a seeded random
    order (a poller's first cycle over many feeds interleaves them like that)."""
    sys.path.insert(0, str(REPO / "demo"))
    from build_site import build_site
    from run_demo import serve_site

    site = work / "site"
    site.mkdir()
    server = serve_site(site)
    base_url = server.base_url
    build_site(REPO / "demo" / "corpus", site, base_url)
    manifest = json.loads((site / "_manifest.json").read_text())
    pages = manifest["pages"]
    if order == "feeds":
        engine.ingest([feed["url"] for feed in manifest["feeds"]])
    elif order == "time":
        engine.ingest([p["url"] for p in sorted(pages, key=lambda p: (p["published"], p["id"]))])
    elif order.startswith("shuffle:"):
        shuffled = list(pages)
        random.Random(int(order.split(":", 1)[1])).shuffle(shuffled)
        engine.ingest([p["url"] for p in shuffled])
    else:
        raise SystemExit(f"unknown --order {order!r}: feeds, time or shuffle:SEED")
    server.close()
    event_of = {p["url"]: p["event"] for p in manifest["pages"]}
    pred, gold = [], []
    for row in engine.export():
        if row["duplicate_of"] is None:
            pred.append(row["story_id"])
            gold.append(event_of[row["url"]])
    return pred, gold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["news-aggregator", "demo"], default="news-aggregator")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a setting, e.g. story_threshold=0.5",
    )
    parser.add_argument(
        "--by-day", type=int, default=None, metavar="SEED",
        help="news-aggregator: dates coarsened to the day, shuffled within a day by SEED",
    )
    parser.add_argument(
        "--order", default="feeds", metavar="ORDER",
        help="demo: feeds (one outlet after another), time, or shuffle:SEED",
    )
    args = parser.parse_args()

    from tidings.engine import Engine
    from tidings.settings import Settings

    overrides = dict(item.split("=", 1) for item in args.set)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = Settings.load(
            data_dir=str(work / "db"),
            fetch_allow_private=True,
            fetch_per_host_interval=0.0,
            **overrides,
        )
        with Engine(settings) as engine:
            if args.dataset == "news-aggregator":
                pred, gold = run_news_aggregator(engine, work, args.by_day)
            else:
                pred, gold = run_demo(engine, work, args.order)
    precision, recall, f1 = bcubed(pred, gold)
    print(
        f"{args.dataset}: {len(gold)} articles, {len(set(gold))} true stories, "
        f"{len(set(pred))} found; threshold {settings.story_threshold} "
        f"({settings.story_short_text_margin} lower for a headline alone), "
        f"name weight {settings.story_name_weight}, window {settings.story_window_days} days, "
        f"merge {settings.story_merge_threshold}"
        + ("" if args.by_day is None else f"; by day, seed {args.by_day}")
        + ("" if args.dataset != "demo" else f"; order {args.order}")
    )
    print(f"B-cubed precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")


if __name__ == "__main__":
    main()
