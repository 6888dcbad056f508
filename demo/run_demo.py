"""`make demo`: build the invented news web, serve it on 127.0.0.1, ingest every outlet's feed
through the real pipeline (feed → page fetch → extract → dedupe → embed → index → stories),
then serve Tidings.

Usage: python demo/run_demo.py [--data-dir data/demo] [--port 8000] [--no-serve]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_site import build_site  # noqa: E402


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_site(root: Path, port: int = 0) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve the demo news web from `root` on loopback; returns its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(_Quiet, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/demo")
    parser.add_argument("--site-dir", default=str(HERE / "site"))
    parser.add_argument("--site-port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="stop after ingesting")
    args = parser.parse_args(argv)

    from tidings.engine import Engine
    from tidings.settings import Settings

    site_dir = Path(args.site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)
    try:
        base_url, site_server = serve_site(site_dir, args.site_port)
    except OSError:  # port taken: any free port works, the site is built for it
        base_url, site_server = serve_site(site_dir, 0)
    summary = build_site(HERE / "corpus", site_dir, base_url)
    print(
        f"demo news web: {summary['outlets']} outlets, {summary['originals']} articles "
        f"+ {summary['copies']} syndicated copies, served at {base_url}/"
    )
    manifest = json.loads((site_dir / "_manifest.json").read_text())
    feeds = [feed["url"] for feed in manifest["feeds"]]

    # The demo web lives on loopback, and it is ours: no politeness delay needed.
    settings = Settings.load(
        data_dir=args.data_dir,
        fetch_allow_private=True,
        fetch_per_host_interval=0.0,
        host=args.host,
        port=args.port,
    )
    engine = Engine(settings)
    print(f"ingesting {len(feeds)} feeds into {settings.data_path} …")
    started = time.perf_counter()
    result = engine.ingest(feeds)
    elapsed = time.perf_counter() - started
    stats = engine.stats()
    print(
        f"ingested in {elapsed:.1f}s: {result.new} new, {result.duplicate} syndicated copies "
        f"folded, {result.unchanged} already stored, {len(result.failed)} failed"
    )
    for item, reason in result.failed:
        print(f"  failed: {item}: {reason}")
    print(
        f"database: {stats['originals']} articles, {stats['duplicates']} copies, "
        f"{stats['stories']} stories ({stats['multi_article_stories']} with 2+ articles)"
    )
    if args.no_serve:
        engine.close()
        site_server.shutdown()
        site_server.server_close()
        return 0

    import uvicorn

    from tidings.api import create_app

    print(
        f"\nTidings is up: open http://{args.host}:{args.port}/\n"
        f"  stories:  http://{args.host}:{args.port}/api/stories?min_size=2\n"
        f"  search:   http://{args.host}:{args.port}/api/search?q=ferry+aground\n"
        f"  API docs: http://{args.host}:{args.port}/docs\n"
        f"Press Ctrl+C to stop."
    )
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
