"""The reader site over real HTTP (uvicorn on 127.0.0.1, real SQLite, real model): pages,
security headers, forms and their protections, readers' state, visit counts, comments."""

from __future__ import annotations

import html
import re
import threading

import httpx
import pytest

from .conftest import SITE_ADMIN, SITE_READER
from .feedserver import FeedServer, harbour_site
from .site_client import BROWSER_UA, SiteClient
from .site_corpus import XSS_TITLE

FERRY = "https://meridian-wire.example/northsea-ferry-grounding-01"


def client(site, **kwargs) -> SiteClient:
    return SiteClient(site.url, **kwargs)


def test_every_page_sends_the_security_headers(site):
    with client(site) as c:
        for path in ("/", "/search?q=ferry", "/article/1", "/sources", "/nowhere", "/api/stats"):
            headers = c.get(path).headers
            csp = headers["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-inline" not in csp, path
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert headers["x-frame-options"] == "DENY"
        htmx = c.get("/static/htmx.min.js")
        assert htmx.status_code == 200 and "javascript" in htmx.headers["content-type"]


def test_pages_render_and_bad_addresses_are_clear_errors(site):
    with client(site) as c:
        for path in ("/", "/story/1", "/search", "/search?q=bridge", "/sources", "/help",
                     "/login"):
            response = c.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
        assert c.get("/article/999999").status_code == 404
        assert c.get("/story/999999").status_code == 404
        assert c.get(f"/article/{2**64}").status_code == 400
        assert c.get("/article/abc").status_code == 400
        assert c.get("/search?q=x&from=yesterday").status_code == 400
        assert c.get("/search?q=x&mode=fuzzy").status_code == 400
        assert c.get("/setup?token=guess").status_code == 404
        assert "Not found" in c.get("/article/999999").text  # an HTML page, not JSON
        assert c.get("/api/articles/999999").json()["detail"]  # the API keeps JSON errors


def test_front_page_ranks_stories_with_their_lead_and_sources(site):
    with client(site) as c:
        page = c.get("/").text
    stories = re.findall(r'<li class="story">(.*?)</li>', page, re.S)
    assert len(stories) >= 5
    first = stories[0]
    assert re.search(r'href="/story/\d+"', first) and re.search(r'href="/article/\d+"', first)
    assert "Lead:" in first or "First reported by" in first
    assert re.search(r"\d+ sources", first) and "updated" in first
    assert 'id="latest"' in page and 'id="trending"' in page


def test_article_page_credits_the_source_and_folds_copies(site):
    ferry = site.article_id(FERRY)
    with client(site) as c:
        page = c.get(f"/article/{ferry}").text
        copy_id = next(a.id for a in site.engine.store.copies([ferry])[ferry])
        moved = c.get(f"/article/{copy_id}")
    assert f'class="button" href="{FERRY}"' in page  # the prominent link to the original
    assert "Read the original at Meridian Wire" in page
    assert re.search(r"\d+ visits? · \d+ today", page)
    assert "Also published by" in page
    related = page.split('id="related"')[1].split('id="more"')[0]
    copies = {a.id for a in site.engine.store.copies([ferry])[ferry]}
    linked = {int(i) for i in re.findall(r'href="/article/(\d+)"', related)}
    assert linked and not linked & (copies | {ferry})  # related never lists its copies
    naming = [h for h in site.engine.related(ferry, 20) if h.shared and h.article.id in linked]
    assert naming  # each says what it shares with the article, escaped as any text
    assert html.escape(f"also mentions {', '.join(naming[0].shared)}") in related
    more = page.split('id="more"')[1].split('id="comments-title"')[0]
    on_story = {int(i) for i in re.findall(r'href="/article/(\d+)"', more)}
    assert on_story and not linked & on_story  # the two lists never show one article twice
    assert moved.status_code == 301 and moved.headers["location"] == f"/article/{ferry}"


def test_story_page_has_a_timeline_copies_and_sources(site):
    ferry = site.engine.store.article(site.article_id(FERRY))
    with client(site) as c:
        page = c.get(f"/story/{ferry.story_id}").text
    assert '<svg viewBox="0 0 640 170" role="img"' in page
    assert page.count('class="bar-original"') >= 2 and 'class="bar-copy"' in page
    assert "Also published by" in page and "Sources that covered it" in page
    titles = re.findall(r'<a class="title" href="/article/\d+">', page)
    assert len(titles) == len(site.engine.store.story_articles(ferry.story_id))


def test_stored_markup_is_rendered_as_text(site):
    hostile = site.article_id("https://quarry.example/blasting")
    with client(site) as c:
        pages = [c.get(f"/article/{hostile}").text, c.get("/").text,
                 c.get("/search", params={"q": "Dunmere quarry blasting"}).text]
    for page in pages:
        assert "<script>window.__xss" not in page and "<img src=x" not in page
        assert "onerror=" not in page.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
        assert 'href="javascript:' not in page
    assert "&lt;img src=x onerror=" in pages[0] and "&lt;script&gt;window.__xss=3" in pages[0]
    assert XSS_TITLE not in pages[0]


def test_urls_that_are_not_http_never_become_links(site):
    store = site.engine.store
    bad = [a for a in store.latest(500) if not a.url.startswith(("http://", "https://"))]
    assert {a.url.split(":")[0] for a in bad} == {"javascript", "data"}  # stored as given
    with client(site) as c:
        for article in bad:
            page = c.get(f"/article/{article.id}").text
            assert 'href="javascript:' not in page and 'href="data:' not in page
            assert "is not a web link" in page
        assert 'href="javascript:' not in c.get("/").text


def test_forms_need_their_token_and_our_origin(site):
    with client(site) as c:
        c.get("/")
        assert c.post("/login", data={"name": "x", "password": "y"}).status_code == 403
        assert c.post("/login", data={"_csrf": "forged", "name": "x"}).status_code == 403
        token = c.csrf("/login")
        evil = c.post("/login", data={"_csrf": token, "name": "x", "password": "y"},
                      headers={"origin": "https://evil.example"})
        assert evil.status_code == 403
        assert c.post("/login", data={"_csrf": token, "name": "x", "password": "y"}
                      ).status_code == 401  # the token is fine; the password is not
    with client(site) as fresh:  # no visitor cookie yet: no token can be valid
        assert fresh.post("/article/1/comments", data={"_csrf": token, "body": "hi"}
                          ).status_code == 403


def test_nothing_that_writes_is_reachable_anonymously_except_a_comment(site):
    ferry = site.article_id(FERRY)
    with client(site) as c:
        token = c.csrf(f"/article/{ferry}")
        assert c.post(f"/article/{ferry}/mark", data={"_csrf": token, "mark": "starred",
                                                      "on": "1"}).status_code == 403
        assert c.post("/story/1/read", data={"_csrf": token}).status_code == 403
        assert c.get("/admin").status_code == 401
        for action, fields in [("/admin/feeds", {"url": "https://x.example/feed"}),
                               ("/admin/accounts", {"name": "mallory", "password": "x" * 10}),
                               ("/admin/comments/1", {"action": "approve"})]:
            assert c.post(action, data={"_csrf": token, **fields}).status_code == 401
        assert c.get("/saved", follow_redirects=False).status_code == 303
    with client(site) as reader:
        reader.sign_in(*SITE_READER)
        assert reader.get("/admin").status_code == 403
        assert reader.submit("/", "/admin/accounts", name="mallory", password="x" * 10
                             ).status_code == 403
    assert "mallory" not in [a.name for a in site.engine.readers.accounts.list()]


def test_session_cookie_flags_and_sign_out(site):
    with client(site) as c:
        response = c.sign_in(*SITE_READER)
        cookie = next(v for k, v in response.headers.multi_items()
                      if k == "set-cookie" and v.startswith("tidings_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert "Sign out" in c.get("/").text
        token = c.cookies["tidings_session"]
        c.submit("/", "/logout")
        assert "Sign out" not in c.get("/").text
    with client(site, cookies={"tidings_session": token}) as replay:
        assert "Sign out" not in replay.get("/").text  # the session is gone server-side
    with client(site, headers={"x-forwarded-proto": "https"}) as proxied:  # behind a TLS proxy
        cookies = [v for k, v in proxied.get("/").headers.multi_items() if k == "set-cookie"]
        assert cookies and all("Secure" in v and "HttpOnly" in v for v in cookies)


def test_wrong_passwords_do_not_sign_in(site):
    with client(site) as c:
        response = c.submit("/login", "/login", name=SITE_READER[0], password="wrong password")
        assert response.status_code == 401 and "do not match" in response.text
        assert "tidings_session" not in c.cookies


def test_read_starred_saved_and_mark_story_read(site):
    ferry = site.article_id(FERRY)
    story = site.engine.store.article(ferry).story_id
    with client(site) as c:
        c.sign_in(*SITE_READER)
        c.submit(f"/article/{ferry}", f"/article/{ferry}/mark", mark="starred", on="1")
        c.submit(f"/article/{ferry}", f"/article/{ferry}/mark", mark="saved", on="1")
        assert f'href="/article/{ferry}"' in c.get("/starred").text
        assert f'href="/article/{ferry}"' in c.get("/saved").text
        fragment = c.post(f"/article/{ferry}/mark", headers={"hx-request": "true"},
                          data={"_csrf": c.csrf(), "mark": "saved", "on": "0"})
        assert fragment.text.lstrip().startswith(f'<div class="marks" id="marks-{ferry}">')
        assert f'href="/article/{ferry}"' not in c.get("/saved").text
        c.submit(f"/story/{story}", f"/story/{story}/read", next=f"/story/{story}")
        page = c.get(f"/story/{story}").text
        assert page.count('class="item is-read"') == len(site.engine.store.story_articles(story))
        assert f'href="/article/{ferry}"' in c.get("/read").text
    with client(site) as anonymous:
        assert 'class="item is-read"' not in anonymous.get(f"/story/{story}").text


def test_visits_are_exact_with_50_concurrent_clients(site):
    article = site.article_id("https://meridian-wire.example/kessler-bridge-collapse-01")
    before = site.engine.readers.visits.counts([article])[article][0]
    errors = []

    def run(n: int) -> None:
        with httpx.Client(base_url=site.url, timeout=60) as c:
            for i in range(20):
                response = c.get(f"/article/{article}",
                                 headers={"user-agent": f"{BROWSER_UA} visitor-{n}-{i}"})
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    site.engine.readers.visits.flush()
    total, today = site.engine.readers.visits.counts([article])[article]
    assert total - before == 1000
    with client(site) as c:
        page = c.get(f"/article/{article}", headers={"user-agent": "Googlebot/2.1 (+bot)"}).text
    assert f"{total} visits · {today} today" in page  # the crawler was not counted


def test_repeat_views_and_prefetches_count_once(site):
    article = site.article_id("https://meridian-wire.example/estova-rate-decision-01")
    counts = site.engine.readers.visits.counts
    before = counts([article])[article]
    with client(site, headers={"user-agent": f"{BROWSER_UA} repeat-test"}) as c:
        for _ in range(3):
            c.get(f"/article/{article}")
        c.get(f"/article/{article}", headers={"sec-purpose": "prefetch",
                                              "user-agent": f"{BROWSER_UA} prefetcher"})
        head = c.head(f"/article/{article}", headers={"user-agent": f"{BROWSER_UA} head-check"})
        assert head.status_code == 200 and head.content == b""  # a HEAD is not a visit
    assert counts([article])[article] == (before[0] + 1, before[1] + 1)


def test_anonymous_comment_is_held_then_approved_by_an_admin(site):
    article = site.article_id("https://meridian-wire.example/varnholt-dock-strike-01")
    body = "Does the strike cover the night shift? <b>bold?</b> see https://port.example/faq."
    with client(site) as anon:
        posted = anon.submit(f"/article/{article}", f"/article/{article}/comments",
                             body=body, author="Dock <i>watcher</i>")
        assert posted.status_code == 303 and "posted=held" in posted.headers["location"]
        assert "night shift" not in anon.get(f"/article/{article}").text
    queued = [c for c in site.engine.readers.comments.queue() if c.body == body]
    assert len(queued) == 1
    with client(site) as admin:
        admin.sign_in(*SITE_ADMIN)
        assert "night shift" in admin.get("/admin").text
        assert admin.submit("/admin", f"/admin/comments/{queued[0].id}", action="approve"
                            ).status_code == 303
    with client(site) as anon:
        page = anon.get(f"/article/{article}").text
    assert "Does the strike cover the night shift? &lt;b&gt;bold?&lt;/b&gt;" in page
    assert '<a href="https://port.example/faq" rel="nofollow ugc noopener">' in page
    assert "Dock &lt;i&gt;watcher&lt;/i&gt;" in page
    assert site.engine.readers.comments.counts([article])[article] >= 1


def test_honeypot_and_oversized_comments_store_nothing(site):
    article = site.article_id("https://meridian-wire.example/varnholt-dock-strike-01")
    store = site.engine.store
    before = len(store.comments(article, ("approved", "pending", "rejected")))
    with client(site) as c:
        caught = c.submit(f"/article/{article}", f"/article/{article}/comments",
                          body="cheap watches", website="http://spam.example")
        assert caught.status_code == 303  # looks accepted to the bot
        too_long = c.submit(f"/article/{article}", f"/article/{article}/comments",
                            body="x" * 5000)
        assert too_long.status_code == 400
        assert c.post(f"/article/{article}/comments", content=b"a" * 100_000,
                      headers={"content-type": "application/x-www-form-urlencoded"}
                      ).status_code == 413
    assert len(store.comments(article, ("approved", "pending", "rejected"))) == before


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"q": "ferry aground", "source": "Meridian Wire"},
         lambda arts: arts and all(a.source == "Meridian Wire" for a in arts)),
        ({"q": "ferry aground", "from": "2026-11-15", "to": "2026-11-30"},
         lambda arts: arts and all(a.published.date().isoformat() >= "2026-11-15" for a in arts)),
    ],
)
def test_search_filters(site, params, check):
    with client(site) as c:
        page = c.get("/search", params=params).text
    ids = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', page)]
    articles = [site.engine.store.article(i) for i in ids]
    assert check(articles), params
    assert re.search(r"<h2 id=\"results\">\d+ results?", page)


def test_search_by_feed_category(site):
    store = site.engine.store
    with client(site) as c:
        found = c.get("/search", params={"q": "ferry"}).text
    ferry = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', found)]
    assert len(ferry) >= 3
    marine, _ = store.subscribe("https://marine.example/feed", "Marine", "Coast & Sea")
    store.record_entries(marine, [
        {"guid": f"m{i}", "url": store.article(i).url, "article_id": i} for i in ferry[:2]
    ])
    with client(site) as c:
        page = c.get("/search", params={"q": "ferry", "category": "coast & sea"}).text
        listed = c.get("/search").text
    ids = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', page)]
    assert sorted(ids) == sorted(ferry[:2])
    assert '<option value="Coast &amp; Sea"' in listed  # offered, escaped


def test_search_by_story_and_paging(site):
    ferry = site.engine.store.article(site.article_id(FERRY))
    with client(site) as c:
        page = c.get("/search", params={"q": "ferry", "story": ferry.story_id}).text
        ids = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', page)]
        assert ids and {site.engine.store.article(i).story_id for i in ids} == {ferry.story_id}
        first = c.get("/search", params={"q": "the", "mode": "keyword"}).text
        second = c.get("/search", params={"q": "the", "mode": "keyword", "page": 2}).text
    assert 'rel="next"' in first and 'rel="prev"' in second
    one = set(re.findall(r'<a class="title" href="/article/(\d+)"', first))
    two = set(re.findall(r'<a class="title" href="/article/(\d+)"', second))
    assert len(one) == 20 and two and not one & two


def test_admin_adds_feeds_imports_opml_and_manages_accounts(site):
    feeds = harbour_site(FeedServer())
    try:
        _admin_feeds_opml_accounts(site, feeds)
    finally:
        feeds.stop()
    assert "newreader" not in [a.name for a in site.engine.readers.accounts.list()]


def _admin_feeds_opml_accounts(site, feeds):
    opml = (b'<?xml version="1.0"?><opml version="2.0"><body>'
            b'<outline text="Quarry news" xmlUrl="https://quarry.example/feed.xml"/>'
            b'<outline text="Bad" xmlUrl="javascript:alert(1)"/></body></opml>')
    with client(site) as admin:
        admin.sign_in(*SITE_ADMIN)
        bad = admin.submit("/admin", "/admin/feeds", url="file:///etc/passwd")
        assert bad.status_code == 400 and "Feed not added" in bad.text
        # a site's address: its feed is found from the page and subscribed
        added = admin.submit("/admin", "/admin/feeds", url=feeds.base + "/", title="Harbour",
                             category="Local")
        assert added.status_code == 303 and "feed+added" in added.headers["location"]
        again = admin.submit("/admin", "/admin/feeds", url=feeds.url("/feed.xml"))
        assert "already+subscribed" in again.headers["location"]
        imported = admin.post("/admin/opml", data={"_csrf": admin.csrf("/admin")},
                              files={"opml": ("subs.opml", opml, "text/xml")})
        assert imported.status_code == 200 and "1 feeds imported" in imported.text
        sources = admin.get("/sources").text
        assert feeds.url("/feed.xml") in sources and "Harbour" in sources
        assert "Local" in sources and "Quarry news" in sources and "not fetched yet" in sources
        assert "javascript:alert" not in sources
        assert admin.submit("/admin", "/admin/accounts", name="newreader",
                            password="new reader pass", role="reader").status_code == 303
        assert "newreader" in admin.get("/admin").text
        assert admin.submit("/admin", "/admin/accounts/remove", name="newreader"
                            ).status_code == 303


def test_an_excerpt_only_source_shows_an_excerpt_and_the_link(site, monkeypatch):
    ferry = site.article_id(FERRY)
    full = site.engine.store.article(ferry).text
    monkeypatch.setattr(site.engine.listing, "excerpt_sources", {"meridian wire"})
    with client(site) as c:
        page = c.get(f"/article/{ferry}").text
    assert "read the full text at the source" in page and f'href="{FERRY}"' in page
    last_paragraph = full.split("\n\n")[-1][:80]
    assert last_paragraph not in page


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "/story/1"])
def test_sign_in_redirects_only_within_the_site(site, target):
    with client(site) as c:
        response = c.submit("/login", "/login", name=SITE_READER[0], password=SITE_READER[1],
                            next=target)
    assert response.status_code == 303
    assert response.headers["location"] == (target if target == "/story/1" else "/")


# -- a reader's own pages: account and API password, saved searches, followed stories --------


def _new_reader(site, name: str) -> tuple[str, str]:
    password = f"{name} sign-in pass"
    site.engine.readers.accounts.add(name, password)
    return name, password


def test_account_page_sets_the_api_password_reader_apps_sign_in_with(site):
    import hashlib

    name, password = _new_reader(site, "appreader")
    api_password = "app password <b>1</b>"
    with client(site) as anon:
        moved = anon.get("/account", follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"] == "/login?next=/account"
        assert anon.submit("/login", "/account/api-password", password=api_password,
                           password2=api_password, current=password).status_code == 403
    with client(site) as c:
        c.sign_in(name, password)
        assert 'href="/account"' in c.get("/").text  # linked from the header
        page = c.get("/account").text
        assert "<strong>appreader</strong> (reader)" in page and "no API password yet" in page
        assert f"<code>{site.url}/api/greader.php</code>" in page
        assert f"<code>{site.url}/api/fever.php</code>" in page
        assert "/feeds/u/" not in page  # no private feeds before an API password
        differ = c.submit("/account", "/account/api-password", password=api_password,
                          password2=api_password + "x", current=password)
        assert differ.status_code == 400 and "differ" in differ.text
        short = c.submit("/account", "/account/api-password", password="short",
                         password2="short", current=password)
        assert short.status_code == 400 and "at least 8" in short.text
        wrong = c.submit("/account", "/account/api-password", password=api_password,
                         password2=api_password, current="not my password")
        assert wrong.status_code == 401 and "not your sign-in password" in wrong.text
        assert site.engine.readers.api_passwords.account_named(name) is None
        done = c.submit("/account", "/account/api-password", password=api_password,
                        password2=api_password, current=password)
        assert done.status_code == 303 and done.headers["location"].startswith("/account?done=")
        page = c.get("/account").text
        assert "You have an API password" in page and api_password not in page
        assert "app password &lt;b&gt;1" not in page  # never shown, not even escaped
        feeds = re.findall(r"<code>(http://[^<]+/feeds/u/appreader/[a-z]+\.atom\?token=\w+)</code>",
                           page)
        assert len(feeds) == 3
    with httpx.Client(base_url=site.url, timeout=30) as app:
        login = app.post("/api/greader.php/accounts/ClientLogin",
                         data={"Email": name, "Passwd": api_password})
        assert login.status_code == 200 and "Auth=appreader/" in login.text
        assert app.post("/accounts/ClientLogin", data={"Email": name, "Passwd": password}
                        ).status_code == 401  # the sign-in password does not open the API
        key = hashlib.md5(f"{name}:{api_password}".encode()).hexdigest()
        assert app.post("/api/fever.php?api", data={"api_key": key}).json()["auth"] == 1
        unread = app.get(feeds[0].removeprefix(site.url))
        assert unread.status_code == 200 and "feed xmlns" in unread.text


def test_saved_searches_from_the_search_page(site, monkeypatch):
    name, password = _new_reader(site, "searcher")
    with client(site) as anon:
        assert 'action="/searches"' not in anon.get("/search", params={"q": "ferry"}).text
        assert anon.get("/searches", follow_redirects=False).status_code == 303
        assert anon.submit("/login", "/searches", name="x", q="ferry").status_code == 403
    with client(site) as c:
        c.sign_in(name, password)
        form = c.get("/search", params={"q": "ferry aground", "source": "Meridian Wire"}).text
        assert 'action="/searches"' in form and "not the source, story or dates" in form
        saved = c.submit("/search?q=ferry", "/searches", name="Ferry <b>watch",
                         q="ferry aground", mode="hybrid", category="")
        assert saved.status_code == 303, re.findall(r'role="alert">([^<]*)', saved.text)
        search_id = int(saved.headers["location"].rsplit("/", 1)[1])
        account = site.engine.readers.accounts.get(
            next(a.id for a in site.engine.readers.accounts.list() if a.name == name))
        kept = site.engine.saved_searches.get(account, search_id)
        assert kept["query"] == "ferry aground" and kept["matches"] >= 1
        listing = c.get("/searches").text
        assert "Ferry &lt;b&gt;watch" in listing and "<b>watch" not in listing
        assert f'<td class="matches">{kept["matches"]}</td>' in listing
        page = c.get(f"/searches/{search_id}").text
        shown = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', page)]
        assert len(shown) == kept["matches"] and shown == sorted(shown, reverse=True)
        assert f'id="marks-{shown[0]}"' in page  # the reader's marks on every match
        assert c.submit("/search", "/searches", name="Dock strike", q="dock strike",
                        mode="keyword", category="Dock & Port").status_code == 303
        dock = site.engine.saved_searches.by_name(account, "dock strike")
        assert dock["mode"] == "keyword" and dock["filters"] == {"category": "Dock & Port"}
        assert "keyword, category Dock &amp; Port" in c.get("/searches").text
        dup = c.submit("/search", "/searches", name="Ferry <b>watch", q="ferry")
        assert dup.status_code == 400 and "already" in dup.text
        monkeypatch.setattr("tidings.web.account.PAGE", 2)
        first = c.get(f"/searches/{search_id}").text
        older = re.search(rf'href="/searches/{search_id}\?before=(\d+)"', first)
        assert len(shown) > 2 and older
        second = c.get(f"/searches/{search_id}?before={older.group(1)}").text
        ids = [int(i) for i in re.findall(r'<a class="title" href="/article/(\d+)"', second)]
        assert ids == shown[2:4] and f'href="/searches/{search_id}">← Newest' in second
    with client(site) as other:
        other.sign_in(*SITE_READER)
        assert other.get(f"/searches/{search_id}").status_code == 404
        assert other.submit("/", f"/searches/{search_id}/remove").status_code == 404
        assert "Ferry &lt;b&gt;watch" not in other.get("/searches").text
    with client(site) as c:
        c.sign_in(name, password)
        for s in site.engine.saved_searches.list(account):
            assert c.submit("/searches", f"/searches/{s['id']}/remove").status_code == 303
        assert "no saved searches yet" in c.get("/searches").text
    assert site.engine.saved_searches.list(account) == []


def test_following_a_story_from_its_page_is_a_label_in_reader_apps(site):
    name, password = _new_reader(site, "follower")
    story = site.engine.store.article(site.article_id(FERRY)).story_id
    with client(site) as anon:
        assert "Follow story" not in anon.get(f"/story/{story}").text
        assert anon.submit("/login", f"/story/{story}/follow", on="1"
                           ).status_code == 403
    with client(site) as c:
        c.sign_in(name, password)
        assert "Follow story" in c.get(f"/story/{story}").text
        followed = c.submit(f"/story/{story}", f"/story/{story}/follow", on="1",
                            next=f"/story/{story}")
        assert followed.status_code == 303 and followed.headers["location"] == f"/story/{story}"
        page = c.get(f"/story/{story}").text
        assert "Following ✓" in page and f"“Story {story}" in page
        assert f'href="/story/{story}"' in c.get("/account").text.split('id="following"')[1]
        assert c.submit("/", "/story/999999/follow", on="1").status_code == 404
        api_password = "follower app pass"
        c.submit("/account", "/account/api-password", password=api_password,
                 password2=api_password, current=password)
        with httpx.Client(base_url=site.url + "/api/greader.php", timeout=30) as app:
            login = app.post("/accounts/ClientLogin", data={"Email": name, "Passwd": api_password})
            auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].strip()}
            tags = app.get("/reader/api/0/tag/list", params={"output": "json"},
                           headers=auth).json()["tags"]
            assert any(t["id"].startswith(f"user/-/label/Story {story}") for t in tags)
            stopped = c.submit("/account", f"/story/{story}/follow", on="0",
                               next="/account#following")
            assert stopped.headers["location"] == "/account#following"
            tags = app.get("/reader/api/0/tag/list", params={"output": "json"},
                           headers=auth).json()["tags"]
            assert not any(f"/label/Story {story}" in t["id"] for t in tags)
        assert "Follow story" in c.get(f"/story/{story}").text
