"""Reader-app sync: API passwords and Fever keys, the streams the sync APIs and feeds out page
through, subscription edits from reader apps, followed stories, saved searches and their
matches (as the SQLite store's sync module; lists are passed as arrays, `= ANY(%s)`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...models import Account
from ..base import StreamItem, StreamQuery
from .db import MAX_ID, bounded, now, utc, valid_ids

_MARKS = ("read", "starred", "saved")
_EDITABLE = frozenset({"title", "category"})
_MERGE_HOPS = 8  # as the stories module: a merge chain is kept flat; this bounds a loop
_SEARCH_COLUMNS = (
    "s.id, s.account_id, s.name, s.query, s.mode, s.filters, s.webhook_url, s.webhook_secret, "
    "s.checked_id, s.created_at"
)


def _account(row) -> Account:
    return Account(row[0], row[1], row[2], row[3])


def _clamp(value: int) -> int:
    return min(max(int(value), 0), MAX_ID)


def _stream_where(account_id: int, q: StreamQuery) -> tuple[str, list[Any]]:
    """The WHERE clause over `articles a` selecting a stream's items (keyset fields included)."""
    clauses = ["a.duplicate_of IS NULL"]
    params: list[Any] = []
    for mark, present in [(m, True) for m in q.marked] + [(m, False) for m in q.unmarked]:
        if mark not in _MARKS:
            raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(_MARKS)}")
        clauses.append(
            ("" if present else "NOT ")
            + "EXISTS (SELECT 1 FROM reader_marks m WHERE m.account_id = %s AND m.mark = %s "
            "AND m.article_id = a.id)"
        )
        params += [account_id, mark]
    in_feeds = (
        "a.id IN (SELECT coalesce(c.duplicate_of, c.id) FROM feed_entries e "
        "JOIN articles c ON c.id = e.article_id WHERE {})"
    )
    if q.feed_ids is not None:
        ids = valid_ids(q.feed_ids)
        clauses.append(in_feeds.format("e.source_id = ANY(%s)") if ids else "false")
        params += [ids] if ids else []
    if q.categories is not None:
        names = [str(c) for c in q.categories]
        clauses.append(
            in_feeds.format(
                "e.source_id IN (SELECT id FROM sources WHERE category = ANY(%s))"
            )
            if names
            else "false"
        )
        params += [names] if names else []
    if q.saved_search is not None:
        clauses.append(
            "a.id IN (SELECT article_id FROM saved_search_matches WHERE search_id = %s)"
        )
        params.append(_clamp(q.saved_search))
    for column, values in (("a.story_id", q.story_ids), ("a.id", q.ids)):
        if values is not None:
            ids = valid_ids(values)
            clauses.append(f"{column} = ANY(%s)" if ids else "false")
            params += [ids] if ids else []
    if q.crawled_from is not None:
        clauses.append("a.created_at >= %s")
        params.append(utc(q.crawled_from))
    if q.crawled_before is not None:
        clauses.append("a.created_at < %s")
        params.append(utc(q.crawled_before))
    if q.after_id is not None:
        clauses.append("a.id > %s")
        params.append(_clamp(q.after_id))
    if q.before_id is not None:
        clauses.append("a.id < %s")
        params.append(_clamp(q.before_id))
    return " AND ".join(clauses), params


class SyncQueries:
    _conn: Any
    _one: Any
    _one_confirmed: Any
    transaction: Any

    # -- API passwords -----------------------------------------------------------------

    def set_api_password(self, account_id: int, password_hash: str, fever_key: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO api_passwords (account_id, password_hash, fever_key, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (account_id) DO UPDATE SET "
                "password_hash = excluded.password_hash, fever_key = excluded.fever_key, "
                "created_at = excluded.created_at",
                (account_id, password_hash, fever_key.lower(), now()),
            )

    def api_credentials(self, name: str) -> tuple[Account, str] | None:
        row = self._one_confirmed(
            "SELECT a.id, a.name, a.role, a.created_at, p.password_hash FROM accounts a "
            "JOIN api_passwords p ON p.account_id = a.id WHERE lower(a.name) = lower(%s)",
            (name,),
        )
        return (_account(row), row[4]) if row else None

    def account_by_fever_key(self, fever_key: str) -> Account | None:
        row = self._one_confirmed(
            "SELECT a.id, a.name, a.role, a.created_at FROM accounts a "
            "JOIN api_passwords p ON p.account_id = a.id WHERE p.fever_key = %s",
            ((fever_key or "").strip().lower(),),
        )
        return _account(row) if row else None

    # -- streams -----------------------------------------------------------------------

    def stream_items(self, account_id: int, query: StreamQuery) -> list[StreamItem]:
        bounded(limit=query.limit)
        where, params = _stream_where(account_id, query)
        order = "ASC" if query.oldest_first else "DESC"
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT a.id, a.created_at FROM articles a WHERE {where} "
                f"ORDER BY a.id {order} LIMIT %s",
                [*params, query.limit],
            ).fetchall()
            feeds = self._item_feeds(conn, [row[0] for row in rows])
        return [
            StreamItem(row[0], row[1], tuple(feeds.get(row[0], ()))) for row in rows
        ]

    def _item_feeds(self, conn, ids: list[int]) -> dict[int, list[int]]:
        """Feeds per item: those of the original's own entries first, then its copies'."""
        if not ids:
            return {}
        found: dict[int, list[tuple[bool, int]]] = {}
        rows = conn.execute(
            "SELECT coalesce(c.duplicate_of, c.id), c.duplicate_of IS NOT NULL, e.source_id "
            "FROM articles c JOIN feed_entries e ON e.article_id = c.id "
            "WHERE c.id = ANY(%s) "
            "UNION ALL SELECT c.duplicate_of, true, e.source_id "
            "FROM articles c JOIN feed_entries e ON e.article_id = c.id "
            "WHERE c.duplicate_of = ANY(%s)",
            [ids, ids],
        ).fetchall()
        for item, is_copy, feed in rows:
            found.setdefault(item, []).append((bool(is_copy), feed))
        return {
            item: list(dict.fromkeys(feed for _, feed in sorted(pairs)))
            for item, pairs in found.items()
        }

    def stream_counts(
        self, account_id: int, query: StreamQuery
    ) -> dict[int, tuple[int, datetime]]:
        where, params = _stream_where(account_id, query)
        items = f"SELECT a.id, a.created_at FROM articles a WHERE {where}"
        out: dict[int, tuple[int, datetime]] = {}
        with self._conn() as conn:
            total = conn.execute(
                f"SELECT count(*), max(created_at) FROM ({items}) AS items", params
            ).fetchone()
            if not total[0]:
                return out
            out[0] = (total[0], total[1])
            rows = conn.execute(
                f"WITH items AS ({items}), links AS ("
                "SELECT i.id, i.created_at, e.source_id FROM items i "
                "JOIN feed_entries e ON e.article_id = i.id "
                "UNION SELECT i.id, i.created_at, e.source_id FROM items i "
                "JOIN articles c ON c.duplicate_of = i.id "
                "JOIN feed_entries e ON e.article_id = c.id"
                ") SELECT source_id, count(DISTINCT id), max(created_at) FROM links "
                "GROUP BY source_id",
                params,
            ).fetchall()
        for feed, count, newest in rows:
            out[feed] = (count, newest)
        return out

    # -- subscriptions edited from reader apps -----------------------------------------

    def edit_subscription(self, source_id: int, fields: dict[str, Any]) -> bool:
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise ValueError(f"cannot edit {', '.join(sorted(unknown))} of a subscription")
        if not valid_ids([source_id]):
            return False
        with self.transaction() as tx:
            row = tx.conn.execute(
                "SELECT 1 FROM sources WHERE id = %s AND subscribed", (source_id,)
            ).fetchone()
            if row is None:
                return False
            if fields:
                sets = ", ".join(f"{name} = %s" for name in fields)
                tx.conn.execute(
                    f"UPDATE sources SET {sets} WHERE id = %s", [*fields.values(), source_id]
                )
        return True

    # -- followed stories --------------------------------------------------------------

    def _live_story(self, conn, story_id: int) -> int | None:
        for _ in range(_MERGE_HOPS):
            row = conn.execute(
                "SELECT merged_into FROM stories WHERE id = %s", (story_id,)
            ).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return story_id
            story_id = row[0]
        return story_id

    def follow_story(self, account_id: int, story_id: int, on: bool) -> bool:
        if len(valid_ids([story_id, account_id])) < 2:
            return False
        with self.transaction() as tx:
            live = self._live_story(tx.conn, story_id)
            if live is None:
                return False
            if on:
                cursor = tx.conn.execute(
                    "INSERT INTO followed_stories (account_id, story_id, created_at) "
                    "SELECT id, %s, %s FROM accounts WHERE id = %s ON CONFLICT DO NOTHING",
                    (live, now(), account_id),
                )
            else:
                followed = [
                    row[0]
                    for row in tx.conn.execute(
                        "SELECT story_id FROM followed_stories WHERE account_id = %s",
                        (account_id,),
                    ).fetchall()
                    if self._live_story(tx.conn, row[0]) == live
                ]
                if not followed:
                    return False
                cursor = tx.conn.execute(
                    "DELETE FROM followed_stories WHERE account_id = %s "
                    "AND story_id = ANY(%s)",
                    (account_id, followed),
                )
            return cursor.rowcount > 0

    def followed_stories(self, account_id: int) -> list[int]:
        if not valid_ids([account_id]):
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT story_id FROM followed_stories WHERE account_id = %s", (account_id,)
            ).fetchall()
            live = {self._live_story(conn, row[0]) for row in rows}
        return sorted(i for i in live if i is not None)

    # -- saved searches ----------------------------------------------------------------

    def add_saved_search(self, account_id: int, fields: dict[str, Any]) -> int | None:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "INSERT INTO saved_searches (account_id, name, query, mode, filters, "
                "webhook_url, webhook_secret, checked_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (account_id, (lower(name))) DO NOTHING RETURNING id",
                (
                    account_id, fields["name"], fields["query"], fields["mode"],
                    json.dumps(fields.get("filters") or {}, sort_keys=True),
                    fields.get("webhook_url"), fields.get("webhook_secret"),
                    _clamp(fields.get("checked_id") or 0), now(),
                ),
            ).fetchone()
            return int(row[0]) if row else None

    def saved_searches(self, account_id: int | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE s.account_id = %s", [account_id]) if account_id is not None else (
            "", [])
        with self._conn() as conn:
            cursor = conn.execute(
                f"SELECT {_SEARCH_COLUMNS}, (SELECT count(*) FROM saved_search_matches m "
                f"WHERE m.search_id = s.id) AS matches FROM saved_searches s {where} "
                "ORDER BY s.id",
                params,
            )
            names = [c.name for c in cursor.description]
            rows = cursor.fetchall()
        out = []
        for row in rows:
            found = dict(zip(names, row, strict=True))
            found["filters"] = json.loads(found["filters"] or "{}")
            found["created"] = found.pop("created_at")
            out.append(found)
        return out

    def remove_saved_search(self, account_id: int, search_id: int) -> bool:
        if not valid_ids([search_id]):
            return False
        with self.transaction() as tx:
            return tx.conn.execute(
                "DELETE FROM saved_searches WHERE id = %s AND account_id = %s",
                (search_id, account_id),
            ).rowcount > 0

    def add_search_matches(
        self, search_id: int, matches: Sequence[tuple[int, float]], checked_id: int
    ) -> list[int]:
        added = []
        search_id = _clamp(search_id)
        with self.transaction() as tx:
            moment = now()
            for article_id, score in matches:
                if not valid_ids([article_id]):
                    continue
                row = tx.conn.execute(
                    "INSERT INTO saved_search_matches (search_id, article_id, score, "
                    "matched_at) SELECT %s, id, %s, %s FROM articles WHERE id = %s "
                    "AND EXISTS (SELECT 1 FROM saved_searches WHERE id = %s) "
                    "ON CONFLICT DO NOTHING RETURNING article_id",
                    (search_id, float(score), moment, int(article_id), search_id),
                ).fetchone()
                if row is not None:
                    added.append(int(article_id))
            tx.conn.execute(
                "UPDATE saved_searches SET checked_id = greatest(checked_id, %s) WHERE id = %s",
                (_clamp(checked_id), search_id),
            )
        return added
