"""Poller throughput: one poll cycle over N feeds × M entries served by a local HTTP server
(in another process, so its CPU is not counted), then a second cycle with nothing changed.

Prints feeds/s and pages/s of the first cycle, peak RSS, the share of 304 answers in the
second cycle and the poller's CPU time per unchanged feed.

Usage: python bench/poll.py [--feeds 1000] [--entries 20] [--workers 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.feedserver import FeedServer, Route, rss  # noqa: E402

SYLLABLES = ("ka", "lo", "mer", "tin", "sa", "vor", "el", "qu", "dri", "an", "po", "res",
             "ul", "bex", "ta", "nor", "im", "gal", "ste", "ro", "fi", "dun", "ha", "wel")


def page(title: str, seed: int) -> bytes:
    """An article page of its own words (distinct pages must not fold as copies)."""
    import random

    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
                  for _ in range(400)]
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(vocabulary) for _ in range(60)).capitalize() + ".</p>"
        for _ in range(6)
    )
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def serve(feeds: int, entries: int, ready) -> None:
    """The server process: every feed has an ETag and answers 304 when it is sent back."""
    server = FeedServer()
    for f in range(feeds):
        items = []
        for e in range(entries):
            path = f"/page/{f}/{e}.html"
            title = f"Report {f}-{e}: harbour council weighs ferry plan {f * entries + e}"
            server.routes[path] = Route(
                body=page(title, f * entries + e),
                headers={"Content-Type": "text/html; charset=utf-8"},
            )
            items.append({"title": title, "link": server.url(path), "guid": f"{f}-{e}",
                          "hours": e})
        server.routes[f"/feed/{f}.xml"] = Route(
            body=rss(items, title=f"Outlet {f}"), etag=f'"feed-{f}"',
            headers={"Content-Type": "application/rss+xml"},
        )
    ready.put(server.base)
    server.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    from tidings.engine import Engine
    from tidings.settings import Settings

    ready = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.feeds, args.entries, ready),
                                     daemon=True)
    server.start()
    base = ready.get(timeout=600)

    data = Path(tempfile.mkdtemp(prefix="tidings-poll-bench-"))
    settings = Settings.load(
        data_dir=str(data), fetch_allow_private=True, fetch_per_host_interval=0.0,
        fetch_respect_robots=False, poll_workers=args.workers, poll_per_host=args.workers,
        poll_max_entries=max(100, args.entries),
    )
    engine = Engine(settings)
    _ = engine.embedder  # the model load is not poll work
    for f in range(args.feeds):
        engine.store.subscribe(f"{base}/feed/{f}.xml", f"Outlet {f}")

    wall, cpu = time.perf_counter(), time.process_time()
    first = engine.poll()
    first_wall, first_cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    wall, cpu = time.perf_counter(), time.process_time()
    second = engine.poll(all_feeds=True)
    second_wall, second_cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(f"{args.feeds} feeds × {args.entries} entries, {args.workers} workers, "
          f"model {settings.model}")
    print(f"first cycle: {first_wall:.1f}s wall, {first_cpu:.1f}s CPU; "
          f"{first.checked / first_wall:.1f} feeds/s, {first.pages / first_wall:.1f} pages/s; "
          f"{first.result.new} new, {first.result.duplicate} copies, {first.partial} partial, "
          f"{first.failed} feeds failed")
    print(f"peak RSS after the first cycle: {rss_first:.0f} MiB")
    print(f"second cycle (nothing changed): {second_wall:.2f}s wall; "
          f"{second.not_modified}/{second.checked} answered 304 "
          f"({second.not_modified / max(1, second.checked):.0%}); "
          f"{second_cpu * 1000 / max(1, second.checked):.2f} ms CPU per feed; "
          f"{second.entries} new entries")
    engine.close()
    server.terminate()
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
