"""Reader-app sync: API passwords and Fever keys, the streams the sync APIs and feeds out page
through, subscription edits from reader apps, followed stories, saved searches and their
matches."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...models import Account
from ..base import StreamItem, StreamQuery
from .db import MAX_ID, bounded, from_iso, marks, now_iso, to_iso, valid_ids

_MARKS = ("read", "starred", "saved")
_EDITABLE = frozenset({"title", "category"})
_MERGE_HOPS = 8  # as the stories module: a merge chain is kept flat; this bounds a loop
_CHUNK = 500


def _account(row: sqlite3.Row) -> Account:
    return Account(row["id"], row["name"], row["role"], from_iso(row["created_at"]))


def _stream_where(account_id: int, q: StreamQuery) -> tuple[str, list[Any]]:
    """The WHERE clause over `articles a` selecting a stream's items (keyset fields included)."""
    clauses = ["a.duplicate_of IS NULL"]
    params: list[Any] = []
    for mark, present in [(m, True) for m in q.marked] + [(m, False) for m in q.unmarked]:
        if mark not in _MARKS:
            raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(_MARKS)}")
        clauses.append(
            ("" if present else "NOT ")
            + "EXISTS (SELECT 1 FROM reader_marks m WHERE m.account_id = ? AND m.mark = ? "
            "AND m.article_id = a.id)"
        )
        params += [account_id, mark]
    in_feeds = (
        "a.id IN (SELECT coalesce(c.duplicate_of, c.id) FROM feed_entries e "
        "JOIN articles c ON c.id = e.article_id WHERE e.source_id IN ({}))"
    )
    if q.feed_ids is not None:
        ids = valid_ids(q.feed_ids)
        clauses.append(in_feeds.format(marks(ids)) if ids else "0")
        params += ids
    if q.categories is not None:
        names = [str(c) for c in q.categories]
        clauses.append(
            in_feeds.format(f"SELECT id FROM sources WHERE category IN ({marks(names)})")
            if names
            else "0"
        )
        params += names
    if q.saved_search is not None:
        clauses.append("a.id IN (SELECT article_id FROM saved_search_matches WHERE search_id = ?)")
        params.append(min(max(int(q.saved_search), 0), MAX_ID))
    for column, values in (("a.story_id", q.story_ids), ("a.id", q.ids)):
        if values is not None:
            ids = valid_ids(values)
            clauses.append(f"{column} IN ({marks(ids)})" if ids else "0")
            params += ids
    if q.crawled_from is not None:
        clauses.append("a.created_at >= ?")
        params.append(to_iso(q.crawled_from))
    if q.crawled_before is not None:
        clauses.append("a.created_at < ?")
        params.append(to_iso(q.crawled_before))
    if q.after_id is not None:
        clauses.append("a.id > ?")
        params.append(min(max(int(q.after_id), 0), MAX_ID))
    if q.before_id is not None:
        clauses.append("a.id < ?")
        params.append(min(max(int(q.before_id), 0), MAX_ID))
    return " AND ".join(clauses), params


class SyncQueries:
    reader: sqlite3.Connection
    transaction: Any

    # -- API passwords -----------------------------------------------------------------

    def set_api_password(self, account_id: int, password_hash: str, fever_key: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO api_passwords (account_id, password_hash, fever_key, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(account_id) DO UPDATE SET "
                "password_hash = excluded.password_hash, fever_key = excluded.fever_key, "
                "created_at = excluded.created_at",
                (account_id, password_hash, fever_key.lower(), now_iso()),
            )

    def api_credentials(self, name: str) -> tuple[Account, str] | None:
        row = self.reader.execute(
            "SELECT a.*, p.password_hash AS api_hash FROM accounts a "
            "JOIN api_passwords p ON p.account_id = a.id WHERE a.name = ?",
            (name,),
        ).fetchone()
        return (_account(row), row["api_hash"]) if row else None

    def account_by_fever_key(self, fever_key: str) -> Account | None:
        row = self.reader.execute(
            "SELECT a.* FROM accounts a JOIN api_passwords p ON p.account_id = a.id "
            "WHERE p.fever_key = ?",
            ((fever_key or "").strip().lower(),),
        ).fetchone()
        return _account(row) if row else None

    # -- streams -----------------------------------------------------------------------

    def stream_items(self, account_id: int, query: StreamQuery) -> list[StreamItem]:
        bounded(limit=query.limit)
        where, params = _stream_where(account_id, query)
        order = "ASC" if query.oldest_first else "DESC"
        rows = self.reader.execute(
            f"SELECT a.id, a.created_at FROM articles a WHERE {where} "
            f"ORDER BY a.id {order} LIMIT ?",
            [*params, query.limit],
        ).fetchall()
        feeds = self._item_feeds([row[0] for row in rows])
        return [
            StreamItem(row[0], from_iso(row[1]), tuple(feeds.get(row[0], ()))) for row in rows
        ]

    def _item_feeds(self, ids: list[int]) -> dict[int, list[int]]:
        """Feeds per item: those of the original's own entries first, then its copies'."""
        found: dict[int, list[tuple[bool, int]]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self.reader.execute(
                "SELECT coalesce(c.duplicate_of, c.id), c.duplicate_of IS NOT NULL, e.source_id "
                "FROM articles c JOIN feed_entries e ON e.article_id = c.id "
                f"WHERE c.id IN ({marks(chunk)}) OR c.duplicate_of IN ({marks(chunk)})",
                [*chunk, *chunk],
            )
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
        total = self.reader.execute(
            f"SELECT count(*), max(created_at) FROM ({items})", params
        ).fetchone()
        if not total[0]:
            return out
        out[0] = (total[0], from_iso(total[1]))
        rows = self.reader.execute(
            f"WITH items AS ({items}), links AS ("
            "SELECT i.id, i.created_at, e.source_id FROM items i "
            "JOIN feed_entries e ON e.article_id = i.id "
            "UNION SELECT i.id, i.created_at, e.source_id FROM items i "
            "JOIN articles c ON c.duplicate_of = i.id JOIN feed_entries e ON e.article_id = c.id"
            ") SELECT source_id, count(DISTINCT id), max(created_at) FROM links "
            "GROUP BY source_id",
            params,
        )
        for feed, count, newest in rows:
            out[feed] = (count, from_iso(newest))
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
                "SELECT 1 FROM sources WHERE id = ? AND subscribed = 1", (source_id,)
            ).fetchone()
            if row is None:
                return False
            if fields:
                sets = ", ".join(f"{name} = ?" for name in fields)
                tx.conn.execute(
                    f"UPDATE sources SET {sets} WHERE id = ?", [*fields.values(), source_id]
                )
        return True

    # -- followed stories --------------------------------------------------------------

    def _live_story(self, db: sqlite3.Connection, story_id: int) -> int | None:
        for _ in range(_MERGE_HOPS):
            row = db.execute("SELECT merged_into FROM stories WHERE id = ?", (story_id,)).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return story_id
            story_id = row[0]
        return story_id

    def follow_story(self, account_id: int, story_id: int, on: bool) -> bool:
        if not valid_ids([story_id, account_id]):
            return False
        with self.transaction() as tx:
            live = self._live_story(tx.conn, story_id)
            if live is None:
                return False
            if on:
                cursor = tx.conn.execute(
                    "INSERT OR IGNORE INTO followed_stories (account_id, story_id, created_at) "
                    "SELECT id, ?, ? FROM accounts WHERE id = ?",
                    (live, now_iso(), account_id),
                )
            else:
                followed = [
                    row[0]
                    for row in tx.conn.execute(
                        "SELECT story_id FROM followed_stories WHERE account_id = ?",
                        (account_id,),
                    )
                    if self._live_story(tx.conn, row[0]) == live
                ]
                cursor = tx.conn.execute(
                    f"DELETE FROM followed_stories WHERE account_id = ? "
                    f"AND story_id IN ({marks(followed)})",
                    [account_id, *followed],
                )
            return cursor.rowcount > 0

    def followed_stories(self, account_id: int) -> list[int]:
        rows = self.reader.execute(
            "SELECT story_id FROM followed_stories WHERE account_id = ?", (account_id,)
        ).fetchall()
        live = {self._live_story(self.reader, row[0]) for row in rows}
        return sorted(i for i in live if i is not None)

    # -- saved searches ----------------------------------------------------------------

    def add_saved_search(self, account_id: int, fields: dict[str, Any]) -> int | None:
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO saved_searches (account_id, name, query, mode, filters, "
                "webhook_url, webhook_secret, checked_id, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(account_id, name) DO NOTHING",
                (
                    account_id, fields["name"], fields["query"], fields["mode"],
                    json.dumps(fields.get("filters") or {}, sort_keys=True),
                    fields.get("webhook_url"), fields.get("webhook_secret"),
                    int(fields.get("checked_id") or 0), now_iso(),
                ),
            )
            return int(cursor.lastrowid) if cursor.rowcount else None

    def saved_searches(self, account_id: int | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE s.account_id = ?", [account_id]) if account_id is not None else (
            "", [])
        rows = self.reader.execute(
            "SELECT s.*, (SELECT count(*) FROM saved_search_matches m WHERE m.search_id = s.id) "
            f"AS matches FROM saved_searches s {where} ORDER BY s.id",
            params,
        )
        out = []
        for row in rows:
            found = dict(row)
            found["filters"] = json.loads(found["filters"] or "{}")
            found["created"] = from_iso(found.pop("created_at"))
            out.append(found)
        return out

    def remove_saved_search(self, account_id: int, search_id: int) -> bool:
        if not valid_ids([search_id]):
            return False
        with self.transaction() as tx:
            return tx.conn.execute(
                "DELETE FROM saved_searches WHERE id = ? AND account_id = ?",
                (search_id, account_id),
            ).rowcount > 0

    def add_search_matches(
        self, search_id: int, matches: Sequence[tuple[int, float]], checked_id: int
    ) -> list[int]:
        added = []
        with self.transaction() as tx:
            for article_id, score in matches:
                if not valid_ids([article_id]):
                    continue
                cursor = tx.conn.execute(
                    "INSERT OR IGNORE INTO saved_search_matches (search_id, article_id, score, "
                    "matched_at) SELECT ?, id, ?, ? FROM articles WHERE id = ? "
                    "AND EXISTS (SELECT 1 FROM saved_searches WHERE id = ?)",
                    (search_id, float(score), now_iso(), article_id, search_id),
                )
                if cursor.rowcount:
                    added.append(int(article_id))
            tx.conn.execute(
                "UPDATE saved_searches SET checked_id = max(checked_id, ?) WHERE id = ?",
                (min(max(int(checked_id), 0), MAX_ID), search_id),
            )
        return added
