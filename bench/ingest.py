"""Ingest throughput on the demo corpus, next to the embedding model's own rate on the same
texts in the same run (the gap is the pipeline's overhead: fetch, extract, dedupe, store).

Usage: python bench/ingest.py [--data-dir /tmp/tidings-bench] [--set NAME=VALUE ...]
       (e.g. --set embed_backend=onnx --set embed_quantize=int8)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "demo"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="kept afterwards for bench/query.py")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting, e.g. embed_backend=onnx")
    args = parser.parse_args()

    from build_site import build_site
    from run_demo import serve_site

    from tidings.engine import Engine, embed_text
    from tidings.settings import Settings

    site = Path(tempfile.mkdtemp(prefix="tidings-site-"))
    server = serve_site(site)
    base_url = server.base_url
    summary = build_site(REPO / "demo" / "corpus", site, base_url)
    import json

    feeds = [f["url"] for f in json.loads((site / "_manifest.json").read_text())["feeds"]]
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="tidings-bench-"))
    shutil.rmtree(data, ignore_errors=True)
    overrides = dict(item.split("=", 1) for item in args.set)
    settings = Settings.load(
        data_dir=str(data), fetch_allow_private=True, fetch_per_host_interval=0.0, **overrides
    )
    print("settings: " + (", ".join(args.set) or "defaults"))
    engine = Engine(settings)
    started = time.perf_counter()
    _ = engine.embedder  # model load is not ingest work; counted separately
    load_s = time.perf_counter() - started

    started, cpu_started = time.perf_counter(), time.process_time()
    result = engine.ingest(feeds)
    ingest_s = time.perf_counter() - started
    ingest_cpu = time.process_time() - cpu_started
    pages = result.new + result.duplicate

    originals = [a for a in engine.store.iter_articles() if a.duplicate_of is None]
    texts = [embed_text(a) for a in originals]
    started = time.perf_counter()
    engine.embedder.embed_documents(texts)
    model_s = time.perf_counter() - started

    print(
        f"corpus: {summary['pages']} pages from {len(feeds)} feeds "
        f"({summary['originals']} articles + {summary['copies']} syndicated copies)"
    )
    print(f"model load: {load_s:.1f}s")
    print(
        f"ingest (feeds → fetch → extract → dedupe → embed → store → index → stories): "
        f"{ingest_s:.1f}s = {pages / ingest_s:.1f} pages/s, "
        f"{result.new / ingest_s:.1f} new articles/s; {ingest_cpu:.1f}s CPU (this process, "
        f"the demo web server's threads included)"
    )
    print(
        f"model alone on the same {len(texts)} texts: {model_s:.1f}s = "
        f"{len(texts) / model_s:.1f} articles/s"
    )
    print(
        f"pipeline overhead: {ingest_s - model_s:.1f}s of {ingest_s:.1f}s "
        f"({(ingest_s - model_s) / ingest_s:.0%})"
    )
    print(
        f"result: {result.new} new, {result.duplicate} copies folded, "
        f"{len(result.failed)} failed; database at {data}"
    )
    engine.close()
    server.close()
    shutil.rmtree(site, ignore_errors=True)


if __name__ == "__main__":
    main()
