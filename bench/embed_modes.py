"""Embedding modes side by side (torch fp32, ONNX fp32, ONNX int8, …): articles/s, query
latency, cosine to torch fp32 on real news pages, and the downstream effect — story B³ on
the dev headlines by day, SemEval-2022 dev Pearson, search top-10 overlap.

Modes are measured interleaved in one process (the order rotates every round) and quoted as
ratios to torch fp32 from the same round: on a shared 2-core machine absolute rates drift
with the load, ratios much less. CPU seconds per article (process time) are printed next to
wall-clock rates; the load average is printed at the start and the end.

Data (read in place, never copied): ../shared/data/aeb and wcxb-dev-articles (news pages,
extracted by our pipeline), semeval2022-pairs-dev, news-aggregator-dev.

Usage: python bench/embed_modes.py [--modes torch,onnx,onnx-int8] [--articles 300]
                                   [--rounds 3] [--semeval-langs en] [--skip-stories]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "eval"))
MODES = ("torch", "torch-bf16", "onnx", "onnx-int8")


def load(mode: str, cache: str, threads: int):
    from tidings.embed import create_embedder

    if mode in ("torch", "torch-bf16"):
        embedder = create_embedder("sentence-transformers")
        if mode == "torch-bf16":
            import torch

            embedder.model.to(torch.bfloat16)
            embedder.model_id += "+bf16"
        return embedder
    quantize = "int8" if mode == "onnx-int8" else "none"
    return create_embedder("onnx", cache_dir=cache, quantize=quantize, threads=threads)


def news_texts(limit: int) -> tuple[list[str], list[str]]:
    """(what the model reads, headline) of real news pages through our extractor."""
    from stories import data_root

    from tidings.pipeline import NotAnArticle, Unreadable, embed_text, to_article
    from tidings.sources.files import iter_local

    root = data_root()
    texts, titles = [], []
    for item in iter_local([root / "aeb" / "html", root / "wcxb-dev-articles" / "html"]):
        if len(texts) >= limit:
            break
        try:
            article = to_article(item, 10 * 2**20)
        except (NotAnArticle, Unreadable, AttributeError, TypeError):
            continue
        if article.title and len(article.text) > 400:
            texts.append(embed_text(article))
            titles.append(article.title)
    return texts, titles


def semeval_pairs(langs: set[str]) -> tuple[list[str], list[str], np.ndarray]:
    import json

    from stories import data_root

    rows = [
        json.loads(line)
        for line in (data_root() / "semeval2022-pairs-dev" / "pairs.jsonl").open()
        if line.strip()
    ]
    rows = [r for r in rows if not langs or {r["lang1"], r["lang2"]} <= langs]
    # 1 = very similar … 4 = very dissimilar: correlate the cosine with minus the score
    return ([r["text1"][:2000] for r in rows], [r["text2"][:2000] for r in rows],
            -np.asarray([r["overall"] for r in rows], dtype=float))


def story_f1(embedder, seed: int) -> tuple[float, int]:
    from stories import bcubed, run_news_aggregator

    from tidings.engine import Engine
    from tidings.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(env={}, data_dir=str(Path(tmp) / "db"))
        with Engine(settings, embedder=embedder) as engine:
            pred, gold = run_news_aggregator(engine, Path(tmp), by_day=seed)
    return bcubed(pred, gold)[2], len(set(pred))


def top10(docs: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = queries @ docs.T
    return [set(np.argsort(-row)[:10].tolist()) for row in scores]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="torch,onnx,onnx-int8")
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0,
                        help="threads of torch and ONNX Runtime (0: their defaults); 1 compares "
                        "the modes' CPU cost best on a machine other jobs share")
    parser.add_argument("--semeval-langs", default="en", help="comma list; empty = all pairs")
    parser.add_argument("--story-seed", type=int, default=1)
    parser.add_argument("--skip-stories", action="store_true")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "tidings-onnx"))
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown or modes[0] != "torch":
        parser.error(f"modes from {MODES}, torch first (the reference); not {sorted(unknown)}")

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"threads: {args.threads or 'default'}")
    print(f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load average at start: {load_average()}")
    texts, titles = news_texts(args.articles)
    queries = titles[: args.queries]
    print(f"news sample: {len(texts)} extracted pages (aeb + wcxb-dev), "
          f"{len(queries)} headline queries")
    embedders = {m: load(m, args.cache, args.threads) for m in modes}
    for e in embedders.values():  # warm-up: first-call allocations are not the mode's cost
        e.embed_documents(texts[:8])
        e.embed_query("warm up")

    rates: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    latency: dict[str, list[float]] = {m: [] for m in modes}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        order = modes[r % len(modes):] + modes[: r % len(modes)]
        for mode in order:
            e = embedders[mode]
            c0, t0 = time.process_time(), time.perf_counter()
            vectors[mode] = e.embed_documents(texts)
            wall, used = time.perf_counter() - t0, time.process_time() - c0
            rates[mode].append(len(texts) / wall)
            cpu[mode].append(1000 * used / len(texts))
            for q in queries:
                t0 = time.perf_counter()
                e.embed_query(q)
                latency[mode].append(1000 * (time.perf_counter() - t0))
        print(f"round {r + 1}: " + ", ".join(
            f"{m} {rates[m][-1]:.1f}/s" for m in modes) + f"; load {load_average()}")

    ref = vectors["torch"]
    ref_q = embedders["torch"].embed_queries(queries)
    ref_top = top10(ref, ref_q)
    semeval_langs = {x for x in args.semeval_langs.split(",") if x}
    left, right, gold = semeval_pairs(semeval_langs)
    rows = []
    for mode in modes:
        e = embedders[mode]
        cos = (vectors[mode] * ref).sum(axis=1)
        overlap = np.mean([len(a & b) / 10 for a, b in
                           zip(top10(vectors[mode], e.embed_queries(queries)), ref_top,
                               strict=True)])
        a, b = e.embed_documents(left), e.embed_documents(right)
        pearson = float(np.corrcoef((a * b).sum(axis=1), gold)[0, 1])
        f1, found = (float("nan"), 0) if args.skip_stories else story_f1(e, args.story_seed)
        ratio = statistics.median(
            x / y for x, y in zip(rates[mode], rates["torch"], strict=True)
        )
        rows.append((mode, e.model_id, statistics.median(rates[mode]), ratio,
                     statistics.median(cpu[mode]), statistics.median(latency[mode]),
                     float(cos.mean()), float(cos.min()), overlap, pearson, f1, found))
        print(f"measured {mode}; load {load_average()}", flush=True)

    base = rows[0]
    print()
    print(f"{len(texts)} news pages, {args.rounds} interleaved rounds; SemEval-2022 dev "
          f"pairs: {len(gold)} ({args.semeval_langs or 'all'}); stories: news-aggregator-dev "
          f"by day, seed {args.story_seed}")
    print("| mode | recorded model id | articles/s | × torch | CPU ms/article | query ms "
          "| cosine to fp32 mean / min | top-10 overlap | SemEval r (Δ) | story B³ F1 (Δ) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (mode, mid, rate, ratio, cpu_ms, q_ms, cmean, cmin, ov, r_, f1, _found) in rows:
        print(f"| {mode} | `{mid}` | {rate:.1f} | {ratio:.2f} | {cpu_ms:.0f} | {q_ms:.1f} "
              f"| {cmean:.4f} / {cmin:.4f} | {ov:.3f} | {r_:.3f} ({r_ - base[9]:+.3f}) "
              f"| {f1:.3f} ({f1 - base[10]:+.3f}) |")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
