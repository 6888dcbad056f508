"""Similarity quality: Pearson and Spearman correlation between Tidings' article similarity
(what related articles are ranked by: the cosine of the two articles' embeddings, each of the
headline and the opening of the body as ingest embeds it) and the annotators' `overall`
score on ../shared/data/semeval2022-pairs-dev, per language pair.

SemEval 2022 task 8 scores pairs from 1 (very similar) to 4 (very dissimilar), so the
correlations are taken with −overall: higher is better for both.

Usage: python eval/similarity.py [--pairs en-en,de-de ...] [--min-pairs N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))


def data_root() -> Path:
    env = os.environ.get("TIDINGS_EVAL_DATA")
    if env:
        return Path(env)
    local = REPO.parent / "shared" / "data"
    return local if local.exists() else Path("/work/shared/data")


def load_pairs(root: Path, wanted: set[str] | None = None, limit: int | None = None) -> list:
    rows = []
    for line in (root / "semeval2022-pairs-dev" / "pairs.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        row["pair"] = f"{row['lang1']}-{row['lang2']}"
        if wanted is None or row["pair"] in wanted:
            rows.append(row)
    rows.sort(key=lambda r: r["pair_id"])
    return rows[:limit] if limit else rows


def as_article(text: str):
    """A pair text (headline, two spaces, body) as the Article ingest would store."""
    from tidings.models import Article

    title, _, body = text.partition("  ")
    if not body:
        title, body = "", text
    return Article(url="https://pairs.example/", title=title.strip(), text=body.strip())


def similarities(rows: list, embedder) -> np.ndarray:
    from tidings.pipeline.ingest import embed_text

    a = embedder.embed_documents([embed_text(as_article(r["text1"])) for r in rows])
    b = embedder.embed_documents([embed_text(as_article(r["text2"])) for r in rows])
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for value in np.unique(x):  # ties share their mean rank
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def correlations(sim: np.ndarray, overall: np.ndarray) -> tuple[float, float]:
    target = -overall
    pearson = float(np.corrcoef(sim, target)[0, 1])
    spearman = float(np.corrcoef(_ranks(sim), _ranks(target))[0, 1])
    return pearson, spearman


def run(wanted: set[str] | None = None, embedder=None, limit: int | None = None) -> dict:
    if embedder is None:
        from tidings.embed.sentence_transformers import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
    rows = load_pairs(data_root(), wanted, limit)
    sim = similarities(rows, embedder)
    groups = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row["pair"]].append(i)
    out = {}
    for pair, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        overall = np.array([rows[i]["overall"] for i in idx])
        out[pair] = (len(idx), *correlations(sim[idx], overall))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=None, help="comma-separated language pairs, e.g. en-en")
    parser.add_argument("--min-pairs", type=int, default=20, help="report pairs with this many")
    args = parser.parse_args()
    wanted = set(args.pairs.split(",")) if args.pairs else None
    result = run(wanted)
    print(f"{'pair':<7} {'n':>4}  Pearson  Spearman")
    for pair, (n, pearson, spearman) in result.items():
        if n >= args.min_pairs:
            print(f"{pair:<7} {n:>4}  {pearson:7.3f}  {spearman:8.3f}")


if __name__ == "__main__":
    main()
