"""Subscriptions through the CLI and the REST API: autodiscovery, list, remove, OPML import
(folders → categories, idempotent) and export, API tokens guarding the write endpoints."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tidings.cli import main
from tidings.readers.tokens import PREFIX, Tokens, digest
from tidings.sources.opml import parse_opml_outlines

from .feedserver import FeedServer, harbour_site

OPML = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>mine</title></head><body>
  <outline text="World">
    <outline text="Meridian" xmlUrl="https://meridian.example/rss.xml"/>
    <outline text="Deep">
      <outline text="Valley" xmlUrl="https://valley.example/rss"/>
    </outline>
  </outline>
  <outline text="Loose" xmlUrl="https://loose.example/atom.xml"/>
  <outline text="Script" xmlUrl="javascript:alert(1)"/>
</body></opml>"""


@pytest.fixture(scope="module")
def server():
    srv = harbour_site(FeedServer())
    srv.set("/blog/", body=b"<html><body>no link here</body></html>",
            headers={"Content-Type": "text/html"})
    srv.set("/blog/x", body=b"<html><body>nothing</body></html>")
    yield srv
    srv.stop()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDINGS_FETCH_PER_HOST_INTERVAL", "0")
    monkeypatch.setenv("TIDINGS_FETCH_RESPECT_ROBOTS", "false")
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, ["--data-dir", str(tmp_path / "data"), *args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_feeds_add_discovers_lists_and_removes(cli, server):
    out = cli("feeds", "add", server.base + "/", "--category", "Local", "--allow-private").output
    assert out.startswith("subscribed to Harbour Times <" + server.url("/feed.xml") + ">")
    again = cli("feeds", "add", server.url("/feed.xml"), "--allow-private").output
    assert again.startswith("already subscribed to Harbour Times")
    # a site announcing nothing: the usual paths are tried, /feed.xml is one of them
    assert "Harbour Times" in cli("feeds", "add", server.url("/blog/x"), "--allow-private").output
    (feed,) = json.loads(cli("feeds", "list", "--json").output)
    assert (feed["title"], feed["category"], feed["entries"]) == ("Harbour Times", "Local", 0)
    assert {"checked_at", "next_check", "last_status", "error_count", "last_error"} <= set(feed)
    text = cli("feeds", "list").output
    assert "Harbour Times" in text and server.url("/feed.xml") in text
    cli("feeds", "remove", str(feed["id"]))
    assert json.loads(cli("feeds", "list", "--json").output) == []
    missing = cli("feeds", "remove", str(feed["id"]), ok=False)
    assert missing.exit_code == 1 and "no subscribed feed" in missing.output


def test_feeds_add_refuses_what_is_not_a_feed(cli, server):
    server.set("/nothing/", body=b"<html><body>hi</body></html>",
               headers={"Content-Type": "text/html"})
    bad = cli("feeds", "add", "ftp://x.example/feed", ok=False)
    assert bad.exit_code == 1 and "not an http(s) URL" in bad.output
    private = cli("feeds", "add", server.url("/feed.xml"), ok=False)
    assert "private address 127.0.0.1 refused" in private.output
    assert json.loads(cli("feeds", "list", "--json").output) == []


def test_opml_import_is_idempotent_and_round_trips(cli, tmp_path):
    path = tmp_path / "subs.opml"
    path.write_bytes(OPML)
    first = json.loads(cli("feeds", "import", str(path), "--json").output)
    assert (first["added"], first["existing"]) == (3, 0)
    assert first["failed"] == [{"item": "javascript:alert(1)",
                                "reason": "not an http(s) URL: 'javascript:alert(1)'"}]
    second = json.loads(cli("feeds", "import", str(path), "--json").output)
    assert (second["added"], second["existing"]) == (0, 3)
    listed = {f["url"]: f["category"] for f in json.loads(cli("feeds", "list", "--json").output)}
    assert listed == {"https://meridian.example/rss.xml": "World",
                      "https://valley.example/rss": "Deep", "https://loose.example/atom.xml": None}
    exported = cli("feeds", "export").output
    assert exported.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert {(o.url, o.category) for o in parse_opml_outlines(exported.encode())} == set(
        listed.items())
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<html><body/></html>")
    refused = cli("feeds", "import", str(bad), ok=False)
    assert refused.exit_code == 1 and "not OPML" in refused.output


def test_tokens_are_shown_once_and_stored_as_a_hash(cli, tmp_path):
    token = cli("tokens", "create", "laptop").output.strip()
    assert token.startswith(PREFIX) and len(token) > 40
    assert "already" in cli("tokens", "create", "laptop", ok=False).output
    assert "laptop" in cli("tokens", "list").output
    raw = (tmp_path / "data" / "tidings.db").read_bytes()
    assert token.encode() not in raw and digest(token).encode() in raw
    cli("tokens", "revoke", "laptop")
    assert cli("tokens", "list").output == ""


def test_token_names_are_checked(make_engine):
    tokens = Tokens(make_engine().store)
    with pytest.raises(ValueError, match="token name"):
        tokens.create("two words")
    assert tokens.verify(None) is None and tokens.verify("tdg_nope") is None


def test_rest_feeds_need_a_token_to_write(make_engine, server):
    engine = make_engine(fetch_allow_private=True, fetch_per_host_interval=0.0,
                         fetch_respect_robots=False)
    token = engine.readers.tokens.create("api")
    from tidings.api import create_app

    client = TestClient(create_app(engine))
    auth = {"Authorization": f"Bearer {token}"}
    body = {"url": server.url("/feed.xml"), "category": "Harbour"}
    for headers in ({}, {"Authorization": "Bearer tdg_wrong"}, {"Authorization": token}):
        refused = client.post("/api/feeds", json=body, headers=headers)
        assert refused.status_code == 401, headers
        assert "API token" in refused.json()["detail"]
    created = client.post("/api/feeds", json=body, headers=auth)
    assert created.status_code == 201, created.text
    feed = created.json()
    assert (feed["title"], feed["category"], feed["enabled"]) == ("Harbour Times", "Harbour", True)
    assert client.post("/api/feeds", json=body, headers=auth).status_code == 200
    assert [f["id"] for f in client.get("/api/feeds").json()] == [feed["id"]]
    assert client.get(f"/api/feeds/{feed['id']}").json()["url"] == server.url("/feed.xml")
    bad = client.post("/api/feeds", json={"url": "http://[::1/"}, headers=auth)
    assert bad.status_code == 400

    opml = client.get("/api/feeds/opml")
    assert opml.status_code == 200 and opml.headers["content-type"].startswith("text/x-opml")
    assert server.url("/feed.xml") in opml.text
    assert client.post("/api/feeds/opml", content=OPML).status_code == 401
    imported = client.post("/api/feeds/opml", content=OPML, headers=auth).json()
    assert (imported["added"], imported["existing"], len(imported["failed"])) == (3, 0, 1)
    assert client.post("/api/feeds/opml", content=b"junk", headers=auth).status_code == 400

    assert client.delete(f"/api/feeds/{feed['id']}").status_code == 401
    assert client.delete(f"/api/feeds/{feed['id']}", headers=auth).json() == {
        "removed": feed["id"]}
    assert client.delete(f"/api/feeds/{feed['id']}", headers=auth).status_code == 404
    assert len(client.get("/api/feeds").json()) == 3


def test_poll_once_from_the_cli(cli, server, monkeypatch):
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW_PRIVATE", "true")
    cli("feeds", "add", server.url("/feed.xml"))
    report = json.loads(cli("poll", "--once", "--json").output)
    assert (report["checked"], report["updated"], report["failed"]) == (1, 1, 0)
    assert "polled 0 feeds" in cli("poll", "--once").output  # not due again yet
    (feed,) = json.loads(cli("feeds", "list", "--json").output)
    assert feed["last_status"] == 200 and feed["next_check"] > feed["checked_at"]


def test_serve_polls_in_the_background(tmp_path, server):
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    data = tmp_path / "data"
    from tidings.store import SQLiteStore

    store = SQLiteStore(data / "tidings.db")
    feed_id, _ = store.subscribe(server.url("/feed.xml"), "Harbour")
    store.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, TIDINGS_FETCH_ALLOW_PRIVATE="true", TIDINGS_FETCH_RESPECT_ROBOTS="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", "--data-dir", str(data), "serve", "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        deadline, feed = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                feed = httpx.get(f"http://127.0.0.1:{port}/api/feeds/{feed_id}", timeout=2).json()
                if feed["checked_at"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert feed is not None and feed["last_status"] == 200, feed
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "polling subscribed feeds" in output
