"""Saved searches: matches among stored articles when saved, new matching articles joining the
stream as they are ingested (and nothing else), filters, the sync label and the private feed,
and the webhook: signed, retried with backoff, refused for private addresses unless allowed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tidings.engine import Engine, make_fetcher
from tidings.readers.searches import SearchError, Webhooks
from tidings.store import StreamQuery

from .conftest import make_settings, start_site
from .site_corpus import demo_articles
from .sync_corpus import PASSWORD, new_reader

TELESCOPE = ("halvern-telescope-first-light",)
OTHERS = ("northsea-ferry-grounding", "kessler-bridge-collapse", "estova-rate-decision")


class Receiver(ThreadingHTTPServer):
    """Records webhook POSTs; answers the statuses queued in `answers`, then 200."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((dict(self.headers), body))
        status = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request, tmp_path_factory, embedder):
    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_module_url")
    engine = Engine(make_settings(tmp_path_factory.mktemp("searches"), fetch_allow_private=True,
                                  webhook_backoff=0.05, webhook_retries=4,
                                  database_url=database_url),
                    embedder=embedder)
    assert not engine.ingest_items(demo_articles(OTHERS)).failed
    site = start_site(engine)
    site.receiver = Receiver()
    yield site
    site.stop()
    site.receiver.shutdown()
    site.receiver.server_close()


def test_new_matches_join_the_stream_and_the_webhook_is_told(live):
    engine, receiver = live.engine, live.receiver
    account = new_reader(engine, "watcher")
    receiver.answers = [500, 503]  # two failures: delivered on the third attempt
    saved = engine.saved_searches.add(account, "Telescope", "new telescope sees first light",
                                      webhook_url=receiver.url)
    assert saved["matches"] == 0  # nothing stored is about it
    secret = saved["webhook_secret"]
    assert secret and "webhook_secret" not in engine.saved_searches.get(account, saved["id"])
    other = engine.saved_searches.add(account, "Rates", "central bank interest rate decision",
                                      mode="semantic")
    before_rates = engine.saved_searches.get(account, other["id"])["matches"]
    assert before_rates > 0  # stored articles that match count at once
    stored_before = {a.id for a in engine.latest(limit=1000)}
    result = engine.ingest_items(demo_articles(TELESCOPE))
    assert result.new and not result.failed
    arrived = {a.id for a in engine.latest(limit=1000)} - stored_before
    found = engine.saved_searches.get(account, saved["id"])
    query = StreamQuery(saved_search=saved["id"])
    telescope = {i.id for i in engine.store.stream_items(account.id, query)}
    assert telescope <= arrived  # only articles about it, and only new ones
    assert len(telescope) == found["matches"] >= len(arrived) // 2
    assert engine.saved_searches.get(account, other["id"])["matches"] == before_rates
    # the sync label
    http = httpx.Client(base_url=live.url, timeout=60)
    auth = httpx.post(live.url + "/accounts/ClientLogin",
                      data={"Email": "watcher", "Passwd": PASSWORD}).text.split("Auth=")[1].strip()
    http.headers["Authorization"] = f"GoogleLogin auth={auth}"
    tags = [t["id"] for t in http.get("/reader/api/0/tag/list").json()["tags"]]
    assert "user/-/label/Search: Telescope" in tags
    refs = http.get("/reader/api/0/stream/items/ids",
                    params={"s": "user/-/label/Search: Telescope", "n": 100}).json()["itemRefs"]
    assert {int(r["id"]) for r in refs} == telescope
    counts = {c["id"]: c["count"] for c in http.get("/reader/api/0/unread-count").json()[
        "unreadcounts"]}
    assert counts["user/-/label/Search: Telescope"] == len(telescope)
    # the private feed
    stream = f"search-{saved['id']}"
    token = engine.readers.api_passwords.stream_token(account, stream)
    feed = http.get(f"/feeds/u/watcher/{stream}.json", params={"token": token})
    assert feed.status_code == 200
    assert len(feed.json()["items"]) == len(telescope)
    assert http.get(f"/feeds/u/watcher/{stream}.json").status_code == 403
    http.close()
    # the webhook: retried, then delivered once, signed over the exact body
    assert engine.saved_searches.webhooks.wait(30)
    assert len(receiver.posts) == 3
    headers, body = receiver.posts[-1]
    signature = {k.lower(): v for k, v in headers.items()}["x-tidings-signature"]
    assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["search"]["name"] == "Telescope"
    assert {a["id"] for a in payload["articles"]} == telescope
    assert receiver.posts[0][1] == body  # a retry sends the same body


def test_filters_and_names(live):
    engine = live.engine
    account = new_reader(engine, "filterer")
    saved = engine.saved_searches.add(account, "Bridge in World", "bridge collapse",
                                      category="World")
    assert saved["matches"] == 0  # no feed has that category
    engine.saved_searches.add(account, "Bridge", "bridge collapse", mode="keyword")
    with pytest.raises(SearchError):
        engine.saved_searches.add(account, "bridge", "another query")  # names are per reader
    for bad in ({"name": "", "query": "q"}, {"name": "a/b", "query": "q"},
                {"name": "n", "query": ""}, {"name": "n", "query": "q", "mode": "fuzzy"},
                {"name": "n", "query": "q", "webhook_url": "file:///etc/passwd"}):
        with pytest.raises(SearchError):
            engine.saved_searches.add(account, **bad)
    assert engine.saved_searches.remove(account, saved["id"])
    assert [s["name"] for s in engine.saved_searches.list(account)] == ["Bridge"]


def test_webhook_to_a_private_address_is_refused_unless_allowed(live):
    receiver = Receiver()
    try:
        strict = make_settings(live.engine.data_dir.parent / "strict")
        hooks = Webhooks(lambda: make_fetcher(strict, max_retries=0), retries=3, backoff=0.01)
        search = {"id": 7, "name": "n", "query": "q", "webhook_url": receiver.url,
                  "webhook_secret": "s"}
        hooks.send(search, [], live.engine.store)
        assert hooks.wait(30)
        assert receiver.posts == []
        assert hooks.failed and "private address" in hooks.failed[0][1]
        gone = Webhooks(lambda: make_fetcher(live.engine.settings, max_retries=0), retries=2,
                        backoff=0.01)
        receiver.answers = [410]
        gone.send(search, [], live.engine.store)
        assert gone.wait(30)
        assert len(receiver.posts) == 1 and gone.failed == [(7, "HTTP 410")]  # not retried
    finally:
        receiver.shutdown()
        receiver.server_close()
