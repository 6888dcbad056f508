"""Reader-site throughput and latency under load: the article page (visits counted: every
request comes as a different visitor), the front page and search, served by the real app
(uvicorn, one process) over a bulk-loaded archive, driven by `wrk` on loopback for a fixed
time per page.

Usage: python bench/site_load.py DATA_DIR [--seconds 15] [--connections 16] [--threads 1]
                                          [--workers 1]

With --workers N > 1 the app is served as `tidings serve --workers N` serves it: uvicorn
starts N processes, each with its own engine on the archive.

DATA_DIR holds an archive made by `python bench/bulk.py DATA_DIR --size N`; the run writes
visits and applies pending migrations, so point it at a copy. Needs `wrk` (apt-get install
wrk). Search queries are embedded by the real bundled model (a repeated query's vector is
reused), documents stay synthetic.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

ARTICLE_LUA = """
local ids = {%s}
local n = 0
math.randomseed(%d)
request = function()
  n = n + 1
  local path = "/article/" .. ids[math.random(#ids)]
  return wrk.format("GET", path, {["User-Agent"] =
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 load-visitor-" .. n .. "-" .. math.random(1e9)})
end
"""
PATHS_LUA = """
local paths = {%s}
math.randomseed(%d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["User-Agent"] =
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 load-client"})
end
"""


def _article_count(data_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{data_dir / 'tidings.db'}?mode=ro", uri=True) as con:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: str, seconds: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "--timeout", "10s", "-s", fh.name, url],
        capture_output=True, text=True, check=True,
    ).stdout
    Path(fh.name).unlink()
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in latency:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _engine(data_dir: Path):
    from scale import QueryModelEmbedder
    from synth import SyntheticEmbedder

    from tidings.embed.sentence_transformers import SentenceTransformerEmbedder
    from tidings.engine import Engine
    from tidings.settings import Settings

    bulk = json.loads((data_dir / "bulk.json").read_text())
    return Engine(
        Settings.load(env={}, data_dir=str(data_dir), index_dtype=bulk["index_dtype"]),
        embedder=QueryModelEmbedder(SyntheticEmbedder(seed=bulk["seed"]),
                                    SentenceTransformerEmbedder()),
    )


def make_app():
    """uvicorn's app factory in each worker process (--workers > 1)."""
    from tidings.api import create_app

    engine = _engine(Path(os.environ["SITE_LOAD_DIR"]))
    engine.warm()
    return create_app(engine, owns_engine=True)


def _start_workers(data_dir: Path, port: int, workers: int) -> subprocess.Popen:
    code = (
        "import uvicorn; uvicorn.run('site_load:make_app', factory=True, "
        f"workers={workers}, host='127.0.0.1', port={port}, log_level='warning', "
        f"app_dir={str(Path(__file__).resolve().parent)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code],
                            env={**os.environ, "SITE_LOAD_DIR": str(data_dir)})
    deadline = time.monotonic() + 300
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            # every worker has warmed up once the port answers and the pages come back
            for _ in range(4 * workers):
                subprocess.run(["wrk", "-t1", "-c1", "-d1s", f"http://127.0.0.1:{port}/help"],
                               capture_output=True, check=True)
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the workers did not start") from None
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads for the query model (0: torch's default).")
    parser.add_argument("--pages", default="article,front,search",
                        help="Which pages to load, comma-separated.")
    parser.add_argument("--workers", type=int, default=1,
                        help="Server processes (as `tidings serve --workers N`).")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    import uvicorn
    from scale import make_queries, sample_originals

    from tidings.api import create_app

    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(11)
    sample = sample_originals(args.data_dir / "tidings.db", 2000, rng)
    # as many distinct queries as sampled articles: in a 20 s run most searches are new
    # ones, so the query embedding (reused for a repeated query) is measured, not skipped
    queries = list(dict.fromkeys(make_queries([t for _, t in sample], rng)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = server = proc = None
    if args.workers > 1:
        proc = _start_workers(args.data_dir, port, args.workers)
    else:
        engine = _engine(args.data_dir)
        engine.search("warm up the model", mode="semantic")
        engine.related(sample[0][0])  # loads the vector index
        server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    ids = [i for i, _ in sample]

    def counted() -> int:
        """Visits written to the database (and, with one process, still buffered)."""
        if engine is not None:
            engine.readers.visits.flush()
            return sum(total for total, _ in engine.readers.visits.counts(ids).values())
        time.sleep(2.5)  # each worker writes its buffered visits every second
        from tidings.store import SQLiteStore

        store = SQLiteStore(args.data_dir / "tidings.db")
        try:
            return sum(t for t, _ in store.visit_counts(ids, "1970-01-01T00").values())
        finally:
            store.close()

    results = {"articles": _article_count(args.data_dir), "seconds": args.seconds,
               "connections": args.connections, "workers": args.workers}

    pages = args.pages.split(",")
    before = counted()
    # a new seed per run: the same user agents again would be repeat views (not counted)
    seed = int(time.time())
    if "article" in pages:
        run_wrk(base, ARTICLE_LUA % (",".join(map(str, ids)), seed), 3, args.connections,
                args.threads)  # warm-up (counted too)
        lua = ARTICLE_LUA % (",".join(map(str, ids)), seed + 1)
        warm = counted()
        results["article"] = run_wrk(base, lua, args.seconds, args.connections, args.threads)
        after = counted()
        results["article"]["visits_counted"] = after - warm
        results["article"]["visits_counted_incl_warmup"] = after - before
    if "front" in pages:
        run_wrk(base, PATHS_LUA % ('"/"', 2), 2, args.connections, args.threads)  # warm-up
        results["front"] = run_wrk(base, PATHS_LUA % ('"/"', 2), args.seconds,
                                   args.connections, args.threads)
    if "search" in pages:
        search_paths = ",".join(json.dumps("/search?q=" + q.replace(" ", "+")) for q in queries)
        results["search"] = run_wrk(base, PATHS_LUA % (search_paths, 3), args.seconds,
                                    args.connections, args.threads)
        results["search"]["distinct_queries"] = len(queries)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=60)
    else:
        server.should_exit = True
        thread.join(timeout=10)
        engine.close()
    print(json.dumps(results, indent=1))
    for page in pages:
        r = results[page]
        print(f"{page:<8} {r['rps']:7.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p90 "
              f"{r['p90_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  ({r['requests']} requests, "
              f"{r['non_2xx']} non-2xx)")
    if "search" in pages:
        print(f"search: {len(queries)} distinct queries drawn at random "
              f"({results['search']['requests']} requests)")
    if "article" in pages:
        print(f"visits counted during the article run: {results['article']['visits_counted']}"
              f" for {results['article']['requests']} completed requests")


if __name__ == "__main__":
    main()
