"""`make demo`: build the invented news web, serve it on 127.0.0.1, ingest every outlet's feed
through the real pipeline (feed → page fetch → extract → dedupe → embed → index → stories),
then serve Tidings.

Usage: python demo/run_demo.py [--data-dir data/demo] [--port 8000] [--no-serve]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_site import build_site  # noqa: E402


class SiteServer:
    """The demo news web served by `python -m http.server` in its own process, so that the
    site's threads never compete with the ingest for this process's interpreter lock."""

    def __init__(self, root: Path, port: int = 0):
        if port == 0:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
        else:
            with socket.socket() as sock:  # fail here, clearly, if the port is taken
                sock.bind(("127.0.0.1", port))
        self.base_url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        self.close()
        raise OSError(f"demo site server did not start on port {port}")

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def serve_site(root: Path, port: int = 0) -> SiteServer:
    """Serve the demo news web from `root` on loopback (its base URL is `.base_url`)."""
    return SiteServer(root, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/demo")
    parser.add_argument("--site-dir", default=str(HERE / "site"))
    parser.add_argument("--site-port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="stop after ingesting")
    args = parser.parse_args(argv)

    site_dir = Path(args.site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)
    try:
        site_server = serve_site(site_dir, args.site_port)
    except OSError:  # port taken: any free port works, the site is built for it
        site_server = serve_site(site_dir, 0)
    try:
        return _run(args, site_dir, site_server.base_url)
    finally:
        site_server.close()


def _run(args: argparse.Namespace, site_dir: Path, base_url: str) -> int:
    from tidings.engine import Engine
    from tidings.settings import Settings

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
    # subscribe to the same feeds (the demo web's OPML file): the server's poller keeps them
    # current from now on, and the sources page shows their state
    subscribed = engine.subscriptions.import_opml((site_dir / "feeds.opml").read_bytes())
    print(
        f"subscribed to {subscribed['added'] + subscribed['existing']} feeds "
        f"({subscribed['added']} new)"
    )
    if args.no_serve:
        engine.close()
        return 0

    import uvicorn

    from tidings.api import create_app

    base = f"http://{args.host}:{args.port}"
    token = engine.readers.accounts.setup_token()  # None once an admin exists
    polling = engine.start_polling()
    print(
        f"\nTidings is up: open {base}/  (polling the {len(feeds)} feeds in the background)\n"
        f"  stories:  http://{args.host}:{args.port}/api/stories?min_size=2\n"
        f"  search:   http://{args.host}:{args.port}/api/search?q=ferry+aground\n"
        f"  API docs: http://{args.host}:{args.port}/docs\n"
        + (f"  create the admin account (works once): {base}/setup?token={token}\n"
           if token else "")
        + "Press Ctrl+C to stop."
    )
    try:
        uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    finally:
        polling.stop()
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
