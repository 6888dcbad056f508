"""The Fever API over the Engine, at /api/fever.php (as clients expect of FreshRSS) and
/fever/: groups are categories, feeds are subscriptions, items are originals with their copies
folded in, "saved" is starred. Reads come in the query string, writes and api_key in POST."""

from __future__ import annotations

import asyncio
import base64
import time
import zlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MultiDict

from ..models import Account
from ..store import StreamQuery
from ..streams import item_html, outlet_name, published

router = APIRouter(include_in_schema=False)
API_VERSION = 3
PAGE = 50
MAX_WITH_IDS = 50
# one transparent pixel: Tidings keeps no icon images, and clients want a favicon per feed
_PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)).decode()
_MAX_ID = 2**63 - 1


class BadParameter(ValueError):
    pass


def group_id(category: str) -> int:
    """A stable positive id for a category name (Fever wants integer group ids; 0 is "all")."""
    return (zlib.crc32(category.encode("utf-8")) & 0x3FFFFFFF) or 1


def _number(raw: str | None, name: str) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if raw.startswith("-") and raw[1:].isdigit() and len(raw) < 20:
        return int(raw)
    if not raw.isdigit():
        raise BadParameter(f"{name} must be a whole number")
    return min(int(raw[:19]) if len(raw) > 19 else int(raw), _MAX_ID)


def _ids(raw: str | None) -> list[int]:
    out = []
    for part in (raw or "").split(","):
        part = part.strip()
        if part.isdigit() and len(part) < 19 and int(part) > 0:
            out.append(int(part))
    return out


class Fever:
    """One authenticated Fever request."""

    def __init__(self, engine, account: Account, params: MultiDict):
        self.engine = engine
        self.account = account
        self.params = params
        self.streams = engine.streams

    def answer(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {"api_version": API_VERSION, "auth": 1}
        if p.get("mark"):
            out.update(self.mark())
        subs = self.engine.subscriptions.list()
        if "groups" in p:
            out["groups"] = [{"id": group_id(c), "title": c} for c in self._categories(subs)]
            out["feeds_groups"] = self._feeds_groups(subs)
        if "feeds" in p:
            out["feeds"] = [self._feed(s) for s in subs]
            out["feeds_groups"] = self._feeds_groups(subs)
        if "favicons" in p:
            out["favicons"] = [{"id": 1, "data": f"image/png;base64,{_PIXEL}"}]
        if "items" in p:
            out.update(self.items())
        if "unread_item_ids" in p:
            out["unread_item_ids"] = self._csv(StreamQuery(unmarked=("read",)))
        if "saved_item_ids" in p:
            out["saved_item_ids"] = self._csv(StreamQuery(marked=("starred",)))
        if "links" in p:
            out["links"] = []
        out["last_refreshed_on_time"] = self._last_refreshed()
        return out

    # -- reads -------------------------------------------------------------------------

    @staticmethod
    def _categories(subs) -> list[str]:
        return sorted({s["category"] for s in subs if s.get("category")})

    def _feeds_groups(self, subs) -> list[dict[str, Any]]:
        groups: dict[str, list[str]] = {}
        for s in subs:
            if s.get("category"):
                groups.setdefault(s["category"], []).append(str(s["id"]))
        return [{"group_id": group_id(c), "feed_ids": ",".join(ids)} for c, ids in
                sorted(groups.items())]

    @staticmethod
    def _feed(s: dict[str, Any]) -> dict[str, Any]:
        checked = s.get("checked_at")
        when = int(datetime.fromisoformat(checked).timestamp()) if checked else 0
        return {
            "id": int(s["id"]), "favicon_id": 1, "title": s.get("title") or s["url"],
            "url": s["url"], "site_url": s.get("site_url") or s["url"], "is_spark": 0,
            "last_updated_on_time": when,
        }

    def items(self) -> dict[str, Any]:
        p = self.params
        with_ids = p.get("with_ids")
        total = self.engine.store.stream_counts(self.account.id, StreamQuery()).get(0, (0,))[0]
        if with_ids is not None:
            ids = _ids(with_ids)[:MAX_WITH_IDS]
            items = self.streams.by_ids(self.account, ids)
        else:
            since, before = _number(p.get("since_id"), "since_id"), _number(p.get("max_id"),
                                                                              "max_id")
            if before is not None and since is None:  # newest first, below max_id
                query = StreamQuery(before_id=max(before, 0), limit=PAGE)
            else:  # insertion order from since_id (Reeder loops otherwise)
                query = StreamQuery(after_id=max(since or 0, 0), oldest_first=True, limit=PAGE)
            items = self.streams.items(self.account, self.streams.page(self.account, query))
        return {"items": [self._item(i) for i in items], "total_items": total}

    def _item(self, item) -> dict[str, Any]:
        a = item.article
        return {
            "id": a.id,
            "feed_id": item.feed_id or 0,
            "title": a.title or "",
            "author": a.author or outlet_name(a),
            "html": item_html(a, item.copies),
            "url": a.url,
            "is_saved": int("starred" in item.marks),
            "is_read": int("read" in item.marks),
            "created_on_time": int(published(item).timestamp()),
        }

    def _csv(self, query: StreamQuery) -> str:
        ids = self.streams.all_ids(self.account, query)
        return ",".join(str(i) for i in sorted(ids))

    def _last_refreshed(self) -> int:
        newest = self.engine.store.stream_counts(self.account.id, StreamQuery()).get(0)
        return int(newest[1].timestamp()) if newest else int(time.time())

    # -- writes ------------------------------------------------------------------------

    def mark(self) -> dict[str, Any]:
        p = self.params
        what, how = p.get("mark"), p.get("as")
        target = _number(p.get("id"), "id")
        if target is None:
            raise BadParameter("id is required with mark")
        marks = self.engine.readers.marks
        if what == "item":
            change = {"read": ("read", True), "unread": ("read", False),
                      "saved": ("starred", True), "unsaved": ("starred", False)}.get(how or "")
            if change is None:
                raise BadParameter("as must be read, unread, saved or unsaved")
            if target > 0:  # saved is set outright, never toggled
                marks.set(self.account, [target], change[0], change[1])
            key = "saved_item_ids" if change[0] == "starred" else "unread_item_ids"
            query = StreamQuery(marked=("starred",)) if key == "saved_item_ids" else (
                StreamQuery(unmarked=("read",)))
            return {key: self._csv(query)}
        if what in ("feed", "group"):
            if how != "read":
                raise BadParameter("a feed or group is only marked read")
            before = _number(p.get("before"), "before")
            now = int(time.time())
            before = now if before is None or before > now or before < 0 else before
            query = StreamQuery(unmarked=("read",),
                                crawled_before=datetime.fromtimestamp(before + 1, UTC))
            if what == "feed":
                query.feed_ids = [target]
            elif target > 0:
                names = [c for c in self._categories(self.engine.subscriptions.list())
                         if group_id(c) == target]
                query.categories = names
            elif target < 0:  # -1: sparks, which Tidings has none of
                query.ids = []
            ids = self.streams.all_ids(self.account, query)
            for start in range(0, len(ids), 1000):
                marks.set(self.account, ids[start : start + 1000], "read", True)
            return {"unread_item_ids": self._csv(StreamQuery(unmarked=("read",)))}
        raise BadParameter("mark must be item, feed or group")


async def fever(request: Request):
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        try:
            form = await request.form(max_fields=1000, max_files=0)
        except Exception:  # a malformed body is the client's mistake
            return JSONResponse({"api_version": API_VERSION, "auth": 0,
                                 "error": "unreadable form"}, 400)
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    params = MultiDict(items)
    engine = request.app.state.engine

    def work():
        account = engine.readers.api_passwords.account_for_fever_key(params.get("api_key"))
        if account is None:  # Fever answers a failed sign-in with HTTP 200
            return JSONResponse({"api_version": API_VERSION, "auth": 0})
        try:
            return JSONResponse(Fever(engine, account, params).answer())
        except BadParameter as exc:
            return JSONResponse({"api_version": API_VERSION, "auth": 1, "error": str(exc)}, 400)

    return await asyncio.to_thread(work)


for _path in ("/api/fever.php", "/fever/", "/fever"):
    router.add_api_route(_path, fever, methods=["GET", "POST"])
