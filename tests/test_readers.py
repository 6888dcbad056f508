"""The readers room on a real SQLite database: password hashing, accounts and the first-run
setup link, sessions and CSRF tokens, rate limits, honest visit counts, comments and their
moderation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tidings.models import Article
from tidings.readers import AccountError, CommentError, RateLimited, RateLimiter, Readers
from tidings.readers.passwords import hash_password, verify_password
from tidings.readers.visits import VisitCounter, is_person
from tidings.store import SQLiteStore

from .conftest import make_settings

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


@pytest.fixture
def store(tmp_path):
    opened = SQLiteStore(tmp_path / "readers.db")
    yield opened
    opened.close()


def make_readers(store, tmp_path, **overrides) -> Readers:
    return Readers(store, make_settings(tmp_path, **overrides))


def stored_article(store, n: int = 1) -> int:
    with store.transaction() as tx:
        return store.insert_article(
            tx,
            Article(
                url=f"https://news.example/{n}",
                title=f"T{n}",
                text="x",
                content_hash=f"h{n}",
                published=datetime(2026, 11, 2, tzinfo=UTC),
            ),
            f"k{n}",
        )


def test_password_hashes_are_salted_scrypt_and_verify_only_the_password():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsf", first)
    assert not verify_password("correct horse", "plain-text-password")
    assert not verify_password("correct horse", "scrypt$1$1$1$!!$!!")  # garbage: False, no crash


def test_accounts_names_passwords_and_roles(store, tmp_path):
    readers = make_readers(store, tmp_path)
    ada = readers.accounts.add("ada", "long enough", admin=True)
    assert ada.is_admin and readers.accounts.add("bob", "also long", admin=False).role == "reader"
    for name, password, message in [
        ("ada", "another pass", "already exists"),
        ("ADA", "another pass", "already exists"),
        ("", "long enough", "account name"),
        ("<script>", "long enough", "account name"),
        ("x" * 65, "long enough", "account name"),
        ("carol", "short", "at least 8"),
        ("carol", "p" * 2000, "at most"),
    ]:
        with pytest.raises(AccountError, match=message):
            readers.accounts.add(name, password)
    stored = store.account_credentials("ada")[1]
    assert "long enough" not in stored  # never in clear
    assert readers.accounts.remove("bob") and [a.name for a in readers.accounts.list()] == ["ada"]


def test_sign_in_is_rate_limited_per_client(store, tmp_path):
    readers = make_readers(store, tmp_path, login_attempts=3)
    readers.accounts.add("ada", "right password")
    assert readers.accounts.authenticate("ada", "right password", "1.2.3.4").name == "ada"
    assert readers.accounts.authenticate("nobody", "right password", "1.2.3.4") is None
    for _ in range(2):
        assert readers.accounts.authenticate("ada", "wrong", "1.2.3.4") is None
    with pytest.raises(RateLimited) as limited:  # even the right password, from that client
        readers.accounts.authenticate("ada", "right password", "1.2.3.4")
    assert limited.value.retry_after > 0
    assert readers.accounts.authenticate("ada", "right password", "5.6.7.8").name == "ada"


def test_sign_in_is_rate_limited_per_account_name_across_clients(store, tmp_path):
    readers = make_readers(store, tmp_path, login_attempts=2)  # 8 per name
    readers.accounts.add("ada", "right password")
    for n in range(8):
        assert readers.accounts.authenticate("ada", "guess", f"10.0.0.{n}") is None
    with pytest.raises(RateLimited):
        readers.accounts.authenticate("ada", "right password", "10.0.1.1")


def test_rate_limiter_window_slides():
    now = [100.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0])
    limiter.hit("k")
    limiter.hit("k")
    with pytest.raises(RateLimited):
        limiter.hit("k")
    limiter.hit("other")
    now[0] += 60.5
    limiter.hit("k")  # the first two left the window


def test_setup_link_creates_one_admin_once(store, tmp_path):
    readers = make_readers(store, tmp_path)
    token = readers.accounts.setup_token()
    assert token and readers.accounts.setup_valid(token)
    assert token not in str(store.get_meta("setup_token_sha256"))
    assert not readers.accounts.setup_valid("guess")
    with pytest.raises(AccountError, match="not valid"):
        readers.accounts.complete_setup("guess", "root", "long enough")
    admin = readers.accounts.complete_setup(token, "root", "long enough")
    assert admin.is_admin
    with pytest.raises(AccountError, match="not valid"):
        readers.accounts.complete_setup(token, "root2", "long enough")
    assert readers.accounts.setup_token() is None  # an admin exists: no more links


def test_sessions_and_csrf_tokens(store, tmp_path):
    readers = make_readers(store, tmp_path, session_days=1.0)
    ada = readers.accounts.add("ada", "long enough")
    token, session = readers.sessions.start(ada)
    assert store.session(token) is None  # only the hash of the token is stored
    assert readers.sessions.resolve(token).account.name == "ada"
    assert readers.sessions.resolve("forged") is None and readers.sessions.resolve("") is None
    assert readers.sessions.csrf_valid(session.csrf, session, None)
    assert not readers.sessions.csrf_valid("other", session, None)
    visitor = readers.sessions.new_visitor_token()
    anon = readers.sessions.csrf_token(None, visitor)
    assert readers.sessions.csrf_valid(anon, None, visitor)
    assert not readers.sessions.csrf_valid(anon, None, readers.sessions.new_visitor_token())
    assert not readers.sessions.csrf_valid("", None, "")
    readers.sessions.end(token)
    assert readers.sessions.resolve(token) is None
    old, _ = readers.sessions.start(ada)
    with store.transaction() as tx:  # age it past its expiry
        tx.conn.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
    assert readers.sessions.resolve(old) is None


@pytest.mark.parametrize(
    ("agent", "headers", "person"),
    [
        (BROWSER, {}, True),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}, False),
        ("Mozilla/5.0 (compatible; bingbot/2.0)", {}, False),
        ("facebookexternalhit/1.1", {}, False),
        ("curl/8.5.0", {}, False),
        ("python-requests/2.32", {}, False),
        ("Mozilla/5.0 HeadlessChrome/131.0", {}, False),
        ("", {}, False),
        (BROWSER, {"sec-purpose": "prefetch;prerender"}, False),
        (BROWSER, {"purpose": "prefetch"}, False),
        (BROWSER, {"x-moz": "prefetch"}, False),
    ],
)
def test_crawlers_and_prefetches_are_not_people(agent, headers, person):
    assert is_person(agent, headers) is person


def test_repeat_views_within_the_window_count_once(store):
    article = stored_article(store)
    now = [datetime(2026, 11, 3, 10, 0, tzinfo=UTC).timestamp()]
    visits = VisitCounter(store, window_minutes=30, clock=lambda: now[0])
    assert visits.record(article, "1.2.3.4|agent")
    assert not visits.record(article, "1.2.3.4|agent")
    assert visits.record(article, "1.2.3.4|other agent")
    now[0] += 29 * 60
    assert not visits.record(article, "1.2.3.4|agent")
    now[0] += 2 * 60
    assert visits.record(article, "1.2.3.4|agent")  # 31 minutes after the counted view
    assert visits.counts([article]) == {article: (3, 3)}  # still buffered, already shown
    visits.flush()
    assert store.visit_counts([article], "2026-11-03T00") == {article: (3, 3)}
    now[0] += 86400  # the next day: "today" starts again, the total stays
    assert visits.counts([article]) == {article: (3, 0)}
    assert visits.record(article, "1.2.3.4|agent")
    assert visits.counts([article]) == {article: (4, 1)}
    assert visits.trending(5) == [(article, 1)]  # the last 24 hours only
    visits.close()


def test_no_address_is_stored(store, tmp_path):
    article = stored_article(store)
    visits = VisitCounter(store)
    visits.record(article, "203.0.113.77|" + BROWSER)
    visits.close()
    raw = (tmp_path / "readers.db").read_bytes()
    for suffix in ("-wal",):
        path = tmp_path / f"readers.db{suffix}"
        raw += path.read_bytes() if path.exists() else b""
    assert b"203.0.113.77" not in raw


def test_visits_are_exact_under_concurrency(store):
    article = stored_article(store)
    visits = VisitCounter(store, flush_seconds=0.01)  # many flushes while counting

    def client(n: int) -> None:
        for i in range(20):
            visits.record(article, f"client-{n}-{i}")
            visits.counts([article])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert visits.counts([article])[article][0] == 1000
    visits.close()
    assert store.visit_counts([article], "1970-01-01T00")[article] == (1000, 1000)


def test_reading_counts_never_waits_for_a_flush_and_stays_exact(store, monkeypatch):
    article = stored_article(store)
    visits = VisitCounter(store, flush_seconds=3600)
    visits.record(article, "a")
    visits.record(article, "b")
    written, release = threading.Event(), threading.Event()
    real = store.add_visits

    def slow(counts, tx=None):  # the batch is written; the commit waits
        real(counts, tx)
        written.set()
        release.wait(10)

    monkeypatch.setattr(store, "add_visits", slow)
    flusher = threading.Thread(target=visits.flush)
    flusher.start()
    assert written.wait(5)
    during: dict = {}
    reader = threading.Thread(target=lambda: during.update(visits.counts([article])))
    reader.start()
    reader.join(5)
    alive = reader.is_alive()
    release.set()
    flusher.join(5)
    assert not alive  # the read did not wait for the flush's commit
    assert during[article] == (2, 2)  # the batch in flight counted once
    visits.record(article, "c")
    assert visits.counts([article])[article] == (3, 3)  # committed batch: counted once
    visits.close()
    assert store.visit_counts([article], "1970-01-01T00")[article] == (3, 3)


def test_a_failed_flush_keeps_the_visits(store, monkeypatch):
    article = stored_article(store)
    visits = VisitCounter(store, flush_seconds=3600)
    visits.record(article, "a")

    def broken(counts, tx=None):
        raise OSError("disk full")

    monkeypatch.setattr(store, "add_visits", broken)
    with pytest.raises(OSError):
        visits.flush()
    monkeypatch.undo()
    visits.record(article, "b")
    visits.flush()
    assert store.visit_counts([article], "1970-01-01T00")[article][0] == 2


def test_new_commenters_are_held_until_one_comment_is_approved(store, tmp_path):
    readers = make_readers(store, tmp_path)
    article = stored_article(store)
    comments = readers.comments
    first = comments.post(article, "Hello", client="c1", commenter_token="visitor-1")
    assert first.status == "pending" and comments.for_article(article) == []
    assert comments.post(article, "Again", client="c1", commenter_token="visitor-1").status == (
        "pending"
    )
    assert [c.id for c in comments.queue()] == [first.comment_id, first.comment_id + 1]
    assert comments.approve(first.comment_id)
    later = comments.post(article, "Later", client="c1", commenter_token="visitor-1")
    assert later.status == "approved"
    other = comments.post(article, "Stranger", client="c2", commenter_token="visitor-2")
    assert other.status == "pending"
    reply = comments.post(
        article, "Reply", client="c1", commenter_token="visitor-1", parent_id=first.comment_id
    )
    tree = comments.for_article(article)
    assert [c.body for c in tree] == ["Hello", "Later"]
    assert [r.id for r in tree[0].replies] == [reply.comment_id]
    assert comments.counts([article]) == {article: 3}
    assert comments.reject(other.comment_id) and comments.delete(later.comment_id)
    assert comments.counts([article]) == {article: 2}


def test_comment_rules(store, tmp_path):
    readers = make_readers(store, tmp_path, comment_max_length=50, comment_rate_limit=3)
    article = stored_article(store)
    post = readers.comments.post
    with pytest.raises(CommentError, match="empty"):
        post(article, " \n\x00 ", client="a")
    with pytest.raises(CommentError, match="at most 50"):
        post(article, "x" * 51, client="a")
    with pytest.raises(CommentError, match="does not exist"):
        post(10**9, "hello", client="b")
    with pytest.raises(CommentError, match="does not exist"):
        post(article, "hello", client="b", parent_id=10**9)
    caught = post(article, "buy now", client="c", honeypot="http://spam.example")
    assert caught.comment_id is None and store.comments(article, ("pending",)) == []
    stored = post(article, "a\x00b\u202ec\r\nd", client="d", author="  Ada \x07 Lovelace ")
    comment = store.comment(stored.comment_id)
    assert (comment.body, comment.author) == ("abc\nd", "Ada Lovelace")
    for _ in range(2):
        post(article, "ok", client="e")
    post(article, "ok", client="e")
    with pytest.raises(RateLimited):
        post(article, "one too many", client="e")


def test_moderation_settings_and_signed_in_commenters(store, tmp_path):
    article = stored_article(store)
    off = make_readers(store, tmp_path, comment_anonymous=False)
    with pytest.raises(CommentError, match="sign in"):
        off.comments.post(article, "hi", client="a")
    reader = off.accounts.add("reader", "long enough")
    admin = off.accounts.add("admin", "long enough", admin=True)
    assert off.comments.post(article, "hi", client="a", account=reader).status == "pending"
    assert off.comments.post(article, "hi", client="b", account=admin).status == "approved"
    held = make_readers(store, tmp_path, comment_moderation="all")
    assert held.comments.post(article, "hi", client="c", account=admin).status == "pending"
    free = make_readers(store, tmp_path, comment_moderation="none")
    assert free.comments.post(article, "hi", client="d").status == "approved"
    with pytest.raises(ValueError, match="comment_moderation"):
        make_readers(store, tmp_path, comment_moderation="sometimes")


def test_marks_and_mark_story_read(store, tmp_path):
    readers = make_readers(store, tmp_path)
    ada = readers.accounts.add("ada", "long enough")
    with store.transaction() as tx:
        story = store.create_story(tx, "S", datetime(2026, 11, 2, tzinfo=UTC))
        ids = [
            store.insert_article(
                tx,
                Article(
                    url=f"https://s.example/{n}",
                    title="t",
                    text="x",
                    content_hash=f"s{n}",
                    story_id=story,
                    published=datetime(2026, 11, 2, tzinfo=UTC) + timedelta(hours=n),
                ),
                f"s{n}",
            )
            for n in range(3)
        ]
    assert readers.marks.mark_story_read(ada, story) == 3
    assert readers.marks.of(ada, ids) == {i: {"read"} for i in ids}
    assert readers.marks.of(None, ids) == {}
    readers.marks.set(ada, [ids[0]], "starred")
    assert [a.id for a in readers.marks.listed(ada, "starred")] == [ids[0]]
    with pytest.raises(ValueError):
        readers.marks.set(ada, ids, "deleted")


def test_sources_with_an_excerpt_policy_show_an_excerpt_only(store, tmp_path):
    from tidings.listing import Listing

    listing = Listing(store, search=None, excerpt_sources=" Paywall Times , Other ")
    assert listing.shows_excerpt_only(Article(url="u", source="paywall times"))
    assert not listing.shows_excerpt_only(Article(url="u", source="Open Daily"))
    assert not listing.shows_excerpt_only(Article(url="u", source=None))


def test_a_comment_on_a_copy_goes_to_its_original(store, tmp_path):
    readers = make_readers(store, tmp_path, comment_moderation="none")
    original = stored_article(store, 1)
    with store.transaction() as tx:
        copy = store.insert_article(
            tx, Article(url="https://copy.example/1", title="T1", text="x", content_hash="h1",
                        duplicate_of=original), "copy")
    readers.comments.post(copy, "On the copy", client="a")
    assert [c.body for c in readers.comments.for_article(original)] == ["On the copy"]


def test_related_lists_are_reused_only_while_the_index_is_unchanged(store, monkeypatch):
    from tidings import listing as listing_module
    from tidings.listing import Listing

    calls, size = [], [10]
    listing = Listing(store, search=None, related=lambda i, n: calls.append(i) or [i * 10],
                      index_size=lambda: size[0])
    assert listing.related(1) == [10] and listing.related(1) == [10] and calls == [1]
    size[0] = 11  # an article was added: related lists may have changed
    assert listing.related(1) == [10] and calls == [1, 1]
    monkeypatch.setattr(listing_module, "RELATED_SECONDS", 0.0)  # and they age out
    listing.related(1)
    assert calls == [1, 1, 1]
    monkeypatch.setattr(listing_module, "RELATED_CACHED", 2)
    monkeypatch.setattr(listing_module, "RELATED_SECONDS", 60.0)
    for i in (2, 3, 4):
        listing.related(i)
    assert len(listing._related_cache) == 2


def test_the_latest_list_is_read_again_after_any_process_writes(store, tmp_path):
    from tidings.listing import Listing

    listing = Listing(store, search=None)
    first = stored_article(store, 1)
    assert [a.id for a in listing.latest(5)] == [first]
    assert listing.latest(5) is listing.latest(5)  # no write since: the same list
    other = SQLiteStore(tmp_path / "readers.db")  # another process writing to the same database
    try:
        second = stored_article(other, 2)
    finally:
        other.close()
    assert [a.id for a in listing.latest(5)] == [second, first]


def test_a_repeat_view_that_reached_another_process_counts_once(store, tmp_path):
    # the workers of one `serve`: each its own counter and connection, one database
    article = stored_article(store)
    other = SQLiteStore(tmp_path / "readers.db")
    now = [1_800_000_000.0]
    first = VisitCounter(store, flush_seconds=3600, clock=lambda: now[0])
    second = VisitCounter(other, flush_seconds=3600, clock=lambda: now[0])
    try:
        assert first.record(article, "203.0.113.9|Firefox")
        now[0] += 60
        assert second.record(article, "203.0.113.9|Firefox")  # new to this process
        assert second.record(article, "198.51.100.4|Firefox")  # another visitor
        first.flush()
        second.flush()
        assert store.visit_counts([article], "1970-01-01T00")[article][0] == 2
        assert first.counts([article])[article][0] == 2 == second.counts([article])[article][0]
        now[0] += 31 * 60  # past the window: the same visitor counts again
        assert second.record(article, "203.0.113.9|Firefox")
        second.flush()
        assert store.visit_counts([article], "1970-01-01T00")[article][0] == 3
    finally:
        first.close()
        second.close()
        other.close()
