"""newsboat (Debian's 2.21, its `feedhq` mode) as a real client of the Google Reader auth and
the Atom newsreader endpoint: it signs in, lists the subscriptions, reads each feed as Atom,
counts what is unread as the server says; an article opened in it is read on the server."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shutil
import sqlite3
import struct
import subprocess
import termios
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from tidings.engine import Engine

from .conftest import make_settings, start_site
from .sync_corpus import PASSWORD, build, new_reader

NEWSBOAT = shutil.which("newsboat")
GR = "{http://www.google.com/schemas/reader/atom/}"
A = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    engine = Engine(make_settings(tmp_path_factory.mktemp("newsboat")), embedder=embedder)
    corpus = build(engine, originals=60)
    site = start_site(engine)
    site.corpus = corpus
    yield site
    site.stop()


def login(live, name: str) -> dict:
    r = httpx.post(live.url + "/accounts/ClientLogin", data={"Email": name, "Passwd": PASSWORD})
    return {"Authorization": "GoogleLogin auth=" + r.text.split("Auth=")[1].strip()}


def test_atom_stream_as_google_reader_served_it(live):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "atomic")
    engine.readers.marks.set(account, corpus["ids"][:2], "read")
    headers = login(live, "atomic")
    r = httpx.get(f"{live.url}/reader/atom/feed%2F{corpus['feed_b']}", params={"n": 3},
                  headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom")
    feed = ET.fromstring(r.content)
    entries = feed.findall(A + "entry")
    assert len(entries) == 3 and feed.find(GR + "continuation") is not None
    by_id = {e.find(A + "id").text: e for e in entries}
    first = by_id[f"tag:google.com,2005:reader/item/{corpus['ids'][2]:016x}"]
    labels = {c.get("label") for c in first.findall(A + "category")}
    assert "reading-list" in labels and "read" not in labels
    assert first.find(A + "id").get(GR + "original-id") == "https://a.example/a/2"
    assert "Also published by" in first.find(A + "content").text
    more = httpx.get(f"{live.url}/reader/atom/feed%2F{corpus['feed_b']}",
                     params={"n": 3, "c": feed.find(GR + "continuation").text}, headers=headers)
    read_entry = ET.fromstring(more.content).findall(A + "entry")[-1]
    assert {c.get("label") for c in read_entry.findall(A + "category")} >= {"read"}
    assert httpx.get(f"{live.url}/reader/atom/{'user/-/state/com.google/reading-list'}",
                     headers=headers).status_code == 200
    assert httpx.get(f"{live.url}/reader/atom/feed%2F1").status_code == 401
    assert httpx.get(f"{live.url}/reader/atom/bogus", headers=headers).status_code == 400


def _config(tmp_path, live, name: str):
    home = tmp_path / "home"
    (home / ".newsboat").mkdir(parents=True)
    config = home / "config"
    config.write_text(
        f'urls-source "feedhq"\nfeedhq-url "{live.url}/"\nfeedhq-login "{name}"\n'
        f'feedhq-password "{PASSWORD}"\nfeedhq-min-items 100\n'
        'feedhq-show-special-feeds no\nshow-read-feeds yes\n'
    )
    (home / "urls").write_text("")
    return home, ["-C", str(config), "-c", str(home / "cache.db"), "-u", str(home / "urls")]


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_newsboat_reloads_and_counts_unread(live, tmp_path):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "boater")
    engine.readers.marks.set(account, corpus["ids"][:7], "read")
    home, args = _config(tmp_path, live, "boater")
    done = subprocess.run([NEWSBOAT, *args, "-x", "reload", "print-unread"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"{len(corpus['ids']) - 7} unread articles"), done.stdout
    with sqlite3.connect(home / "cache.db") as db:
        guids = {row[0] for row in db.execute("SELECT guid FROM rss_item")}
    assert f"tag:google.com,2005:reader/item/{corpus['ids'][0]:016x}" in guids


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_an_article_read_in_newsboat_is_read_on_the_server(live, tmp_path):
    """newsboat on a terminal: reload, open an article, leave it; the server has it read."""
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "tty")
    home, args = _config(tmp_path, live, "tty")
    env = {**os.environ, "HOME": str(home), "TERM": "xterm", "LINES": "40", "COLUMNS": "120"}
    subprocess.run([NEWSBOAT, *args, "-x", "reload"], env=env, timeout=120, check=True,
                   capture_output=True)
    pid, fd = pty.fork()
    if pid == 0:  # the child: newsboat on the terminal
        os.execve(NEWSBOAT, [NEWSBOAT, *args, "-d", str(home / "log"), "-l", "6"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        def settle(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    try:
                        os.read(fd, 65536)
                    except OSError:
                        return

        settle(3)
        # the feed list holds Beta Daily first, empty: its items are the ones Alpha News
        # published first (folded copies), and newsboat keeps an item in one feed only.
        # Down to Alpha News, open it, open its first article.
        os.write(fd, b"R")  # reload every feed, as a reader does on opening it
        settle(10)
        # Beta Daily comes first and is empty (its items are Alpha News's, folded, and
        # newsboat keeps an item in one feed): down to Alpha News, open it, open its first
        # article, leave it (newsboat tells the server as the article is left)
        for key in (b"j", b"\r", b"\r"):
            os.write(fd, key)
            settle(2)
        os.write(fd, b"q")
        deadline = time.monotonic() + 30
        marked = []
        while time.monotonic() < deadline and not marked:
            settle(0.5)
            marked = [i for i, m in engine.readers.marks.of(account, corpus["ids"]).items()
                      if "read" in m]
        for key in (b"q", b"q"):
            os.write(fd, key)
            settle(0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    log = (home / "log").read_text(errors="replace") if (home / "log").exists() else ""
    assert len(marked) == 1, "newsboat did not mark the article read on the server:\n" + "\n".join(
        line for line in log.splitlines() if "FeedHq" in line or "mark" in line.lower())[-3000:]
