"""Saved searches: a reader keeps a hybrid (or keyword, or semantic) search with filters; each
newly ingested article that matches joins its stream (a sync label, a private feed), and an
optional webhook is told (POST JSON, HMAC-SHA256-signed body, retried with backoff, sent
through the safe fetcher)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..models import Account
from ..store import StreamQuery

log = logging.getLogger(__name__)
MODES = ("hybrid", "keyword", "semantic")
NAME = re.compile(r"^[^\x00-\x1f/]{1,80}$")
FIRST_MATCHES = 50  # matches found among stored articles when a search is saved
CATCH_UP_BATCH = 5000
SIGNATURE_HEADER = "X-Tidings-Signature"


class SearchError(ValueError):
    """A saved search cannot be made as asked; str(error) says why."""


class SavedSearches:
    """Saved searches over the store. `search(query, mode, limit)` is the engine's search;
    `embed_query(text)` a unit query vector (None without a model); `fetcher()` makes the
    safe HTTP client webhooks go through."""

    def __init__(self, store, search: Callable, embed_query: Callable, fetcher: Callable,
                 settings):
        self.store = store
        self._search = search
        self._embed_query = embed_query
        self.similarity = settings.saved_search_similarity
        self._lock = threading.Lock()
        self.webhooks = Webhooks(fetcher, settings.webhook_retries, settings.webhook_backoff)

    # -- the reader's searches ---------------------------------------------------------

    def add(self, account: Account, name: str, query: str, mode: str = "hybrid",
            category: str | None = None, feed_id: int | None = None,
            webhook_url: str | None = None) -> dict[str, Any]:
        """Save a search; its first matches are the best among stored articles. Returns it,
        with the webhook's signing secret (shown this once) when a webhook is given."""
        name, query = " ".join((name or "").split()), " ".join((query or "").split())
        if not NAME.match(name):
            raise SearchError("a saved search needs a name of 1-80 characters without '/'")
        if not query or len(query) > 500:
            raise SearchError("a saved search needs a query of 1-500 characters")
        if mode not in MODES:
            raise SearchError(f"mode must be one of {', '.join(MODES)}")
        if webhook_url and not webhook_url.startswith(("http://", "https://")):
            raise SearchError("a webhook URL must be http(s)")
        filters = {k: v for k, v in (("category", category), ("feed_id", feed_id)) if v}
        newest = self.store.stream_items(account.id, StreamQuery(limit=1))
        fields = {
            "name": name, "query": query, "mode": mode, "filters": filters,
            "webhook_url": webhook_url or None,
            "webhook_secret": secrets.token_hex(32) if webhook_url else None,
            "checked_id": newest[0].id if newest else 0,
        }
        search_id = self.store.add_saved_search(account.id, fields)
        if search_id is None:
            raise SearchError(f"you have a saved search named {name!r} already")
        # the best stored candidates, held to the same test new articles pass (a ranking
        # always has a first fifty; they need not match)
        hits = self._search(query, mode, FIRST_MATCHES)
        ids = self._filtered(account, fields, [h.article.id for h in hits])
        self.store.add_search_matches(search_id, self._score(fields, ids), fields["checked_id"])
        found = self.get(account, search_id)
        assert found is not None
        return {**found, "webhook_secret": fields["webhook_secret"]}

    def list(self, account: Account) -> list[dict[str, Any]]:
        return [_public(s) for s in self.store.saved_searches(account.id)]

    def get(self, account: Account, search_id: int) -> dict[str, Any] | None:
        return next((s for s in self.list(account) if s["id"] == search_id), None)

    def by_name(self, account: Account, name: str) -> dict[str, Any] | None:
        return next((s for s in self.list(account) if s["name"].lower() == name.lower()), None)

    def remove(self, account: Account, search_id: int) -> bool:
        return self.store.remove_saved_search(account.id, search_id)

    # -- matching new articles ---------------------------------------------------------

    def catch_up(self) -> int:
        """Match the articles stored since each search last looked; returns how many matches
        were added. Webhooks of searches with new matches are queued."""
        searches = self.store.saved_searches()
        if not searches:
            return 0
        added = 0
        with self._lock:  # two ingest batches finishing at once must not match twice
            for search in self.store.saved_searches():
                added += self._catch_up_one(search)
        return added

    def _catch_up_one(self, search: dict[str, Any]) -> int:
        account_id, checked = search["account_id"], search["checked_id"]
        added = 0
        while True:
            batch = self.store.stream_items(account_id, StreamQuery(
                after_id=checked, oldest_first=True, limit=CATCH_UP_BATCH))
            if not batch:
                return added
            ids = self._filtered(Account(account_id, "", "reader"), search, [i.id for i in batch])
            matches = self._score(search, ids)
            checked = batch[-1].id
            new = self.store.add_search_matches(search["id"], matches, checked)
            added += len(new)
            if new and search.get("webhook_url"):
                self.webhooks.send(search, new, self.store)
            if len(batch) < CATCH_UP_BATCH:
                return added

    def _filtered(self, account: Account, search: dict[str, Any], ids: list[int]) -> list[int]:
        if not ids:
            return []
        filters = search.get("filters") or {}
        query = StreamQuery(ids=ids, limit=len(ids))
        if filters.get("category"):
            query.categories = [filters["category"]]
        if filters.get("feed_id"):
            query.feed_ids = [int(filters["feed_id"])]
        kept = {i.id for i in self.store.stream_items(account.id, query)}
        return [i for i in ids if i in kept]

    def _score(self, search: dict[str, Any], ids: list[int]) -> list[tuple[int, float]]:
        if not ids:
            return []
        """(id, score) of the articles that match. Keyword: any keyword hit. Semantic: cosine
        similarity at least the threshold. Hybrid: that, or a keyword hit whose similarity
        reaches two thirds of it (a common word of the query alone does not make a match)."""
        mode, wanted = search["mode"], set(ids)
        keyword: dict[int, float] = {}
        if mode in ("keyword", "hybrid"):
            keyword = {i: float(score) for i, score in
                       self.store.keyword_search(search["query"], 1000) if i in wanted}
        if mode == "keyword":
            return sorted(keyword.items())
        vector = self._embed_query(search["query"])
        if vector is None:  # no model bound yet (nothing embedded): keyword hits only
            return sorted(keyword.items()) if mode == "hybrid" else []
        scores = {}
        for article_id, stored in self.store.embeddings(ids).items():
            similarity = float(np.dot(vector, stored))
            floor = self.similarity * (2 / 3 if article_id in keyword else 1)
            if similarity >= floor:
                scores[article_id] = similarity
        return sorted(scores.items())


def _public(search: dict[str, Any]) -> dict[str, Any]:
    out = dict(search)
    out.pop("webhook_secret", None)
    return out


class Webhooks:
    """Delivers new matches in a background thread: POST JSON signed with the search's secret
    (`X-Tidings-Signature: sha256=<hex HMAC of the body>`), retried on failure with a doubling
    backoff. Deliveries wait in memory: a restart drops the ones not yet sent."""

    def __init__(self, fetcher: Callable, retries: int, backoff: float):
        self._fetcher = fetcher
        self.retries = max(retries, 1)
        self.backoff = backoff
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered: list[tuple[int, int]] = []  # (search id, HTTP status), newest last
        self.failed: list[tuple[int, str]] = []

    def send(self, search: dict[str, Any], article_ids: list[int], store) -> None:
        articles = store.articles(article_ids, text=False)
        copies = store.copies(article_ids)
        payload = {
            "search": {"id": search["id"], "name": search["name"], "query": search["query"]},
            "articles": [
                {
                    "id": a.id, "url": a.url, "title": a.title, "source": a.source,
                    "published": a.published.isoformat() if a.published else None,
                    "also_published_by": [
                        {"source": c.source, "url": c.url} for c in copies.get(a.id, [])
                    ],
                }
                for a in (articles[i] for i in article_ids if i in articles)
            ],
        }
        body = json.dumps(payload, sort_keys=True).encode("utf-8")
        self._queue.put((search["id"], search["webhook_url"], search["webhook_secret"], body))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the queue is empty (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while True:
            try:
                search_id, url, secret, body = self._queue.get(timeout=5)
            except queue.Empty:
                return
            try:
                status, reason = self._deliver(url, secret, body)
                if status is not None:
                    self.delivered.append((search_id, status))
                else:
                    log.warning("webhook of saved search %s not delivered: %s", search_id,
                                reason)
                    self.failed.append((search_id, reason))
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, secret: str, body: bytes) -> tuple[int | None, str]:
        """(2xx status, "") once delivered, or (None, why not) after the last attempt."""
        from ..sources.http import FetchError

        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: f"sha256={signature}"}
        wait, reason = self.backoff, ""
        for attempt in range(self.retries):
            try:
                with self._fetcher() as fetcher:
                    status = fetcher.post(url, body, headers)
                if 200 <= status < 300:
                    return status, ""
                reason = f"HTTP {status}"
                if 400 <= status < 500 and status not in (408, 429):
                    return None, reason  # the receiver refuses it: retrying will not help
            except FetchError as exc:
                reason = str(exc)
                if "refused" in reason or "invalid URL" in reason:
                    return None, reason  # a private address or a bad URL stays so
            if attempt + 1 < self.retries:
                time.sleep(wait)
                wait *= 2
        return None, reason
