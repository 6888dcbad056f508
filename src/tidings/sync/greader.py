"""The Google Reader API as FreshRSS serves it, over the Engine: ClientLogin, tokens, tags,
subscriptions, unread counts, streams (keyset continuation), item ids in all four forms,
edit-tag and mark-all-as-read. Mounted at /reader/api/0/… and /api/greader.php/reader/api/0/…"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import MultiDict

from ..models import Account
from ..readers import RateLimited
from ..store import StreamQuery
from ..streams import (
    KEPT_UNREAD,
    LABEL,
    READ,
    READING_LIST,
    STARRED,
    STATE,
    Item,
    StreamError,
    canonical,
    item_html,
    outlet_name,
    published,
    story_label,
)

ITEM_TAG = "tag:google.com,2005:reader/item/"
PREFIXES = ("", "/api/greader.php")
MAX_IDS = 10_000  # one items/ids page
MAX_CONTENTS = 1_000  # one stream/contents or items/contents page
MAX_FIELDS = 20_000
_MAX_ID = 2**63 - 1
_BAD_TOKEN = {"Google-Bad-Token": "true", "X-Reader-Google-Bad-Token": "true"}

router = APIRouter(include_in_schema=False)


class BadRequest(Exception):
    """A parameter the client got wrong: answered 400 with the reason."""


class Refused(Exception):
    def __init__(self, response: Response):
        self.response = response


# -- item ids ----------------------------------------------------------------------------


def parse_item_id(value: str) -> int | None:
    """An item id in any form clients send: `tag:google.com,2005:reader/item/<hex>` (padded or
    not), bare 16-digit hex (Reeder), decimal (Liferea, items/ids). Ids stay below 10^15, so a
    16-character string is never decimal. None for anything else."""
    value = (value or "").strip()
    try:
        if value.startswith(ITEM_TAG):
            number = int(value[len(ITEM_TAG) :], 16)
        elif len(value) == 16:
            number = int(value, 16)
        elif value.isdigit():
            number = int(value)
        else:
            number = int(value, 16)
    except ValueError:
        return None
    return number if 0 < number <= _MAX_ID else None


def long_item_id(article_id: int) -> str:
    return f"{ITEM_TAG}{article_id:016x}"


# -- plumbing ----------------------------------------------------------------------------


async def _params(request: Request) -> MultiDict:
    """Query string and form body together (clients put the same fields in either)."""
    items = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        try:
            form = await request.form(max_fields=MAX_FIELDS, max_files=0)
        except Exception as exc:  # malformed bodies are the client's mistake
            raise BadRequest(f"unreadable form: {exc}") from None
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return MultiDict(items)


def unauthorized(message: str = "Unauthorized") -> Refused:
    return Refused(
        PlainTextResponse(
            message + "\n", 401, headers={"WWW-Authenticate": 'GoogleLogin realm="Tidings"'}
        )
    )


def auth_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "googlelogin":
        key, _, value = rest.strip().partition("=")
        if key.strip().lower() == "auth" and value.strip():
            return value.strip()
    return None


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _int(params: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or len(raw.strip()) > 19:
        raise BadRequest(f"{name} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _when(raw: str | None, name: str) -> datetime | None:
    """A time in seconds, milliseconds or microseconds since the epoch (by digit count)."""
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 19:
        raise BadRequest(f"{name} must be a time in seconds since 1970")
    value = int(raw)
    seconds = value / 1e6 if len(raw) >= 16 else value / 1e3 if len(raw) >= 13 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRequest(f"{name} is out of range") from None


def _usec(when: datetime) -> str:
    return str(int(when.timestamp() * 1_000_000))


# -- the protocol ------------------------------------------------------------------------


class Context:
    def __init__(self, request: Request, params: MultiDict, account: Account, token: str):
        self.request = request
        self.params = params
        self.account = account
        self.token = token
        self.engine = request.app.state.engine


Handler = Callable[[Context], Any]
_HANDLERS: dict[str, tuple[Handler, bool]] = {}  # path -> (handler, is a write)


def endpoint(path: str, write: bool = False):
    def register(fn: Handler) -> Handler:
        _HANDLERS[path] = (fn, write)
        return fn

    return register


def stream_query(ctx: Context, stream_id: str | None, n_max: int) -> StreamQuery:
    p = ctx.params
    streams = ctx.engine.streams
    try:
        query = streams.query(ctx.account, stream_id)
    except StreamError as exc:
        raise BadRequest(str(exc)) from None
    marked, unmarked = set(query.marked), set(query.unmarked)
    for value in p.getlist("xt"):
        state = canonical(value)
        if state == READ:
            unmarked.add("read")
        elif state == STARRED:
            unmarked.add("starred")
        elif state == KEPT_UNREAD:
            marked.add("read")
    for value in p.getlist("it"):
        state = canonical(value)
        if state == READ:
            marked.add("read")
        elif state == STARRED:
            marked.add("starred")
        elif state == KEPT_UNREAD:
            unmarked.add("read")
    query.marked, query.unmarked = tuple(sorted(marked)), tuple(sorted(unmarked))
    query.limit = _int(p, "n", 20, 1, n_max)
    query.crawled_from = _when(p.get("ot"), "ot")
    nt = _when(p.get("nt"), "nt")
    query.crawled_before = nt + timedelta(seconds=1) if nt else None
    query.oldest_first = p.get("r") == "o"
    continuation = (p.get("c") or "").strip()
    if continuation:
        if not continuation.isdigit() or len(continuation) > 19:
            raise BadRequest("c must be a continuation this server gave")
        if query.oldest_first:
            query.after_id = int(continuation)
        else:
            query.before_id = int(continuation)
    return query


def page(ctx: Context, query: StreamQuery):
    """One page and the continuation to the next (None when this is the last)."""
    wanted = query.limit
    query.limit = wanted + 1
    found = ctx.engine.streams.page(ctx.account, query)
    more = len(found) > wanted
    found = found[:wanted]
    return found, (str(found[-1].id) if more and found else None)


def _item_json(ctx: Context, item: Item, feeds: dict[int, dict]) -> dict[str, Any]:
    a = item.article
    html = item_html(a, item.copies)
    categories = [READING_LIST]
    categories.append(READ if "read" in item.marks else KEPT_UNREAD)
    if "starred" in item.marks:
        categories.append(STARRED)
    feed = feeds.get(item.feed_id or 0)
    if feed and feed.get("category"):
        categories.append(LABEL + feed["category"])
    if item.followed_story is not None:
        story = ctx.engine.store.story(item.followed_story)
        if story is not None:
            categories.append(LABEL + story_label(story.id, story.label))
    when = published(item)
    crawled = item.crawled if item.crawled.tzinfo else item.crawled.replace(tzinfo=UTC)
    out: dict[str, Any] = {
        "id": long_item_id(a.id),
        "crawlTimeMsec": str(int(crawled.timestamp() * 1000)),
        "timestampUsec": _usec(crawled),
        "published": int(when.timestamp()),
        "updated": int((a.modified or when).timestamp()),
        "title": a.title or "",
        "author": a.author or "",
        "canonical": [{"href": a.url}],
        "alternate": [{"href": a.url, "type": "text/html"}],
        "summary": {"direction": "ltr", "content": html},
        "content": {"direction": "ltr", "content": html},
        "categories": categories,
        "origin": {
            "streamId": f"feed/{item.feed_id}" if item.feed_id else f"feed/{a.url}",
            "title": (feed or {}).get("title") or outlet_name(a),
            "htmlUrl": (feed or {}).get("site_url") or (feed or {}).get("url") or a.url,
        },
        "enclosure": [],
    }
    if a.image and a.image.startswith(("http://", "https://")):
        out["enclosure"] = [{"href": a.image, "type": "image/jpeg"}]
    return out


def _items_response(ctx: Context, stream_id: str, items: list[Item], continuation=None):
    feeds = ctx.engine.streams.feeds()
    body: dict[str, Any] = {
        "direction": "ltr",
        "id": canonical(stream_id),
        "title": stream_id,
        "updated": int(time.time()),
        "items": [_item_json(ctx, item, feeds) for item in items],
    }
    if continuation:
        body["continuation"] = continuation
    return JSONResponse(body)


@endpoint("token")
def token(ctx: Context):
    return PlainTextResponse(ctx.engine.readers.api_passwords.write_token(ctx.token) + "\n")


@endpoint("user-info")
def user_info(ctx: Context):
    a = ctx.account
    return JSONResponse(
        {"userId": str(a.id), "userName": a.name, "userProfileId": str(a.id), "userEmail": ""}
    )


def _categories(ctx: Context) -> list[str]:
    return sorted({s["category"] for s in ctx.engine.subscriptions.list() if s.get("category")})


@endpoint("tag/list")
def tag_list(ctx: Context):
    tags: list[dict[str, Any]] = [{"id": STARRED}]
    tags += [{"id": LABEL + name, "type": "folder"} for name in _categories(ctx)]
    tags += [
        {"id": LABEL + label, "type": "tag"}
        for _, label in ctx.engine.streams.followed(ctx.account)
        + ctx.engine.streams.searches(ctx.account)
    ]
    return JSONResponse({"tags": tags})


def _subscription_json(s: dict[str, Any]) -> dict[str, Any]:
    category = s.get("category")
    return {
        "id": f"feed/{s['id']}",
        "title": s.get("title") or s["url"],
        "categories": [{"id": LABEL + category, "label": category}] if category else [],
        "url": s["url"],
        "htmlUrl": s.get("site_url") or s["url"],
        "iconUrl": s.get("icon_url") or "",
    }


@endpoint("subscription/list")
def subscription_list(ctx: Context):
    subs = ctx.engine.subscriptions.list()
    return JSONResponse({"subscriptions": [_subscription_json(s) for s in subs]})


@endpoint("unread-count")
def unread_count(ctx: Context):
    store, account = ctx.engine.store, ctx.account
    unread = StreamQuery(unmarked=("read",))
    counts = store.stream_counts(account.id, unread)
    rows = []

    def row(stream: str, count: int, newest: datetime) -> None:
        rows.append({"id": stream, "count": count, "newestItemTimestampUsec": _usec(newest)})

    for feed, (count, newest) in counts.items():
        if feed:
            row(f"feed/{feed}", count, newest)
    for name in _categories(ctx):
        total = store.stream_counts(
            account.id, StreamQuery(unmarked=("read",), categories=[name])
        ).get(0)
        if total:
            row(LABEL + name, *total)
    for story_id, label in ctx.engine.streams.followed(account):
        total = store.stream_counts(
            account.id, StreamQuery(unmarked=("read",), story_ids=[story_id])
        ).get(0)
        if total:
            row(LABEL + label, *total)
    for search_id, label in ctx.engine.streams.searches(account):
        total = store.stream_counts(
            account.id, StreamQuery(unmarked=("read",), saved_search=search_id)
        ).get(0)
        if total:
            row(LABEL + label, *total)
    if 0 in counts:
        row(READING_LIST, *counts[0])
    return JSONResponse({"max": counts.get(0, (0,))[0], "unreadcounts": rows})


@endpoint("stream/contents")
def stream_contents(ctx: Context, stream_id: str | None = None):
    stream_id = stream_id or ctx.params.get("s") or READING_LIST
    query = stream_query(ctx, stream_id, MAX_CONTENTS)
    found, continuation = page(ctx, query)
    items = ctx.engine.streams.items(ctx.account, found)
    return _items_response(ctx, stream_id, items, continuation)


@endpoint("stream/items/ids")
def stream_item_ids(ctx: Context):
    stream_id = ctx.params.get("s") or READING_LIST
    query = stream_query(ctx, stream_id, MAX_IDS)
    found, continuation = page(ctx, query)
    body: dict[str, Any] = {
        "itemRefs": [
            {"id": str(i.id), "directStreamIds": [], "timestampUsec": _usec(i.crawled)}
            for i in found
        ]
    }
    if continuation:
        body["continuation"] = continuation
    return JSONResponse(body)


def _item_ids(ctx: Context) -> list[int]:
    ids = [parse_item_id(v) for v in ctx.params.getlist("i")]
    return [i for i in ids if i is not None]


@endpoint("stream/items/contents")
def stream_item_contents(ctx: Context):
    ids = _item_ids(ctx)
    if len(ids) > MAX_CONTENTS:
        raise BadRequest(f"at most {MAX_CONTENTS} items at once")
    items = ctx.engine.streams.by_ids(ctx.account, ids)
    return _items_response(ctx, READING_LIST, items)


@endpoint("edit-tag", write=True)
def edit_tag(ctx: Context):
    ids = _item_ids(ctx)
    if not ids:
        return PlainTextResponse("OK")
    marks = ctx.engine.readers.marks
    for tags, on in ((ctx.params.getlist("a"), True), (ctx.params.getlist("r"), False)):
        for tag in tags:
            tag = canonical(tag)
            if tag == READ:
                marks.set(ctx.account, ids, "read", on)
            elif tag == STARRED:
                marks.set(ctx.account, ids, "starred", on)
            elif tag == KEPT_UNREAD:
                marks.set(ctx.account, ids, "read", not on)
            elif tag.startswith(LABEL + "Story"):
                _follow_items(ctx, ids, on)
            # any other tag (tracking states, labels on items, broadcast …) is ignored
    return PlainTextResponse("OK")


def _follow_items(ctx: Context, ids: list[int], on: bool) -> None:
    """A "Story…" label added to items follows their stories (removed: stops following)."""
    for story_id in ctx.engine.store.story_ids(ids):
        ctx.engine.readers.follows.follow(ctx.account, story_id, on)


@endpoint("mark-all-as-read", write=True)
def mark_all_as_read(ctx: Context):
    stream_id = ctx.params.get("s") or READING_LIST
    try:
        query = ctx.engine.streams.query(ctx.account, stream_id)
    except StreamError as exc:
        raise BadRequest(str(exc)) from None
    until = _when(ctx.params.get("ts"), "ts") or datetime.now(UTC)
    query.crawled_before = until + timedelta(seconds=1)
    query.unmarked = tuple(sorted({*query.unmarked, "read"}))
    ids = ctx.engine.streams.all_ids(ctx.account, query)
    for start in range(0, len(ids), 1000):
        ctx.engine.readers.marks.set(ctx.account, ids[start : start + 1000], "read", True)
    return PlainTextResponse("OK")


def _require_admin(ctx: Context) -> None:
    if not ctx.account.is_admin:
        raise Refused(
            PlainTextResponse("Forbidden: only an admin changes the feeds Tidings polls\n", 403)
        )


def _label_name(tag: str | None) -> str | None:
    tag = canonical(tag or "")
    if tag.startswith(LABEL):
        return tag[len(LABEL) :].strip() or None
    return tag.strip() or None if tag and "/" not in tag else None


def _feed_url(ctx: Context, stream: str) -> str:
    stream = canonical(stream)
    if not stream.startswith("feed/"):
        raise BadRequest(f"not a feed stream: {stream!r}")
    return stream[len("feed/") :]


@endpoint("subscription/edit", write=True)
def subscription_edit(ctx: Context):
    _require_admin(ctx)
    p = ctx.params
    action = p.get("ac") or "edit"
    streams = p.getlist("s")
    if not streams:
        raise BadRequest("s (a feed stream) is required")
    title = (p.get("t") or "").strip() or None
    add = _label_name(p.get("a"))
    remove = _label_name(p.get("r"))
    subs = ctx.engine.subscriptions
    for stream in streams:
        if action == "subscribe":
            try:
                subs.add(_feed_url(ctx, stream), category=add, title=title)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            continue
        feed_id = ctx.engine.streams.feed_id(stream)
        found = subs.get(feed_id) if feed_id else None
        if action == "unsubscribe":
            if found:
                subs.remove(found["id"])
        elif action == "edit":
            if found is None:
                raise BadRequest(f"no subscription {stream!r}")
            fields: dict[str, Any] = {}
            if title:
                fields["title"] = title
            if remove and found.get("category") == remove:
                fields["category"] = None
            if add:
                fields["category"] = add
            ctx.engine.store.edit_subscription(found["id"], fields)
        else:
            raise BadRequest("ac must be subscribe, unsubscribe or edit")
    return PlainTextResponse("OK")


@endpoint("subscription/quickadd", write=True)
def quickadd(ctx: Context):
    _require_admin(ctx)
    url = (ctx.params.get("quickadd") or "").strip()
    url = url.removeprefix("feed/")
    if not url:
        raise BadRequest("quickadd (a feed or site URL) is required")
    try:
        sub, _ = ctx.engine.subscriptions.add(url)
    except ValueError as exc:
        return JSONResponse({"numResults": 0, "query": url, "error": str(exc)})
    return JSONResponse(
        {"numResults": 1, "query": url, "streamId": f"feed/{sub['id']}",
         "streamName": sub.get("title") or sub["url"]}
    )


def _category_feeds(ctx: Context, name: str) -> list[dict[str, Any]]:
    return [s for s in ctx.engine.subscriptions.list() if s.get("category") == name]


@endpoint("rename-tag", write=True)
def rename_tag(ctx: Context):
    old, new = _label_name(ctx.params.get("s")), _label_name(ctx.params.get("dest"))
    if not old or not new:
        raise BadRequest("s and dest (labels) are required")
    if ctx.engine.streams.followed_label(ctx.account, old) is not None:
        return PlainTextResponse("OK")  # a story's label follows the story
    _require_admin(ctx)
    for sub in _category_feeds(ctx, old):
        ctx.engine.store.edit_subscription(sub["id"], {"category": new})
    return PlainTextResponse("OK")


@endpoint("disable-tag", write=True)
def disable_tag(ctx: Context):
    name = _label_name(ctx.params.get("s") or ctx.params.get("t"))
    if not name:
        raise BadRequest("s (a label) is required")
    story = ctx.engine.streams.followed_label(ctx.account, name)
    if story is not None:
        ctx.engine.readers.follows.follow(ctx.account, story, False)
        return PlainTextResponse("OK")
    _require_admin(ctx)
    for sub in _category_feeds(ctx, name):
        ctx.engine.store.edit_subscription(sub["id"], {"category": None})
    return PlainTextResponse("OK")


# -- routes ------------------------------------------------------------------------------


async def run(request: Request, work: Callable[[MultiDict], Awaitable[Response] | Response]):
    try:
        params = await _params(request)
        result = work(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result
    except Refused as refused:
        return refused.response
    except BadRequest as exc:
        return PlainTextResponse(f"Bad request: {exc}\n", 400)


async def client_login(request: Request):
    def login(params: MultiDict):
        accounts = request.app.state.engine.readers.api_passwords
        try:
            found = accounts.login(params.get("Email", ""), params.get("Passwd", ""),
                                   _client(request))
        except RateLimited as exc:
            return PlainTextResponse(
                "Error=BadAuthentication\n", 429,
                headers={"Retry-After": str(int(exc.retry_after) + 1)},
            )
        if found is None:
            return PlainTextResponse("Error=BadAuthentication\n", 401)
        _, auth = found
        if params.get("output") == "json":
            return JSONResponse({"SID": auth, "LSID": "null", "Auth": auth})
        return PlainTextResponse(f"SID={auth}\nLSID=null\nAuth={auth}\n")

    return await run(request, lambda params: asyncio.to_thread(login, params))


async def api(request: Request, path: str):
    path = "/".join(part for part in path.split("/") if part)  # trailing or double slashes
    stream_id = None
    if path.startswith("stream/contents/"):
        path, stream_id = "stream/contents", path[len("stream/contents/") :]
    found = _HANDLERS.get(path)
    if found is None:
        return PlainTextResponse(f"Not found: {path}\n", 404)
    handler, write = found

    def call(params: MultiDict):
        engine = request.app.state.engine
        token = auth_token(request)
        account = engine.readers.api_passwords.account_for_token(token)
        if account is None:
            raise unauthorized()
        if write and request.method != "POST":
            return PlainTextResponse("Method not allowed: writes are POSTs\n", 405)
        # the auth header already proves who writes (no cookies, so no cross-site forgery):
        # like FreshRSS, tolerate the placeholder T some clients send ('' FeedMe, 'x' Reeder)
        t = params.get("T")
        if write and (t is None or t.strip() not in ("", "x") and not (
            engine.readers.api_passwords.write_token_valid(token, t)
        )):
            return PlainTextResponse("Unauthorized: bad T token\n", 401, headers=_BAD_TOKEN)
        ctx = Context(request, params, account, token)
        try:
            return handler(ctx, stream_id) if stream_id is not None else handler(ctx)
        except StreamError as exc:
            raise BadRequest(str(exc)) from None

    return await run(request, lambda params: asyncio.to_thread(call, params))


for _prefix in PREFIXES:
    router.add_api_route(_prefix + "/accounts/ClientLogin", client_login, methods=["GET", "POST"])
    router.add_api_route(_prefix + "/reader/api/0/{path:path}", api, methods=["GET", "POST"])

__all__ = ["STATE", "long_item_id", "parse_item_id", "router"]
