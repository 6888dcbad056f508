"""Dedupe quality: pairwise precision and recall of copy folding on the syndication set
(eval/syndication.py), through the real pipeline: every page is ingested by the Engine
(extraction, dedupe, embedding, stories) into a fresh SQLite database, originals first,
then the copies and hard negatives shuffled together; the export says which article each
page was folded into.

A pair of pages is predicted "one article" when they end up with the same original (root);
it is truly one when both belong to one family (an original and its copies). Precision is
over predicted pairs, recall over true pairs; per copy kind, the share of copies folded into
their original; per negative kind, the pages folded into something they are not.

Usage: python eval/dedupe.py [--limit N] [--copies K] [--seed S] [--show]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from math import comb
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "eval"))

import syndication  # noqa: E402


def data_root() -> Path:
    env = os.environ.get("TIDINGS_EVAL_DATA")
    if env:
        return Path(env)
    local = REPO.parent / "shared" / "data"
    return local if local.exists() else Path("/work/shared/data")


def build_and_ingest(engine, root: Path, *, limit=None, ids=None, copies_each=3, seed=1,
                     same_site=150, same_event=None, live=30):
    """Ingest the set into `engine`; returns (items, roots by URL, titles by URL)."""
    from tidings.models import Page

    rng = random.Random(seed)
    originals = syndication.load_originals(root, limit=limit, ids=ids)
    engine.ingest_items(
        [Page(o.url, o.html, content_type="text/html") for o in originals], batch_size=16
    )
    stored = {row["url"]: row for row in engine.export()}
    texts, pairs = syndication.load_news_texts(root)
    items: list[syndication.Item] = []
    kinds = list(syndication.COPY_KINDS)
    for n, original in enumerate(originals):
        row = stored.get(original.url)
        if row is None:
            continue  # not stored as an article: nothing to copy
        items.append(syndication.Item(original.url, original.html, "text/html", original.key,
                                      "original"))
        chosen = tuple(kinds[(n * copies_each + k) % len(kinds)] for k in range(copies_each))
        items.extend(syndication.copies(original, row["title"], rng, texts, chosen))
    # every negative page is a text of its own: the pools do not share texts
    in_pairs = {t for pair in pairs for t in pair}
    rest = [t for t in texts if t not in in_pairs]
    site_pool, live_pool = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    negatives = (
        syndication.same_site(site_pool, rng, same_site)
        + syndication.same_event(pairs, rng, len(pairs) if same_event is None else same_event)
        + syndication.live_pages(live_pool, rng, live)
    )
    later = [i for i in items if i.kind != "original"] + negatives
    rng.shuffle(later)
    engine.ingest_items(
        [Page(i.url, i.content, content_type=i.content_type) for i in later], batch_size=16
    )
    rows = {row["url"]: row for row in engine.export()}
    roots = {url: row["duplicate_of"] or row["id"] for url, row in rows.items()}
    titles = {url: row["title"] for url, row in rows.items()}
    return [i for i in items if i.kind == "original"] + later, roots, titles


def score(items, roots) -> dict:
    """Pairwise precision/recall over stored pages; per-kind recall and false merges."""
    stored = [i for i in items if i.url in roots]
    by_root: dict[int, list] = defaultdict(list)
    for item in stored:
        by_root[roots[item.url]].append(item)
    predicted = sum(comb(len(group), 2) for group in by_root.values())
    true_pos = sum(
        comb(n, 2)
        for group in by_root.values()
        for n in Counter(i.family for i in group).values()
    )
    families = Counter(i.family for i in items)  # a copy that was not stored is a miss
    gold = sum(comb(n, 2) for n in families.values())
    original_root = {i.family: roots.get(i.url) for i in items if i.kind == "original"}
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        if item.kind in syndication.COPY_KINDS:
            kinds[item.kind][1] += 1
            if roots.get(item.url) is not None and roots[item.url] == original_root[item.family]:
                kinds[item.kind][0] += 1
    wrong: dict[str, int] = Counter()
    bad_groups = []
    for group in by_root.values():
        if len({i.family for i in group}) > 1:
            bad_groups.append(group)
            for item in group:
                wrong[item.kind] += 1
    return {
        "pages": len(items),
        "stored": len(stored),
        "precision": true_pos / predicted if predicted else 1.0,
        "recall": true_pos / gold if gold else 1.0,
        "kinds": dict(kinds),
        "wrong": dict(wrong),
        "bad_groups": bad_groups,
        "missing": [i for i in items if i.url not in roots],
        "negatives": Counter(i.kind for i in items if i.kind in syndication.NEGATIVE_KINDS),
    }


def run(limit=None, ids=None, copies_each=3, seed=1, embedder=None, **sizes) -> dict:
    from tidings.engine import Engine
    from tidings.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(env={}, data_dir=str(Path(tmp) / "db"))
        with Engine(settings, embedder=embedder) as engine:
            items, roots, titles = build_and_ingest(
                engine, data_root(), limit=limit, ids=ids, copies_each=copies_each, seed=seed,
                **sizes,
            )
    result = score(items, roots)
    result["titles"] = titles
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N originals only")
    parser.add_argument("--copies", type=int, default=3, help="copies per original")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="list misses and false merges")
    args = parser.parse_args()
    started = time.perf_counter()
    r = run(limit=args.limit, copies_each=args.copies, seed=args.seed)
    print(
        f"syndication set (seed {args.seed}): {r['pages']} pages, {r['stored']} stored; "
        f"negatives {dict(r['negatives'])}; {time.perf_counter() - started:.0f} s"
    )
    print(f"pairwise precision {r['precision']:.4f}  recall {r['recall']:.4f}")
    for kind in syndication.COPY_KINDS:
        if kind in r["kinds"]:
            hit, total = r["kinds"][kind]
            print(f"  {kind:<11} {hit}/{total} folded into their original ({hit / total:.3f})")
    print(f"  pages in a false merge, by kind: {r['wrong'] or 'none'}")
    if args.show:
        for group in r["bad_groups"]:
            print("FALSE MERGE:", [(i.kind, i.family, i.url) for i in group])
        for item in r["missing"]:
            print("NOT STORED:", item.kind, item.family, item.url)


if __name__ == "__main__":
    main()
