"""`tidings backfill` on a directory of synthetic news pages: pages/s and peak memory with
--engine local and --engine ray, each run as the real command in a fresh process on a fresh
database.

The pages are rendered from bench/synth.py's archive (heavy-tailed stories, ~15% syndicated
copies) as HTML with the clutter of a news site (navigation, related links, footer); one in
ten is gzipped. They are made once under --work-dir and reused. Peak memory is the largest
sum of the resident sets of the command's whole process tree (for Ray: the driver, its GCS
and raylet, the workers and actors), sampled every 0.2 s.

Usage: python bench/backfill.py [--pages 20000] [--engines local,ray] [--actors 1]
                                [--set embed_backend=onnx --set embed_quantize=int8]
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}
</title><meta property="og:title" content="{title}"><meta property="og:site_name"
content="{outlet}"><meta property="article:published_time" content="{published}">
<link rel="canonical" href="{url}"><meta name="author" content="{author}"></head><body>
<header><a href="/">{outlet}</a><nav><a href="/world">World</a> <a href="/business">Business
</a> <a href="/sport">Sport</a> <a href="/opinion">Opinion</a></nav>
<div class="cookie">We use cookies to improve your experience. <button>Accept</button></div>
</header><main><article><h1>{title}</h1><p class="byline">By {author}</p>{paragraphs}
</article><aside><h2>Most read</h2><ul>{related}</ul></aside></main>
<footer>© 2026 {outlet}. All rights reserved. <a href="/privacy">Privacy</a></footer>
</body></html>"""


def render(article, related: list[str]) -> str:
    words = article.text.split("\n\n")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in words if p.strip())
    return PAGE.format(
        title=html.escape(article.title),
        outlet=html.escape(article.source or "Wire"),
        published=article.published.isoformat() if article.published else "",
        url=html.escape(article.url),
        author=html.escape(article.author or "Staff"),
        paragraphs=paragraphs,
        related="".join(f"<li><a href='/r/{i}'>{html.escape(t)}</a></li>" for i, t in
                        enumerate(related)),
    )


def make_pages(root: Path, count: int) -> Path:
    from synth import Archive

    pages = root / f"pages-{count}"
    marker = pages / ".complete"
    if marker.exists():
        return pages
    archive = Archive(count)
    titles: list[str] = []
    for i, article in enumerate(archive.articles()):
        folder = pages / f"{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = render(article, titles[-5:])
        titles.append(article.title)
        if i % 10 == 9:
            (folder / f"{i:06d}.html.gz").write_bytes(gzip.compress(body.encode()))
        else:
            (folder / f"{i:06d}.html").write_text(body)
    marker.write_text(json.dumps({"pages": count, "copies": archive.copies}))
    return pages


def tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * page
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run(engine: str, pages: Path, data: Path, env: dict[str, str], actors: int) -> dict:
    command = [sys.executable, "-m", "tidings.cli", "--data-dir", str(data), "backfill",
               "--engine", engine, "--actors", str(actors), "--json", str(pages)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{engine}: exit {proc.returncode}\n{err[-3000:]}")
    summary = json.loads(out)
    summary["wall"] = wall
    summary["peak_tree_mib"] = peak[0] / 2**20
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--work-dir", default="/tmp/tidings-backfill-bench")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the backfill, e.g. embed_backend=onnx")
    args = parser.parse_args()
    work = Path(args.work_dir)
    t0 = time.perf_counter()
    pages = make_pages(work, args.pages)
    print(f"{args.pages} synthetic pages in {pages} "
          f"({json.loads((pages / '.complete').read_text())['copies']} syndicated copies; "
          f"made or reused in {time.perf_counter() - t0:.0f}s)")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("TIDINGS_CONFIG", None)
    for item in args.set:
        name, _, value = item.partition("=")
        env[f"TIDINGS_{name.upper()}"] = value
    env.setdefault("TIDINGS_EMBED_CACHE_DIR", str(work / "models"))
    print("settings: " + (", ".join(args.set) or "defaults"))
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        data = work / f"data-{engine}"
        subprocess.run(["rm", "-rf", str(data)], check=True)
        load_before = os.getloadavg()
        s = run(engine, pages, data, env, args.actors)
        print(
            f"--engine {engine}: {s['pages']} pages in {s['wall']:.0f}s wall "
            f"({s['pages'] / s['wall']:.1f} pages/s; {s['pages_per_second']}/s inside the "
            f"command, model load included); {s['new']} new, {s['duplicate']} copies, "
            f"{len(s['skipped'])} not articles, {len(s['failed'])} failed; "
            f"{s['database']['stories']} stories; peak RSS of the process tree "
            f"{s['peak_tree_mib']:.0f} MiB (driver alone {s['peak_rss_mib']} MiB); "
            f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after",
            flush=True,
        )


if __name__ == "__main__":
    main()
