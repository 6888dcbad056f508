"""Extraction quality harness: plain trafilatura vs Tidings on AEB and WCXB dev articles.

    .venv/bin/python eval/extraction.py [--aeb] [--wcxb] [--limit N] [--only tidings]

AEB (Zyte article-extraction-benchmark) is scored like its evaluate.py: `\\w+` tokens,
4-gram shingles, per-page normalised tp/fp/fn, precision and recall averaged over pages,
F1 of the averages. WCXB is scored per page with word-level (bag of lower-cased words)
F1, averaged, plus the share of `with` snippets found and `without` snippets absent, and
title / author / publish-date accuracy. Data: $TIDINGS_EVAL_DATA, else ../shared/data next
to the repo, else /work/shared/data. The data is never copied into the repo.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


# -- data ------------------------------------------------------------------------------------


def data_dir() -> Path:
    """Where the evaluation data lives (env, then ../shared/data, then /work/shared/data)."""
    env = os.environ.get("TIDINGS_EVAL_DATA")
    if env:
        return Path(env)
    sibling = REPO.parent / "shared" / "data"
    if sibling.exists():
        return sibling
    return Path("/work/shared/data")


@dataclass
class Page:
    id: str
    html: bytes
    url: str | None
    truth: dict[str, Any]


def load_aeb(root: Path, ids: Iterable[str] | None = None, limit: int | None = None) -> list[Page]:
    base = root / "aeb"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    keys = list(ids) if ids is not None else sorted(truth)
    if limit:
        keys = keys[:limit]
    pages = []
    for key in keys:
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, html, truth[key].get("url"), truth[key]))
    return pages


def load_wcxb(root: Path, ids: Iterable[str] | None = None, limit: int | None = None) -> list[Page]:
    base = root / "wcxb-dev-articles"
    if ids is None:
        keys = sorted(p.name.split(".")[0] for p in (base / "ground-truth").glob("*.json"))
    else:
        keys = list(ids)
    if limit:
        keys = keys[:limit]
    pages = []
    for key in keys:
        record = json.loads((base / "ground-truth" / f"{key}.json").read_text(encoding="utf-8"))
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, html, record.get("url"), record["ground_truth"]))
    return pages


# -- AEB scoring (as the benchmark's evaluate.py) --------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def _shingles(text: str, n: int = 4) -> Counter[str]:
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + n]) for i in range(0, max(1, len(tokens) - n + 1)))


def shingle_tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) of 4-gram shingles for one page."""
    t, p = _shingles(true), _shingles(pred)
    t.pop("", None)
    p.pop("", None)
    tp = fp = fn = 0
    for key in set(t) | set(p):
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    total = tp + fp + fn
    if total:
        return tp / total, fp / total, fn / total
    return 0.0, 0.0, 0.0


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fp) if tp else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fn) if tp else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


# -- WCXB scoring ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[–—‐‑]", "-", text)
    return " ".join(text.casefold().split())


def word_prf(true: str, pred: str) -> tuple[float, float, float]:
    t = Counter(_WORD.findall(_norm(true)))
    p = Counter(_WORD.findall(_norm(pred)))
    if not t and not p:
        return 1.0, 1.0, 1.0
    common = sum((t & p).values())
    prec = common / sum(p.values()) if p else 0.0
    rec = common / sum(t.values()) if t else 0.0
    return prec, rec, _f1(prec, rec)


def _loose(text: str) -> str:
    return " ".join(_WORD.findall(_norm(text)))


def title_ok(true: str | None, pred: str | None) -> bool:
    return _loose(true or "") == _loose(pred or "")


def author_ok(true: str | None, pred: str | None) -> bool:
    a, b = _loose(true or ""), _loose(pred or "")
    if a == b:
        return True
    # same people in another order or joined differently ("A and B" vs "A, B")
    strip = {"and", "by"}
    return bool(a) and set(a.split()) - strip == set(b.split()) - strip


def date_ok(true: str | None, pred: Any) -> bool:
    if not true:
        return pred is None
    if pred is None:
        return False
    return str(pred)[:10] == str(true)[:10]


# -- extractors ------------------------------------------------------------------------------


@dataclass
class Result:
    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    kind: str = "article"


def trafilatura_extractor() -> Callable[[bytes, str | None], Result]:
    import trafilatura

    def run(html: bytes, url: str | None) -> Result:
        doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
        if doc is None:
            return Result("")
        return Result(doc.text or "", doc.title, doc.author, doc.date)

    return run


def tidings_extractor(thorough: bool = False) -> Callable[[bytes, str | None], Result]:
    from tidings.extract import extract

    def run(html: bytes, url: str | None) -> Result:
        art = extract(html, url, thorough=thorough)
        date = art.published.date().isoformat() if art.published else None
        return Result(art.text, art.title, art.author, date, art.kind)

    return run


EXTRACTORS = {
    "trafilatura": trafilatura_extractor,
    "tidings": tidings_extractor,
    "tidings-thorough": lambda: tidings_extractor(thorough=True),
}


# -- runs ------------------------------------------------------------------------------------


@dataclass
class Scores:
    metrics: dict[str, float] = field(default_factory=dict)
    per_page: dict[str, dict[str, Any]] = field(default_factory=dict)


def _timed(
    run: Callable[[bytes, str | None], Result], pages: list[Page]
) -> tuple[list[Result], float]:
    results = []
    start = time.perf_counter()
    for page in pages:
        results.append(run(page.html, page.url))
    elapsed = time.perf_counter() - start
    return results, len(pages) / elapsed if elapsed else 0.0


def score_aeb(pages: list[Page], results: list[Result]) -> Scores:
    scores = Scores()
    ps, rs = [], []
    for page, res in zip(pages, results, strict=True):
        tp, fp, fn = shingle_tp_fp_fn(page.truth.get("articleBody", ""), res.text)
        p, r = _precision(tp, fp, fn), _recall(tp, fp, fn)
        ps.append(p)
        rs.append(r)
        scores.per_page[page.id] = {"p": p, "r": r, "f1": _f1(p, r), "kind": res.kind}
    prec = sum(ps) / len(ps) if ps else 0.0
    rec = sum(rs) / len(rs) if rs else 0.0
    scores.metrics = {"precision": prec, "recall": rec, "f1": _f1(prec, rec)}
    return scores


def score_wcxb(pages: list[Page], results: list[Result]) -> Scores:
    scores = Scores()
    sums: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for page, res in zip(pages, results, strict=True):
        gt = page.truth
        p, r, f = word_prf(gt.get("main_content", ""), res.text)
        sums.update({"precision": p, "recall": r, "f1": f})
        counts.update({"precision": 1, "recall": 1, "f1": 1})
        text = _loose(res.text)
        with_hits = [bool(_loose(s)) and _loose(s) in text for s in gt.get("with") or []]
        without_hits = [not (_loose(s) and _loose(s) in text) for s in gt.get("without") or []]
        sums["with_present"] += sum(with_hits)
        counts["with_present"] += len(with_hits)
        sums["without_absent"] += sum(without_hits)
        counts["without_absent"] += len(without_hits)
        row = {"p": p, "r": r, "f1": f, "kind": res.kind}
        sums["title"] += (ok := title_ok(gt.get("title"), res.title))
        counts["title"] += 1
        row["title"] = ok
        if gt.get("author"):
            sums["author"] += (ok := author_ok(gt.get("author"), res.author))
            counts["author"] += 1
            row["author"] = ok
        if gt.get("publish_date"):
            sums["date"] += (ok := date_ok(gt.get("publish_date"), res.date))
            counts["date"] += 1
            row["date"] = ok
        scores.per_page[page.id] = row
    scores.metrics = {k: sums[k] / counts[k] for k in counts if counts[k]}
    return scores


def not_articles(result: dict[str, Any]) -> dict[str, list[str]]:
    """Pages of a run that were classified as something other than an article, by dataset.

    Every page of both datasets is a real article, so each entry here is a false alarm.
    """
    out = {}
    for dataset in ("aeb", "wcxb"):
        pages = result.get(f"{dataset}_pages") or {}
        flagged = [f"{key}:{row['kind']}" for key, row in pages.items() if row["kind"] != "article"]
        if pages:
            out[dataset] = flagged
    return out


def evaluate(extractor: str, aeb: list[Page] | None, wcxb: list[Page] | None) -> dict[str, Any]:
    run = EXTRACTORS[extractor]()
    out: dict[str, Any] = {}
    if aeb:
        results, speed = _timed(run, aeb)
        scores = score_aeb(aeb, results)
        out["aeb"] = {**scores.metrics, "pages_per_s": speed, "pages": len(aeb)}
        out["aeb_pages"] = scores.per_page
    if wcxb:
        results, speed = _timed(run, wcxb)
        scores = score_wcxb(wcxb, results)
        out["wcxb"] = {**scores.metrics, "pages_per_s": speed, "pages": len(wcxb)}
        out["wcxb_pages"] = scores.per_page
    return out


BASELINE = Path(__file__).with_name("baseline.json")


def gate_scores(root: Path, baseline: dict[str, Any]) -> dict[str, float]:
    """Tidings' scores on the pinned regression slice named in eval/baseline.json."""
    aeb = load_aeb(root, baseline["aeb_ids"])
    wcxb = load_wcxb(root, baseline["wcxb_ids"])
    result = evaluate("tidings", aeb, wcxb)
    return {
        "aeb_f1": result["aeb"]["f1"],
        "aeb_precision": result["aeb"]["precision"],
        "aeb_recall": result["aeb"]["recall"],
        "wcxb_f1": result["wcxb"]["f1"],
        "wcxb_without_absent": result["wcxb"]["without_absent"],
        "wcxb_with_present": result["wcxb"]["with_present"],
        "wcxb_title": result["wcxb"]["title"],
        "wcxb_author": result["wcxb"]["author"],
        "wcxb_date": result["wcxb"]["date"],
    }


def write_baseline(root: Path, margin: float = 0.01) -> dict[str, Any]:
    """Pin a fixed slice (every 4th AEB page, every 12th WCXB page) and floors below today's
    scores (never below the floors already pinned for the same slice); run by hand after an
    accepted quality change."""
    aeb_ids = sorted(json.loads((root / "aeb" / "ground-truth.json").read_text()))[::4][:40]
    wcxb_all = sorted(
        p.name.split(".")[0] for p in (root / "wcxb-dev-articles" / "ground-truth").glob("*.json")
    )
    wcxb_ids = wcxb_all[::12][:60]
    baseline: dict[str, Any] = {"aeb_ids": aeb_ids, "wcxb_ids": wcxb_ids}
    scores = gate_scores(root, baseline)
    baseline["measured"] = {k: round(v, 4) for k, v in scores.items()}
    floors = {k: round(v - margin, 4) for k, v in scores.items()}
    if BASELINE.exists():
        # floors only move up: a re-pin after a trade-off must not quietly lower one
        old = json.loads(BASELINE.read_text(encoding="utf-8"))
        if old.get("aeb_ids") == aeb_ids and old.get("wcxb_ids") == wcxb_ids:
            for key, floor in old.get("floors", {}).items():
                floors[key] = max(floors.get(key, floor), floor)
    baseline["floors"] = floors
    BASELINE.write_text(json.dumps(baseline, indent=1) + "\n", encoding="utf-8")
    return baseline


_ROWS = {
    "aeb": ["precision", "recall", "f1", "pages_per_s"],
    "wcxb": [
        "precision",
        "recall",
        "f1",
        "with_present",
        "without_absent",
        "title",
        "author",
        "date",
        "pages_per_s",
    ],
}
_LABELS = {
    "precision": "P",
    "recall": "R",
    "f1": "F1",
    "with_present": "with-snippets present",
    "without_absent": "without-snippets absent",
    "title": "title accuracy",
    "author": "author accuracy",
    "date": "date accuracy",
    "pages_per_s": "pages/s",
}


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    header = f"{'metric':<36}" + "".join(f"{n:>18}" for n in names)
    print(header)
    print("-" * len(header))
    for dataset, rows in _ROWS.items():
        if not any(dataset in results[n] for n in names):
            continue
        pages = next(results[n][dataset]["pages"] for n in names if dataset in results[n])
        for row in rows:
            label = f"{dataset.upper()} {_LABELS[row]}"
            if row == "f1":
                label += f" ({pages} pages)"
            cells = []
            for n in names:
                value = results[n].get(dataset, {}).get(row)
                if value is None:
                    cells.append(f"{'-':>18}")
                elif row == "pages_per_s":
                    cells.append(f"{value:>18.1f}")
                else:
                    cells.append(f"{value:>18.3f}")
            print(f"{label:<36}" + "".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--aeb", action="store_true", help="run the AEB benchmark")
    parser.add_argument("--wcxb", action="store_true", help="run the WCXB dev-article benchmark")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each dataset")
    parser.add_argument(
        "--only", choices=sorted(EXTRACTORS), action="append", help="run only these extractors"
    )
    parser.add_argument("--dump", type=Path, help="write per-page scores as JSON here")
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help="re-pin eval/baseline.json (regression-gate slice and floors) from current scores",
    )
    args = parser.parse_args(argv)
    if not args.aeb and not args.wcxb:
        args.aeb = args.wcxb = True
    root = data_dir()
    if not root.exists():
        print(f"evaluation data not found at {root}; set TIDINGS_EVAL_DATA", file=sys.stderr)
        return 2
    if args.write_baseline:
        pinned = write_baseline(root)
        print(json.dumps(pinned["measured"], indent=1))
        return 0
    aeb = load_aeb(root, limit=args.limit) if args.aeb else None
    wcxb = load_wcxb(root, limit=args.limit) if args.wcxb else None
    names = args.only or ["trafilatura", "tidings", "tidings-thorough"]
    results = {name: evaluate(name, aeb, wcxb) for name in names}
    print(f"data: {root}")
    print_table(results)
    for name in names:
        if name.startswith("tidings"):
            for dataset, flagged in not_articles(results[name]).items():
                listed = ", ".join(flagged) if flagged else "none"
                print(f"{name} {dataset.upper()} pages not classified as article: {listed}")
    if args.dump:
        args.dump.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
