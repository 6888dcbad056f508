"""The Google Reader API against a live server: the request sequences clients send, the item-id
forms, keyset continuation with state changes between pages, auth failures, bad parameters."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx
import pytest

from tidings.engine import Engine

from .conftest import make_settings, start_site
from .sync_corpus import PASSWORD, add_articles, build, new_reader

READING = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request, tmp_path_factory, embedder):
    """The sync corpus served on 127.0.0.1, from each backend in turn."""
    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_module_url")
    engine = Engine(make_settings(tmp_path_factory.mktemp("greader"), login_attempts=1000,
                                  database_url=database_url),
                    embedder=embedder)
    corpus = build(engine)
    site = start_site(engine)
    site.corpus = corpus
    site.clients = []
    yield site
    site.stop()


@pytest.fixture(autouse=True)
def _close_clients(live):
    yield
    while live.clients:
        live.clients.pop().close()


class Reader:
    """A client signed in as one account, as NetNewsWire's ReaderAPI caller does it."""

    def __init__(self, live, name: str, prefix: str = "/api/greader.php"):
        self.base = live.url + prefix
        self.http = httpx.Client(timeout=60)
        live.clients.append(self.http)
        r = self.http.post(self.base + "/accounts/ClientLogin",
                           data={"Email": name, "Passwd": PASSWORD})
        assert r.status_code == 200, r.text
        lines = dict(line.split("=", 1) for line in r.text.split())
        assert set(lines) == {"SID", "LSID", "Auth"}
        self.auth = {"Authorization": f"GoogleLogin auth={lines['Auth']}"}
        self.t = self.get("token").text.strip()

    def get(self, path: str, **params):
        return self.http.get(f"{self.base}/reader/api/0/{path}", params=params, headers=self.auth)

    def post(self, path: str, data, t: str | None = "mine"):
        if t == "mine":
            t = self.t
        if t is not None:
            data = [*(data.items() if isinstance(data, dict) else data), ("T", t)]
        pairs = list(data.items() if isinstance(data, dict) else data)
        return self.http.post(
            f"{self.base}/reader/api/0/{path}", content=urlencode(pairs),
            headers={**self.auth, "content-type": "application/x-www-form-urlencoded"},
        )

    def ids(self, **params) -> tuple[list[int], str | None]:
        r = self.get("stream/items/ids", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        return [int(ref["id"]) for ref in body["itemRefs"]], body.get("continuation")

    def all_ids(self, between=None, **params) -> list[int]:
        out, c = [], None
        while True:
            page, c = self.ids(**params, **({"c": c} if c else {}))
            out += page
            if between:
                between(page)
            if not c:
                return out


def test_client_login_get_post_json_and_failures(live):
    base = live.url
    ok = httpx.get(base + "/accounts/ClientLogin", params={"Email": "ada", "Passwd": PASSWORD})
    assert ok.status_code == 200 and "Auth=ada/" in ok.text and "LSID=" in ok.text
    as_json = httpx.post(base + "/accounts/ClientLogin",
                         data={"Email": "ada", "Passwd": PASSWORD, "output": "json"}).json()
    assert as_json["Auth"].startswith("ada/")
    wrong = httpx.post(base + "/accounts/ClientLogin",
                       data={"Email": "ada", "Passwd": "login password 1"})  # not the API one
    assert wrong.status_code == 401 and "Error=BadAuthentication" in wrong.text
    nobody = httpx.post(base + "/accounts/ClientLogin", data={"Email": "zed", "Passwd": "x"})
    assert nobody.status_code == 401


@pytest.mark.parametrize("prefix", ["", "/api/greader.php"])
def test_missing_or_wrong_auth_is_401_with_the_header(live, prefix):
    url = f"{live.url}{prefix}/reader/api/0/subscription/list"
    for headers in ({}, {"Authorization": "GoogleLogin auth=ada/00"},
                    {"Authorization": "Bearer x"}, {"Authorization": "GoogleLogin auth="}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith("GoogleLogin")


def test_netnewswire_sequence(live):
    """ClientLogin → token → user-info → tag/list → subscription/list → unread ids (xt=read)
    and starred ids → items/contents in chunks of 100 → edit-tag; state as the web site has it."""
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "nnw")
    client = Reader(live, "nnw")
    assert len(client.t) == 57
    assert client.get("user-info").json()["userName"] == "nnw"
    tags = [t["id"] for t in client.get("tag/list").json()["tags"]]
    assert STARRED in tags and "user/-/label/World" in tags
    subs = {s["id"]: s for s in client.get("subscription/list", output="json").json()[
        "subscriptions"]}
    a = subs[f"feed/{corpus['feed_a']}"]
    assert a["categories"] == [{"id": "user/-/label/World", "label": "World"}]
    assert a["url"] == "https://a.example/feed.xml" and a["htmlUrl"] == "https://a.example/"
    engine.readers.marks.set(account, corpus["ids"][:10], "read")  # read on the web site
    engine.readers.marks.set(account, corpus["ids"][10:12], "starred")
    unread = client.all_ids(s=READING, xt=READ, n=1000)
    assert len(unread) == len(corpus["ids"]) - 10 and len(set(unread)) == len(unread)
    assert set(unread).isdisjoint(corpus["ids"][:10])
    assert set(unread).isdisjoint(corpus["copies"])  # a copy is folded into its original
    starred, _ = client.ids(s=STARRED, n=1000)
    assert sorted(starred) == corpus["ids"][10:12]
    fetched = {}
    for start in range(0, 300, 100):  # NetNewsWire: unpadded hex in the long form
        chunk = unread[start : start + 100]
        r = client.post("stream/items/contents",
                        [("i", f"tag:google.com,2005:reader/item/{i:x}") for i in chunk])
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [int(it["id"].rsplit("/", 1)[1], 16) for it in items] == chunk
        fetched.update((int(it["id"].rsplit("/", 1)[1], 16), it) for it in items)
    item = fetched[unread[0]]
    assert item["id"] == f"tag:google.com,2005:reader/item/{unread[0]:016x}"
    for key in ("crawlTimeMsec", "timestampUsec"):
        assert item[key].isdigit()
    assert isinstance(item["published"], int)
    assert item["canonical"][0]["href"] == item["alternate"][0]["href"]
    assert item["summary"]["content"] == item["content"]["content"]
    assert "&lt;b&gt;not markup&lt;/b&gt;" in item["content"]["content"]
    assert item["origin"]["streamId"] == f"feed/{corpus['feed_a']}"
    assert "user/-/state/com.google/reading-list" in item["categories"]
    # edit-tag: NetNewsWire sends %.16llx here
    to_read = unread[:3]
    r = client.post("edit-tag", [*(("i", f"{i:016x}") for i in to_read), ("a", READ)])
    assert r.status_code == 200 and r.text == "OK"
    marks = engine.readers.marks.of(account, to_read)
    assert all("read" in marks[i] for i in to_read)
    r = client.post("edit-tag", [("i", str(to_read[0])), ("r", READ), ("a", STARRED)])
    assert r.status_code == 200
    assert engine.readers.marks.of(account, [to_read[0]])[to_read[0]] == {"starred"}


def test_item_id_forms(live):
    engine, ids = live.engine, live.corpus["ids"]
    account = new_reader(engine, "forms")
    client = Reader(live, "forms", prefix="")
    target = ids[1234]
    forms = {
        "long padded": f"tag:google.com,2005:reader/item/{target:016x}",
        "long unpadded": f"tag:google.com,2005:reader/item/{target:x}",
        "bare 16 hex": f"{target:016x}",
        "decimal": str(target),
    }
    for name, form in forms.items():
        r = client.post("stream/items/contents", {"i": form})
        assert [it["id"] for it in r.json()["items"]] == [forms["long padded"]], name
        for tag, on in ((READ, True), (READ, False)):
            r = client.post("edit-tag", {"i": form, ("a" if on else "r"): tag})
            assert r.status_code == 200
            assert ("read" in engine.readers.marks.of(account, [target])[target]) is on, name
    # ids the client cannot have: ignored, not a failure
    r = client.post("stream/items/contents", [("i", "zz"), ("i", "-5"), ("i", "9" * 30),
                                              ("i", str(live.corpus["copies"][0]))])
    assert r.status_code == 200 and r.json()["items"] == []


def test_continuation_with_state_changes_between_pages(live):
    """Unread ids in pages of 250 while the client marks each page read and new items arrive:
    every item unread at the start comes exactly once (an offset would skip pages)."""
    engine, ids = live.engine, live.corpus["ids"]
    account = new_reader(engine, "pager")
    client = Reader(live, "pager")
    expected = set(ids)
    arrived = []

    def between(page):
        engine.readers.marks.set(account, page, "read")
        arrived.extend(add_articles(engine, 2, 100_000 + len(arrived), live.corpus["feed_a"]))

    got = client.all_ids(s=READING, xt=READ, n=250, between=between)
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert got == sorted(got, reverse=True)
    # oldest first pages the other way
    engine.readers.marks.set(account, ids, "read", False)
    up = client.all_ids(s=f"feed/{live.corpus['feed_a']}", r="o", n=700)
    assert up == sorted(up) and set(ids) <= set(up)
    # contents pages continue the same way
    r = client.get(f"stream/contents/{READING}", n=50, xt=READ)
    body = r.json()
    assert len(body["items"]) == 50 and body["continuation"]
    nxt = client.get(f"stream/contents/{READING}", n=50, xt=READ, c=body["continuation"]).json()
    assert {i["id"] for i in body["items"]}.isdisjoint(i["id"] for i in nxt["items"])


def test_ot_nt_on_crawl_time(live):
    client = Reader(live, "ada")
    now = int(time.time())
    assert client.ids(ot=str(now + 3600), n=10)[0] == []
    assert len(client.ids(ot="0", n=10)[0]) == 10
    assert len(client.ids(ot=str((now - 3600) * 1_000_000), n=10)[0]) == 10  # microseconds
    assert client.ids(nt=str(now - 86400 * 365), n=10)[0] == []


def test_streams_labels_feeds_and_folded_copies(live):
    corpus = live.corpus
    client = Reader(live, "ada")
    b_items, _ = client.ids(s=f"feed/{corpus['feed_b']}", n=100)
    assert sorted(b_items) == corpus["ids"][:5]  # items whose copies came through feed B
    by_url, _ = client.ids(s="feed/https://b.example/rss", n=100)
    assert by_url == b_items
    world, _ = client.ids(s="user/1/label/World", n=5)  # a user id instead of "-"
    assert len(world) == 5
    r = client.get("stream/contents", s=f"feed/{corpus['feed_b']}", n=10, r="o")
    first = r.json()["items"][0]
    assert first["id"].endswith(f"{corpus['ids'][0]:016x}")
    html = first["content"]["content"]
    assert 'Also published by <a href="https://b.example/copy/0">Beta Daily</a>' in html
    assert client.ids(s="user/-/label/Nowhere", n=5)[0] == []


def test_unread_counts(live):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "counter")
    engine.readers.marks.set(account, corpus["ids"][:100], "read")
    client = Reader(live, "counter")
    counts = {c["id"]: c for c in client.get("unread-count").json()["unreadcounts"]}
    unread = client.all_ids(s=READING, xt=READ, n=10_000)
    assert counts[READING]["count"] == len(unread) >= len(corpus["ids"]) - 100
    assert f"feed/{corpus['feed_b']}" not in counts  # its five items are read
    assert counts["user/-/label/World"]["count"] == counts[f"feed/{corpus['feed_a']}"]["count"]
    assert counts[READING]["newestItemTimestampUsec"].isdigit()


def test_edit_tag_ignores_unknown_tags_and_checks_t(live):
    engine, ids = live.engine, live.corpus["ids"]
    account = new_reader(engine, "tagger")
    client = Reader(live, "tagger")
    item = ids[50]
    r = client.post("edit-tag", [("i", str(item)), ("a", "user/-/state/com.google/like"),
                                 ("a", "user/-/label/Whatever"), ("a", STARRED),
                                 ("r", "user/-/state/com.google/tracking-kept-unread")])
    assert r.status_code == 200
    assert engine.readers.marks.of(account, [item])[item] == {"starred"}
    bad = client.post("edit-tag", {"i": str(item), "a": READ}, t="not-the-token")
    assert bad.status_code == 401
    assert bad.headers["google-bad-token"] == "true"
    assert bad.headers["x-reader-google-bad-token"] == "true"
    missing = client.post("edit-tag", {"i": str(item), "a": READ}, t=None)
    assert missing.status_code == 401
    for tolerated in ("", "x", client.t + "\n"):  # FeedMe, Reeder, newsboat
        assert client.post("edit-tag", {"i": str(item), "a": READ}, t=tolerated).status_code == 200
    assert "read" in engine.readers.marks.of(account, [item])[item]
    assert client.get("edit-tag", i=str(item), a=READ).status_code == 405  # writes are POSTs


def test_mark_all_as_read_by_feed_and_time(live):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "sweeper")
    client = Reader(live, "sweeper")
    past = str(int(time.time()) - 86400)
    assert client.post("mark-all-as-read", {"s": f"feed/{corpus['feed_b']}",
                                             "ts": past}).status_code == 200
    assert client.ids(s=READ, n=10)[0] == []  # nothing was crawled before yesterday
    usec = str(int(time.time() + 5) * 1_000_000)
    assert client.post("mark-all-as-read", {"s": f"feed/{corpus['feed_b']}",
                                             "ts": usec}).status_code == 200
    read, _ = client.ids(s=READ, n=100)
    assert sorted(read) == corpus["ids"][:5]
    assert client.post("mark-all-as-read", {"s": READING}).status_code == 200
    unread, _ = client.ids(s=READING, xt=READ, n=10_000)
    crawled_later = [i for i in unread if i not in corpus["ids"]]  # added by other tests since
    assert len(unread) == len(crawled_later)
    assert engine.readers.marks.of(account, [corpus["ids"][7]])[corpus["ids"][7]] == {"read"}


def test_followed_story_is_a_label(live):
    engine, corpus = live.engine, live.corpus
    new_reader(engine, "follower")
    client = Reader(live, "follower")
    member = corpus["story_ids"][0]
    assert client.post("edit-tag", {"i": str(member), "a": "user/-/label/Story"}).status_code == 200
    labels = [t["id"] for t in client.get("tag/list").json()["tags"]]
    label = next(t for t in labels if t.startswith(f"user/-/label/Story {corpus['story']}"))
    assert label == f"user/-/label/Story {corpus['story']}: Ferry strike"
    found, _ = client.ids(s=label, n=100)
    assert sorted(found) == corpus["story_ids"]
    item = client.post("stream/items/contents", {"i": str(member)}).json()["items"][0]
    assert label in item["categories"]
    counts = {c["id"] for c in client.get("unread-count").json()["unreadcounts"]}
    assert label in counts
    assert client.post("disable-tag", {"s": label}).status_code == 200
    assert not any(t.startswith("user/-/label/Story") for t in
                   (t["id"] for t in client.get("tag/list").json()["tags"]))


def test_subscription_edits(live):
    engine, corpus = live.engine, live.corpus
    new_reader(engine, "plain")
    reader = Reader(live, "plain")
    feed = f"feed/{corpus['feed_b']}"
    assert reader.post("subscription/edit", {"ac": "edit", "s": feed, "t": "X"}).status_code == 403
    admin = Reader(live, "ada")
    r = admin.post("subscription/edit", {"ac": "edit", "s": feed, "t": "Beta",
                                         "a": "user/-/label/Local"})
    assert r.status_code == 200, r.text
    sub = engine.store.subscription(corpus["feed_b"])
    assert (sub["title"], sub["category"]) == ("Beta", "Local")
    assert admin.post("rename-tag", {"s": "user/-/label/Local",
                                     "dest": "user/-/label/Nearby"}).status_code == 200
    assert engine.store.subscription(corpus["feed_b"])["category"] == "Nearby"
    assert admin.post("disable-tag", {"s": "user/-/label/Nearby"}).status_code == 200
    assert engine.store.subscription(corpus["feed_b"])["category"] is None
    r = admin.post("subscription/quickadd", {"quickadd": "ftp://nowhere.example/"})
    assert r.status_code == 200 and r.json()["numResults"] == 0
    r = admin.post("subscription/edit", {"ac": "subscribe", "s": "feed/ftp://x"})
    assert r.status_code == 400
    extra, _ = engine.store.subscribe("https://c.example/feed", "C")
    assert admin.post("subscription/edit", {"ac": "unsubscribe",
                                            "s": "feed/https://c.example/feed"}).status_code == 200
    assert engine.store.subscription(extra) is None or not any(
        s["id"] == extra for s in engine.subscriptions.list())


@pytest.mark.parametrize(
    "path,params",
    [
        ("stream/items/ids", {"n": "abc"}),
        ("stream/items/ids", {"n": "0"}),
        ("stream/items/ids", {"n": "99999999"}),
        ("stream/items/ids", {"n": "9" * 40}),
        ("stream/items/ids", {"c": "not-a-continuation"}),
        ("stream/items/ids", {"ot": "-1"}),
        ("stream/items/ids", {"ot": "9" * 19}),
        ("stream/items/ids", {"s": "splice/whatever"}),
        ("stream/contents/bogus/stream", {}),
        ("stream/contents", {"n": "-3"}),
        ("no/such/endpoint", {}),
    ],
)
def test_bad_parameters_are_4xx_never_500(live, path, params):
    client = Reader(live, "ada")
    r = client.get(path, **params)
    assert 400 <= r.status_code < 500, (path, params, r.status_code, r.text)


def test_bad_writes_are_4xx(live):
    client = Reader(live, "ada")
    assert client.post("mark-all-as-read", {"s": READING, "ts": "yesterday"}).status_code == 400
    assert client.post("rename-tag", {"s": "user/-/label/World"}).status_code == 400
    assert client.post("subscription/edit", {"ac": "explode", "s": "feed/1"}).status_code == 400
    r = client.http.post(f"{client.base}/reader/api/0/edit-tag", headers={
        **client.auth, "content-type": "multipart/form-data; boundary=zz"}, content=b"garbage")
    assert 400 <= r.status_code < 500
    many = [("i", str(i)) for i in range(1, 1200)]
    assert client.post("stream/items/contents", many).status_code == 400


def test_trailing_and_double_slashes(live):
    client = Reader(live, "ada")
    r = client.http.get(f"{client.base}/reader/api/0//subscription/list/", headers=client.auth)
    assert r.status_code == 200 and "subscriptions" in r.json()
    r = client.http.get(f"{live.url}//reader/api/0/user-info", headers=client.auth)
    assert r.status_code == 200 and r.json()["userName"] == "ada"
    r = httpx.post(f"{live.url}//accounts/ClientLogin", data={"Email": "ada", "Passwd": PASSWORD})
    assert r.status_code == 200


def test_cli_sets_the_api_password_from_stdin(tmp_path, embedder):
    import os
    import subprocess
    import sys

    data = tmp_path / "data"

    def tidings(*args, stdin):
        return subprocess.run(
            [sys.executable, "-m", "tidings.cli", "--data-dir", str(data), *args], input=stdin,
            capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )

    assert tidings("users", "add", "cli", stdin="login password 1\n").returncode == 0
    done = tidings("users", "api-password", "cli", stdin="app password 1\nignored\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "API password set for cli"
    assert tidings("users", "api-password", "nobody", stdin="app password 1\n").returncode == 1
    short = tidings("users", "api-password", "cli", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    with Engine(make_settings(data), embedder=embedder) as engine:
        passwords = engine.readers.api_passwords
        assert passwords.login("cli", "app password 1", "test") is not None
        assert passwords.login("cli", "login password 1", "test") is None
