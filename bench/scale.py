"""The core at scale: ingest rate, open time, story assignment, search, related and API
latency, memory and file sizes on synthetic archives of 10k-1M articles (bench/synth.py).

Each archive is built once per (size, seed, articles a day, index dtype) under --work-dir and
reused afterwards (a build.json marker says it is complete). Documents are embedded by
SyntheticEmbedder, so the figures are the pipeline's own cost; queries are embedded by the
real bundled model, so search latency includes the query embedding. Every measurement runs
in a fresh subprocess: the open time is a first open in a new process (the OS page cache is
warm; dropping it needs root), and peak RSS is per step. The story-assignment step adds
--assign new articles to the archive on every run (another set each time), so a reused
archive grows by that much per run.

The machine should be otherwise idle: each step reports the share of the cores other
processes used while it ran: on a busy 2-core machine the thread pools of numpy's BLAS (story
assignment) and torch (query embedding) make small operations many times slower; compare
with --blas-threads 1.

Usage: python bench/scale.py [--sizes 10000,100000,1000000] [--work-dir /tmp/tidings-scale]
                             [--index-dtype f32|f16|i8] [--recall] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tidings.embed import Embedder

TAIL = 2000  # the ingest rate is measured over the last TAIL articles of a build
CHUNK = 2000  # articles generated (untimed) then ingested (timed) at a time
TARGETS = {
    "open": "≤ 1 s at 1M",
    "assign": "≤ 5 ms at 100k stories in window",
    "hybrid": "p99 ≤ 50 ms at 1M",
    "related": "p99 ≤ 20 ms at 1M",
    "rate": "1M within 10% of 10k",
    "index": "≤ 1 GB at 1M",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated; 10k, 1M work")
    parser.add_argument("--work-dir", default="/tmp/tidings-scale")
    parser.add_argument("--index-dtype", default="f32", choices=["f32", "f16", "i8"])
    parser.add_argument("--recall", action="store_true", help="recall@10 against brute force")
    parser.add_argument("--rebuild", action="store_true", help="build even if an archive exists")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-day", type=float, default=3000.0, help="articles per day")
    parser.add_argument("--batch-size", type=int, default=32, help="ingest_items batch size")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency figure")
    parser.add_argument("--assign", type=int, default=500, help="articles joining stories")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=0,
        help="OMP/OPENBLAS/MKL_NUM_THREADS (numpy BLAS, torch) for the workers; 0: as set",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        config = json.loads(args.config)
        before = cpu_counters()
        result = WORKERS[args.worker](config)
        result["peak_rss_mib"] = peak_rss_mib()
        result["others_cpu"] = others_cpu_share(before, cpu_counters())
        result["blas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "default")
        Path(config["out"]).write_text(json.dumps(result))
        return

    if args.blas_threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(args.work_dir)
    results = {}
    for size in sizes:
        base = {
            "size": size,
            "seed": args.seed,
            "per_day": args.per_day,
            "index_dtype": args.index_dtype,
            "batch_size": args.batch_size,
        }
        home = work / f"n{size}-{args.index_dtype}-s{args.seed}-d{args.per_day:g}"
        build = ensure_built(home, base, args.rebuild)
        say(f"[{size:,}] probing (open, search, related, API{', recall' if args.recall else ''})")
        probe = run_worker("probe", home, {**base, "queries": args.queries, "recall": args.recall})
        say(f"[{size:,}] story assignment of {args.assign} articles")
        build["assign_runs"] = build.get("assign_runs", 0) + 1
        assign = run_worker(
            "assign", home, {**base, "count": args.assign, "run": build["assign_runs"]}
        )
        (home / "build.json").write_text(json.dumps(build, indent=1))
        files = {p.name: p.stat().st_size for p in sorted((home / "data").iterdir())}
        results[size] = {"build": build, "probe": probe, "assign": assign, "files": files}
        (home / "results.json").write_text(json.dumps(results[size], indent=1))
    report(results, args)


# -- orchestration -----------------------------------------------------------------------


def ensure_built(home: Path, base: dict, rebuild: bool) -> dict:
    from synth import SYNTH_VERSION

    marker = home / "build.json"
    if marker.exists() and not rebuild:
        build = json.loads(marker.read_text())
        if build.get("synth_version") == SYNTH_VERSION and all(
            build.get(k) == v for k, v in base.items() if k != "batch_size"
        ):
            say(f"[{base['size']:,}] reusing the archive in {home} (built {build['built_at']})")
            if (build.get("others_cpu") or 0) > 0.1:
                say(
                    f"  note: other processes used {100 * build['others_cpu']:.0f}% of the cores "
                    "during that build; its ingest figures are pessimistic (--rebuild)"
                )
            return build
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    say(f"[{base['size']:,}] building in {home}")
    build = run_worker("build", home, base)
    build.update(base, synth_version=SYNTH_VERSION, built_at=time.strftime("%Y-%m-%d %H:%M"))
    marker.write_text(json.dumps(build, indent=1))
    return build


def run_worker(kind: str, home: Path, config: dict) -> dict:
    out = home / f"{kind}.out.json"
    out.unlink(missing_ok=True)
    config = {**config, "data_dir": str(home / "data"), "out": str(out)}
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, __file__, "--worker", kind, "--config", json.dumps(config)]
    subprocess.run(command, check=True, env=env)
    return json.loads(out.read_text())


# -- workers (each runs in its own process) ------------------------------------------------


def work_build(config: dict) -> dict:
    """Ingest the archive in publication order; time the ingest, not the generation."""
    from synth import Archive, SyntheticEmbedder

    from tidings.engine import Engine

    started = time.perf_counter()
    size = config["size"]
    archive = Archive(size, config["seed"], config["per_day"])
    embedder = SyntheticEmbedder(config["seed"])
    embedder.embed_documents(["warm up"])  # word vectors are model loading, not ingest
    embedder.seconds = 0.0
    engine = Engine(make_settings(config), embedder=embedder)
    stops = list(range(size, 0, -CHUNK))[::-1]
    generate_s = ingest_s = 0.0
    curve = []
    totals = {"new": 0, "duplicate": 0, "unchanged": 0, "failed": 0}
    last_said = 0.0
    for start, stop in zip([0, *stops[:-1]], stops, strict=True):
        t = time.perf_counter()
        batch = list(archive.articles(start, stop))
        generate_s += time.perf_counter() - t
        t = time.perf_counter()
        result = engine.ingest_items(batch, batch_size=config["batch_size"])
        took = time.perf_counter() - t
        ingest_s += took
        curve.append([stop, len(batch) / took])
        for key in ("new", "duplicate", "unchanged"):
            totals[key] += getattr(result, key)
        totals["failed"] += len(result.failed)
        if time.perf_counter() - last_said > 30 or stop == size:
            last_said = time.perf_counter()
            say(
                f"  {stop:,}/{size:,}  {len(batch) / took:,.0f} articles/s now, "
                f"{time.perf_counter() - started:,.0f} s so far"
            )
    stats = engine.stats()
    t = time.perf_counter()
    engine.close()
    close_s = time.perf_counter() - t
    return {
        "build_s": time.perf_counter() - started,
        "generate_s": generate_s,
        "ingest_s": ingest_s,
        "embed_s": embedder.seconds,
        "close_s": close_s,
        "rate_tail": curve[-1][1],
        "tail": size - stops[-2] if len(stops) > 1 else size,
        "curve": curve,
        "totals": totals,
        "stats": stats,
        "synthetic": {
            "stories": int(len(np.unique(archive.story))),
            "copies": archive.copies,
            "end": archive.end.isoformat(),
        },
        "tidings": tidings_origin(),
    }


def work_probe(config: dict) -> dict:
    """Open cold and warm, then time search, related and the articles API."""
    t = time.perf_counter()
    from synth import SyntheticEmbedder

    from tidings.engine import Engine

    import_s = time.perf_counter() - t
    settings = make_settings(config)
    rng = np.random.default_rng([config["seed"], 30])
    db = settings.data_path / "tidings.db"
    sample = sample_originals(db, config["queries"], rng)
    queries = make_queries([title for _, title in sample], rng)
    ids = [i for i, _ in sample]
    # an engine may open lazily, so "open" is the constructor plus a first answer that needs
    # the database and the vector index
    t = time.perf_counter()
    engine = Engine(settings, embedder=SyntheticEmbedder(config["seed"]))
    constructed = time.perf_counter() - t
    engine.related(ids[0], limit=10)
    open_first = time.perf_counter() - t
    engine.close()

    t = time.perf_counter()
    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder

    embedder = QueryModelEmbedder(SyntheticEmbedder(config["seed"]), SentenceTransformerEmbedder())
    model_s = time.perf_counter() - t
    t = time.perf_counter()
    engine = Engine(settings, embedder=embedder)
    engine.related(ids[1 % len(ids)], limit=10)
    open_second = time.perf_counter() - t

    for q in queries[:5]:
        engine.search(q, mode="hybrid", limit=10)
        engine.related(ids[0], limit=10)
    out: dict = {"import_s": import_s, "open_first_s": open_first, "open_second_s": open_second}
    out["constructor_first_s"], out["model_load_s"] = constructed, model_s
    out["embed_query_ms"] = timed(lambda q: embedder.embed_query(q), queries)
    for mode in ("keyword", "semantic", "hybrid"):
        out[f"{mode}_ms"] = timed(lambda q, m=mode: engine.search(q, mode=m, limit=10), queries)
    out["related_ms"] = timed(lambda i: engine.related(i, limit=10), ids)
    index = getattr(engine, "index", None)
    if index is not None and hasattr(index, "search"):
        vectors = stored_vectors(db, ids)
        out["index_search_ms"] = timed(lambda v: index.search(v, 11), list(vectors.values()))
    out["api"] = time_api(engine, engine.stats()["originals"], rng)
    out["peak_rss_before_recall_mib"] = peak_rss_mib()
    if config["recall"]:
        out["recall"] = measure_recall(engine, db, config["queries"], rng)
    engine.close()
    return out


def work_assign(config: dict) -> dict:
    """Ingest new articles that continue recent stories, in a freshly opened engine."""
    from synth import Archive, SyntheticEmbedder

    from tidings.engine import Engine

    archive = Archive(config["size"], config["seed"], config["per_day"])
    extras = archive.extras(config["count"], config["run"])
    embedder = SyntheticEmbedder(config["seed"])
    embedder.embed_documents(["warm up"])
    embedder.seconds = 0.0
    settings = make_settings(config)
    db = settings.data_path / "tidings.db"
    window, last_story = stories_in_window(db, settings.story_window_days)
    engine = Engine(settings, embedder=embedder)
    batch_size = config["batch_size"]
    batches = []
    new = duplicate = 0
    for start in range(0, len(extras), batch_size):
        chunk = [article for article, _ in extras[start : start + batch_size]]
        t = time.perf_counter()
        result = engine.ingest_items(chunk, batch_size=batch_size)
        batches.append([len(chunk), time.perf_counter() - t])
        new, duplicate = new + result.new, duplicate + result.duplicate
    embed_s = embedder.seconds
    t = time.perf_counter()
    engine.close()
    close_s = time.perf_counter() - t
    urls = [a.url for a, _ in extras] + [ref for _, ref in extras]
    with read_only(db) as con:
        marks = ",".join("?" * len(urls))
        story_of = dict(
            con.execute(f"SELECT url, story_id FROM articles WHERE url IN ({marks})", urls)
        )
    joined = sum(story_of.get(a.url) == story_of.get(ref) for a, ref in extras)
    started_new = sum((story_of.get(a.url) or 0) > last_story for a, _ in extras)
    total = sum(s for _, s in batches)
    rest = [s / n for n, s in batches[1:]] or [0.0]
    return {
        "count": len(extras),
        "new": new,
        "duplicate": duplicate,
        "ms_per_article": 1000 * total / len(extras),
        "first_batch_ms_per_article": 1000 * batches[0][1] / batches[0][0],
        "later_batches_ms_per_article_p50": 1000 * float(np.median(rest)),
        "embed_ms_per_article": 1000 * embed_s / len(extras),
        "stories_in_window": window,
        "joined_expected_story": joined,
        "started_new_story": started_new,
        "close_s": close_s,
    }


WORKERS = {"build": work_build, "probe": work_probe, "assign": work_assign}


# -- pieces --------------------------------------------------------------------------------


def make_settings(config: dict):
    from tidings.settings import Settings

    return Settings.load(env={}, data_dir=config["data_dir"], index_dtype=config["index_dtype"])


class QueryModelEmbedder(Embedder):
    """Documents from the synthetic embedder, queries from the real model; the model id
    stays the synthetic one so the engine's recorded-model check passes."""

    def __init__(self, documents: Embedder, queries: Embedder):
        if queries.dim != documents.dim:
            raise ValueError(f"query model dim {queries.dim} != documents' {documents.dim}")
        self.documents, self.queries = documents, queries
        self.model_id, self.dim = documents.model_id, documents.dim

    def _encode(self, texts, is_query: bool) -> np.ndarray:
        return (self.queries if is_query else self.documents)._encode(texts, is_query)


class ModelCostEmbedder(Embedder):
    """Synthetic document vectors (the archive stays coherent), but each batch also runs
    the real model over the same texts and throws its vectors away: an ingest through it
    takes the time a real ingest takes, model included."""

    def __init__(self, documents: Embedder, model: Embedder):
        self.documents, self.model = documents, model
        self.model_id, self.dim = documents.model_id, documents.dim

    def _encode(self, texts, is_query: bool) -> np.ndarray:
        self.model._encode(texts, is_query)
        return self.documents._encode(texts, is_query)


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def sample_originals(db: Path, n: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    with read_only(db) as con:
        top = con.execute("SELECT max(id) FROM articles").fetchone()[0]
        picks = sorted({int(i) for i in rng.integers(1, top + 1, size=4 * n)})
        marks = ",".join("?" * len(picks))
        rows = con.execute(
            f"SELECT id, title FROM articles WHERE duplicate_of IS NULL AND id IN ({marks})", picks
        ).fetchall()
    order = rng.permutation(len(rows))[:n]
    return [rows[i] for i in order]


def make_queries(titles: list[str], rng: np.random.Generator) -> list[str]:
    """Two to four words of an article's headline: a name and topic words, as people type."""
    from synth import FUNCTION_WORDS

    stop = set(FUNCTION_WORDS)
    queries = []
    for title in titles:
        words = [w for w in title.split("|")[0].split() if w.lower() not in stop] or ["news"]
        n = min(len(words), int(rng.integers(2, 5)))
        picked = sorted(rng.choice(len(words), size=n, replace=False).tolist())
        query = " ".join(words[i] for i in picked)
        queries.append(query.lower() if rng.random() < 0.5 else query)
    return queries


def stored_vectors(db: Path, ids: list[int]) -> dict[int, np.ndarray]:
    marks = ",".join("?" * len(ids))
    with read_only(db) as con:
        rows = con.execute(
            f"SELECT article_id, vector FROM embeddings WHERE article_id IN ({marks})", ids
        ).fetchall()
    return {i: np.frombuffer(blob, dtype=np.float32) for i, blob in rows}


def stories_in_window(db: Path, days: float) -> tuple[int, int]:
    """Stories the clusterer can join for an article published now (last seen within the
    window of the newest article), and the highest story id."""
    with read_only(db) as con:
        newest = con.execute("SELECT julianday(max(published)) FROM articles").fetchone()[0]
        window = con.execute(
            "SELECT count(*) FROM stories WHERE size > 0 AND julianday(last_seen) >= ?",
            (newest - days,),
        ).fetchone()[0]
        last = con.execute("SELECT coalesce(max(id), 0) FROM stories").fetchone()[0]
    return int(window), int(last)


def time_api(engine, originals: int, rng: np.random.Generator) -> dict:
    """GET /api/articles?limit=20&offset=N against uvicorn on 127.0.0.1: the first hundred
    pages, and offsets anywhere in the archive."""
    import socket
    import threading

    import httpx
    import uvicorn

    from tidings.api import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(engine), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    front = (rng.integers(0, 100, size=100) * 20).tolist()
    deep = rng.integers(0, max(1, originals - 20), size=100).tolist()
    out = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:

            def get(offset: int) -> None:
                response = client.get("/api/articles", params={"limit": 20, "offset": offset})
                response.raise_for_status()

            for offset in front[:5]:
                get(offset)
            out["front_ms"] = timed(get, front)
            out["deep_ms"] = timed(get, deep)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return out


def measure_recall(engine, db: Path, n: int, rng: np.random.Generator) -> dict:
    """recall@10 of engine.index.search against exact cosine over the stored vectors of the
    originals (what the index holds); queries are stored vectors, the query itself excluded."""
    index = getattr(engine, "index", None)
    if index is None or not hasattr(index, "search"):
        say("  recall: the engine exposes no index.search; skipped")
        return {"skipped": "no engine.index.search"}
    with read_only(db) as con:
        rows = con.execute(
            "SELECT e.article_id, e.vector FROM embeddings e JOIN articles a "
            "ON a.id = e.article_id WHERE a.duplicate_of IS NULL ORDER BY e.article_id"
        ).fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(ids), -1)
    del rows
    picks = rng.choice(len(ids), size=min(n, len(ids)), replace=False)
    queries = matrix[picks]
    best = np.full((len(picks), 11), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(picks), 11), dtype=np.int64)
    step = 100_000
    for start in range(0, len(ids), step):
        scores = np.concatenate([best, queries @ matrix[start : start + step].T], axis=1)
        chunk_ids = np.broadcast_to(ids[start : start + step], (len(picks), scores.shape[1] - 11))
        candidates = np.concatenate([best_ids, chunk_ids], axis=1)
        top = np.argpartition(-scores, 10, axis=1)[:, :11]
        best = np.take_along_axis(scores, top, axis=1)
        best_ids = np.take_along_axis(candidates, top, axis=1)
    hits = []
    for row, pick in enumerate(picks):
        self_id = int(ids[pick])
        order = np.argsort(-best[row])
        exact = [int(i) for i in best_ids[row][order] if i != self_id][:10]
        found = [i for i, _ in index.search(queries[row], 11) if i != self_id][:10]
        hits.append(len(set(exact) & set(found)) / 10)
    return {"recall_at_10": float(np.mean(hits)), "queries": len(picks), "vectors": len(ids)}


def timed(call, items) -> list[float]:
    """Milliseconds per call."""
    out = []
    for item in items:
        t = time.perf_counter()
        call(item)
        out.append(1000 * (time.perf_counter() - t))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def cpu_counters() -> tuple[float, float, float] | None:
    """(wall seconds, busy CPU seconds of the machine, CPU seconds of this process), so a
    worker can tell how much of the machine other processes took while it measured."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    mine = os.times()
    busy = (user + nice + system + irq + softirq + steal) / tick
    return time.monotonic(), busy, mine.user + mine.system


def others_cpu_share(before, after) -> float | None:
    """Share of the machine's cores (0-1) busy with other processes between two counters."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    others = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, others / ((after[0] - before[0]) * (os.cpu_count() or 1)))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tidings_origin() -> str:
    import tidings

    src = Path(tidings.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        rev = ""
    return f"{src} {rev}".strip()


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------------------


def report(results: dict, args) -> None:
    sizes = list(results)

    def p(values: list[float]) -> str:
        return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.99):.1f}"

    def mib(n: int) -> str:
        return f"{n / 2**20:,.1f}"

    rows = []

    def row(name: str, target: str, cell) -> None:
        cells = []
        for size in sizes:
            try:
                cells.append(cell(results[size]))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("–")
        rows.append([name, target, *cells])

    row("build time (s)", "", lambda r: f"{r['build']['build_s']:,.0f}")
    row(
        f"ingest rate, last {TAIL:,} articles (articles/s)",
        TARGETS["rate"],
        lambda r: f"{r['build']['rate_tail']:,.0f}",
    )
    row(
        "open + first related(), first in a fresh process (s)",
        TARGETS["open"],
        lambda r: f"{r['probe']['open_first_s']:.3f}",
    )
    row(
        "open + first related(), second in the same process (s)",
        "",
        lambda r: f"{r['probe']['open_second_s']:.3f}",
    )
    row(
        "story assign, ingest of joining articles (ms/article)",
        TARGETS["assign"],
        lambda r: f"{r['assign']['ms_per_article']:.2f}",
    )
    row(
        "stories in the 30-day window",
        "100k for the target",
        lambda r: f"{r['assign']['stories_in_window']:,}",
    )
    row(
        "hybrid search p50 / p99 (ms, query embedding included)",
        TARGETS["hybrid"],
        lambda r: p(r["probe"]["hybrid_ms"]),
    )
    row("related p50 / p99 (ms)", TARGETS["related"], lambda r: p(r["probe"]["related_ms"]))
    row(
        "/api/articles p50 / p99, first 100 pages (ms)",
        "",
        lambda r: p(r["probe"]["api"]["front_ms"]),
    )
    row("/api/articles p50 / p99, any offset (ms)", "", lambda r: p(r["probe"]["api"]["deep_ms"]))
    row(
        "peak RSS: build / query process / assign (MiB)",
        "",
        lambda r: (
            f"{r['build']['peak_rss_mib']:,.0f} / {r['probe']['peak_rss_before_recall_mib']:,.0f}"
            f" / {r['assign']['peak_rss_mib']:,.0f}"
        ),
    )
    row("vectors.usearch (MiB)", TARGETS["index"], lambda r: mib(r["files"]["vectors.usearch"]))
    row("tidings.db (MiB)", "", lambda r: mib(r["files"]["tidings.db"]))
    row(
        "other files (MiB)",
        "",
        lambda r: (
            ", ".join(
                f"{name} {mib(n)}"
                for name, n in r["files"].items()
                if name not in ("tidings.db", "vectors.usearch")
            )
            or "none"
        ),
    )
    if args.recall:
        row(
            f"recall@10 of the index ({args.index_dtype})",
            "",
            lambda r: f"{r['probe']['recall']['recall_at_10']:.4f}",
        )

    detail = []

    def drow(name: str, cell) -> None:
        cells = []
        for size in sizes:
            try:
                cells.append(cell(results[size]))
            except (KeyError, TypeError, ZeroDivisionError, IndexError):
                cells.append("–")
        detail.append([name, *cells])

    def curve(r, share: float) -> str:
        points = r["build"]["curve"]
        return f"{points[min(len(points) - 1, int(share * len(points)))][1]:,.0f}"

    drow(
        "archive: articles / synthetic stories / synthetic copies",
        lambda r: (
            f"{r['build']['size']:,} / {r['build']['synthetic']['stories']:,} / "
            f"{r['build']['synthetic']['copies']:,}"
        ),
    )
    drow(
        "engine: new / duplicate / stories / multi-article stories",
        lambda r: (
            f"{r['build']['totals']['new']:,} / {r['build']['totals']['duplicate']:,} / "
            f"{r['build']['stats']['stories']:,} / {r['build']['stats']['multi_article_stories']:,}"
        ),
    )
    drow(
        "build: generate / ingest / close (s)",
        lambda r: (
            f"{r['build']['generate_s']:,.0f} / {r['build']['ingest_s']:,.0f} / "
            f"{r['build']['close_s']:.1f}"
        ),
    )
    drow(
        "ingest rate at 25% / 50% / 75% of the build (articles/s)",
        lambda r: " / ".join(curve(r, s) for s in (0.25, 0.5, 0.75)),
    )
    drow(
        "synthetic embedding share of ingest (%)",
        lambda r: f"{100 * r['build']['embed_s'] / r['build']['ingest_s']:.0f}",
    )
    drow("import tidings.engine (s)", lambda r: f"{r['probe']['import_s']:.2f}")
    drow(
        "Engine() constructor alone, first open (s)",
        lambda r: f"{r['probe']['constructor_first_s']:.3f}",
    )
    drow("query embedding alone p50 / p99 (ms)", lambda r: p(r["probe"]["embed_query_ms"]))
    drow("keyword search p50 / p99 (ms)", lambda r: p(r["probe"]["keyword_ms"]))
    drow(
        "semantic search p50 / p99 (ms, embedding included)", lambda r: p(r["probe"]["semantic_ms"])
    )
    drow("index.search k=11 alone p50 / p99 (ms)", lambda r: p(r["probe"]["index_search_ms"]))
    drow(
        "assign: first batch / later batches p50 (ms/article)",
        lambda r: (
            f"{r['assign']['first_batch_ms_per_article']:.2f} / "
            f"{r['assign']['later_batches_ms_per_article_p50']:.2f}"
        ),
    )
    drow(
        "assign: of which synthetic embedding (ms/article)",
        lambda r: f"{r['assign']['embed_ms_per_article']:.2f}",
    )
    drow(
        "assign: joined the expected story / started a story",
        lambda r: (
            f"{r['assign']['joined_expected_story']} / {r['assign']['started_new_story']} "
            f"of {r['assign']['count']}"
        ),
    )
    drow(
        "other processes' CPU during build / probe / assign (% of cores)",
        lambda r: " / ".join(
            "–" if r[k].get("others_cpu") is None else f"{100 * r[k]['others_cpu']:.0f}"
            for k in ("build", "probe", "assign")
        ),
    )
    drow("built by", lambda r: r["build"]["tidings"] + " at " + r["build"]["built_at"])

    header = ["figure", "target", *[f"{s:,}" for s in sizes]]
    print()
    print(
        f"Tidings core at scale: python bench/scale.py --sizes {args.sizes} "
        f"--index-dtype {args.index_dtype}{' --recall' if args.recall else ''}; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.per_day:g} articles/day, batch {args.batch_size}, {args.queries} queries, "
        f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    print()
    print(markdown([header, *rows]))
    print()
    print(markdown([["detail", *header[2:]], *detail]))


def markdown(table: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in table
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
