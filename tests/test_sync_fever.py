"""The Fever API against a live server: md5 api_key (any case), auth 0 with HTTP 200, groups
and feeds, item paging by since_id / max_id / with_ids, marks (saved set outright, before
clamped), the id lists clients sync from."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from tidings.engine import Engine

from .conftest import make_settings, start_site
from .sync_corpus import PASSWORD, build, new_reader


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request, tmp_path_factory, embedder):
    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_module_url")
    engine = Engine(make_settings(tmp_path_factory.mktemp("fever"), login_attempts=1000,
                                  database_url=database_url),
                    embedder=embedder)
    corpus = build(engine, originals=400)
    site = start_site(engine)
    site.corpus = corpus
    yield site
    site.stop()


def key(name: str, password: str = PASSWORD) -> str:
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()


def fever(live, name_or_key: str, query: str = "", path="/api/fever.php", **form):
    api_key = name_or_key if len(name_or_key) == 32 else key(name_or_key)
    r = httpx.post(f"{live.url}{path}?api{'&' + query if query else ''}",
                   data={"api_key": api_key, **form}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_auth(live):
    ok = fever(live, "ada")
    assert ok["auth"] == 1 and ok["api_version"] == 3
    assert isinstance(ok["last_refreshed_on_time"], int)
    assert fever(live, key("ada").upper())["auth"] == 1  # Mr. Reader, ReadKit
    assert fever(live, key("ada", "login password 1"))["auth"] == 0  # not the API password
    r = httpx.post(f"{live.url}/api/fever.php?api", data={})
    assert r.status_code == 200 and r.json() == {"api_version": 3, "auth": 0}
    assert fever(live, "ada", path="/fever/")["auth"] == 1


def test_groups_feeds_favicons_links(live):
    corpus = live.corpus
    body = fever(live, "ada", "groups&feeds&favicons&links")
    (group,) = body["groups"]
    assert group["title"] == "World" and isinstance(group["id"], int)
    assert body["feeds_groups"] == [{"group_id": group["id"], "feed_ids": str(corpus["feed_a"])}]
    feeds = {f["id"]: f for f in body["feeds"]}
    assert feeds[corpus["feed_a"]]["url"] == "https://a.example/feed.xml"
    assert feeds[corpus["feed_b"]]["site_url"] == "https://b.example/"
    assert body["favicons"][0]["data"].startswith("image/png;base64,")
    assert body["links"] == []


def test_items_paging(live):
    ids = live.corpus["ids"]
    seen, since = [], 0
    while True:
        body = fever(live, "ada", f"items&since_id={since}")
        page = [i["id"] for i in body["items"]]
        if not page:
            break
        assert len(page) <= 50 and page == sorted(page)
        seen += page
        since = page[-1]
    assert seen == ids  # insertion order, every original once, copies folded
    assert body["total_items"] == len(ids)
    newest = fever(live, "ada", f"items&max_id={ids[-1]}")["items"]
    assert [i["id"] for i in newest] == ids[-51:-1][::-1]
    picked = fever(live, "ada", f"items&with_ids={ids[3]},{ids[0]},junk")["items"]
    assert [i["id"] for i in picked] == [ids[3], ids[0]]
    first = picked[1]
    assert isinstance(first["feed_id"], int) and first["feed_id"] == live.corpus["feed_a"]
    assert first["is_read"] == 0 and first["is_saved"] == 0
    assert isinstance(first["created_on_time"], int)
    assert "Also published by" in first["html"]
    r = httpx.post(f"{live.url}/api/fever.php?api&items&since_id=abc",
                   data={"api_key": key("ada")})
    assert r.status_code == 400


def test_marks_and_id_lists(live):
    engine, corpus = live.engine, live.corpus
    account = new_reader(engine, "fev")
    ids = corpus["ids"]
    body = fever(live, "fev", mark="item", id=str(ids[0]), **{"as": "read"})
    assert str(ids[0]) not in body["unread_item_ids"].split(",")
    assert "read" in engine.readers.marks.of(account, [ids[0]])[ids[0]]  # as on the web site
    for _ in range(2):  # saved is set outright: twice is still saved
        body = fever(live, "fev", mark="item", id=str(ids[1]), **{"as": "saved"})
    assert body["saved_item_ids"] == str(ids[1])
    assert fever(live, "fev", "saved_item_ids")["saved_item_ids"] == str(ids[1])
    fever(live, "fev", mark="item", id=str(ids[1]), **{"as": "unsaved"})
    assert fever(live, "fev", "saved_item_ids")["saved_item_ids"] == ""
    # a feed read before a time in the past: nothing was crawled then
    yesterday = str(int(time.time()) - 86400)
    fever(live, "fev", mark="feed", id=str(corpus["feed_b"]), before=yesterday, **{"as": "read"})
    assert len(fever(live, "fev", "unread_item_ids")["unread_item_ids"].split(",")) == len(ids) - 1
    # ReadYou sends Long.MAX_VALUE: clamped to now
    body = fever(live, "fev", mark="feed", id=str(corpus["feed_b"]),
                 before="9223372036854775807", **{"as": "read"})
    unread = {int(i) for i in body["unread_item_ids"].split(",")}
    assert unread.isdisjoint(ids[:5]) and len(unread) == len(ids) - 5
    group = fever(live, "fev", "groups")["groups"][0]["id"]
    body = fever(live, "fev", mark="group", id=str(group), before=str(int(time.time()) + 5),
                 **{"as": "read"})
    assert body["unread_item_ids"] == ""
    fever(live, "fev", mark="item", id=str(ids[9]), **{"as": "unread"})
    assert fever(live, "fev", "unread_item_ids")["unread_item_ids"] == str(ids[9])
    fever(live, "fev", mark="group", id="0", **{"as": "read"})  # 0: everything
    assert fever(live, "fev", "unread_item_ids")["unread_item_ids"] == ""


def test_bad_marks_are_4xx(live):
    for form in ({"mark": "item", "as": "loved", "id": "1"}, {"mark": "item", "as": "read"},
                 {"mark": "planet", "as": "read", "id": "1"},
                 {"mark": "feed", "as": "unread", "id": "1"},
                 {"mark": "item", "as": "read", "id": "x"}):
        r = httpx.post(f"{live.url}/api/fever.php?api", data={"api_key": key("ada"), **form})
        assert r.status_code == 400, form
