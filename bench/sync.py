"""Reader-app sync as a client does it, against `tidings serve` in its own process: a first
sync of N unread items (ClientLogin, token, tag/list, subscription/list, unread-count, unread
ids with xt=read, starred ids, then items/contents in chunks of 100, POSTed), and an
incremental sync after M new items arrive (ids with ot = the last sync, contents of the new
ones). Prints wall time and the server process's CPU time for each.

Usage: python bench/sync.py [--items 10000] [--new 100] [--chunk 100]

Builds a fresh database in a temp dir (originals stored straight through the store, two
feeds, no model needed); the server is the real app, the client httpx on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tidings.models import Article
from tidings.settings import Settings
from tidings.store import open_store

PASSWORD = "bench api password"
READ = "user/-/state/com.google/read"


def add_items(store, feed_id: int, start: int, n: int) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    words = "harbour council ferry strike wages union vote morning crossing island".split()
    articles = [
        Article(url=f"https://a.example/{i}", title=f"Report {i}", source="Alpha",
                text="\n".join(" ".join(words[(i + k) % 10] for k in range(40))
                               for _ in range(8)),
                published=t0 + timedelta(minutes=i), content_hash=f"h{i}")
        for i in range(start, start + n)
    ]
    for offset in range(0, n, 1000):
        batch = articles[offset : offset + 1000]
        with store.transaction() as tx:
            ids = [store.insert_article(tx, a, a.url) for a in batch]
        store.record_entries(feed_id, [{"url": a.url, "guid": a.url, "article_id": i}
                                       for a, i in zip(batch, ids, strict=True)])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, base: str):
        self.http = httpx.Client(base_url=base, timeout=120)
        r = self.http.post("/accounts/ClientLogin", data={"Email": "bench", "Passwd": PASSWORD})
        r.raise_for_status()
        auth = dict(line.split("=", 1) for line in r.text.split())["Auth"]
        self.http.headers["Authorization"] = f"GoogleLogin auth={auth}"
        self.requests = 1

    def get(self, path: str, **params):
        self.requests += 1
        r = self.http.get("/reader/api/0/" + path, params=params)
        r.raise_for_status()
        return r

    def post(self, path: str, pairs):
        self.requests += 1
        r = self.http.post("/reader/api/0/" + path, content=urlencode(pairs),
                           headers={"content-type": "application/x-www-form-urlencoded"})
        r.raise_for_status()
        return r

    def ids(self, **params) -> list[str]:
        out, c = [], None
        while True:
            body = self.get("stream/items/ids", n=10000, **params, **({"c": c} if c else {}))
            body = body.json()
            out += [ref["id"] for ref in body["itemRefs"]]
            c = body.get("continuation")
            if not c:
                return out

    def contents(self, ids: list[str], chunk: int) -> int:
        got = 0
        for start in range(0, len(ids), chunk):
            pairs = [("i", i) for i in ids[start : start + chunk]]
            got += len(self.post("stream/items/contents", pairs).json()["items"])
        return got


def sync(client: Client, chunk: int, since: int | None) -> dict:
    client.get("token")
    client.get("tag/list")
    client.get("subscription/list")
    client.get("unread-count")
    extra = {"ot": str(since)} if since else {}
    unread = client.ids(s="user/-/state/com.google/reading-list", xt=READ, **extra)
    client.ids(s="user/-/state/com.google/starred")
    fetched = client.contents(unread, chunk)
    return {"unread_ids": len(unread), "items_fetched": fetched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidings-sync-bench-") as tmp:
        data = Path(tmp) / "data"
        settings = Settings.load(env={}, data_dir=str(data))
        data.mkdir(parents=True)
        store = open_store(settings.database_url, data)
        feed, _ = store.subscribe("https://a.example/feed", "Alpha", "World")
        store.record_poll(feed, {"enabled": 0})  # nothing to poll: the feed is fictional
        add_items(store, feed, 0, args.items)
        store.close()
        from tidings.engine import Engine

        with Engine(settings, check_model=False) as engine:
            account = engine.readers.accounts.add("bench", "bench login password")
            engine.readers.api_passwords.set(account, PASSWORD)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "TIDINGS_POLL_IN_SERVE": "false", "HF_HUB_OFFLINE": "1"}
        server = subprocess.Popen(
            [sys.executable, "-m", "tidings.cli", "--data-dir", str(data), "serve",
             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    httpx.get(base + "/api/stats", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            results = {}
            for name, since in (("first", None), ("incremental", "new")):
                if since == "new":
                    since = int(time.time()) - 1
                    time.sleep(1.1)
                    store = open_store(settings.database_url, data)
                    add_items(store, feed, args.items, args.new)
                    store.close()
                cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
                client = Client(base)
                counts = sync(client, args.chunk, since)
                results[name] = {
                    **counts,
                    "requests": client.requests,
                    "wall_s": round(time.perf_counter() - wall0, 2),
                    "server_cpu_s": round(cpu_seconds(server.pid) - cpu0, 2),
                }
                client.http.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps({"items": args.items, "new": args.new, "chunk": args.chunk,
                      "load_average": os.getloadavg(), **results}, indent=1))


if __name__ == "__main__":
    main()
