"""Sources: the feeds and sites articles came through, subscriptions and the poller's
per-feed state, and feed entries (which entry of which feed became which article). Times
here are ISO text, as the SQLite store keeps them (the poller compares and shows them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .db import now, rows_as_dicts, utc, valid_ids

POLL_FIELDS = frozenset(
    {
        "url", "title", "site_url", "icon_url", "etag", "last_modified", "checked_at",
        "next_check", "check_interval", "last_status", "error_count", "last_error",
        "failing_since", "enabled",
    }
)
_SUBSCRIPTION_COLUMNS = (
    "s.id, s.url, s.title, s.kind, s.site_url, s.icon_url, s.category, s.enabled, "
    "s.etag, s.last_modified, s.checked_at, s.next_check, s.check_interval, s.last_status, "
    "s.error_count, s.last_error, s.failing_since, s.created_at"
)


def iso(value: datetime | None) -> str | None:
    value = utc(value)
    return None if value is None else value.isoformat(timespec="seconds")


def _now_text() -> str:
    return iso(now())


class SourceQueries:
    _conn: Any
    _one: Any
    transaction: Any

    def upsert_source(self, url: str, title: str, kind: str, site_url: str | None = None) -> int:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "INSERT INTO sources (url, title, kind, site_url, created_at) "
                "VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (url) DO UPDATE SET title = excluded.title, "
                "site_url = coalesce(excluded.site_url, sources.site_url) RETURNING id",
                (url, title, kind, site_url, _now_text()),
            ).fetchone()
        return int(row[0])

    def record_source_check(
        self, url: str, etag: str | None, last_modified: str | None, error: str | None
    ) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE sources SET etag = coalesce(%s, etag), "
                "last_modified = coalesce(%s, last_modified), checked_at = %s, last_error = %s "
                "WHERE url = %s",
                (etag, last_modified, _now_text(), error, url),
            )

    def source(self, url: str) -> dict[str, Any] | None:
        with self._conn() as conn:
            rows = rows_as_dicts(conn.execute("SELECT * FROM sources WHERE url = %s", (url,)))
        return _as_stored(rows[0]) if rows else None

    def sources(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = rows_as_dicts(
                conn.execute('SELECT * FROM sources ORDER BY title COLLATE "C", url COLLATE "C"')
            )
        return [_as_stored(row) for row in rows]

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(
        self,
        url: str,
        title: str = "",
        category: str | None = None,
        site_url: str | None = None,
    ) -> tuple[int, bool]:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "SELECT id, subscribed FROM sources WHERE url = %s", (url,)
            ).fetchone()
            if row is not None and row[1]:
                return int(row[0]), False
            if row is None:
                new = tx.conn.execute(
                    "INSERT INTO sources (url, title, kind, site_url, category, subscribed, "
                    "created_at) VALUES (%s, %s, 'feed', %s, %s, true, %s) RETURNING id",
                    (url, title, site_url, category, _now_text()),
                ).fetchone()
                return int(new[0]), True
            tx.conn.execute(
                "UPDATE sources SET subscribed = true, enabled = true, next_check = NULL, "
                "title = CASE WHEN %s != '' THEN %s ELSE title END, "
                "category = coalesce(%s, category), site_url = coalesce(%s, site_url) "
                "WHERE id = %s",
                (title, title, category, site_url, row[0]),
            )
            return int(row[0]), True

    def unsubscribe(self, source_id: int) -> bool:
        if not valid_ids([source_id]):
            return False
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "UPDATE sources SET subscribed = false, next_check = NULL "
                "WHERE id = %s AND subscribed",
                (source_id,),
            )
            return cursor.rowcount > 0

    def subscriptions(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        where, params = "s.subscribed", []
        if ids is not None:
            where += " AND s.id = ANY(%s::bigint[])"
            params = [valid_ids(ids)]
        with self._conn() as conn:
            rows = rows_as_dicts(conn.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS}, "
                "(SELECT count(*) FROM feed_entries e WHERE e.source_id = s.id "
                " AND e.article_id IS NOT NULL) AS entries "
                f"FROM sources s WHERE {where} ORDER BY s.category IS NOT NULL, "
                's.category COLLATE "C", lower(s.title) COLLATE "C", s.url COLLATE "C"',
                params,
            ))
        return [_plain(row) for row in rows]

    def subscription(self, source_id: int) -> dict[str, Any] | None:
        found = self.subscriptions([source_id])
        return found[0] if found else None

    def subscription_by_url(self, url: str) -> dict[str, Any] | None:
        row = self._one("SELECT id FROM sources WHERE url = %s AND subscribed", (url,))
        return self.subscription(row[0]) if row else None

    def due_subscriptions(self, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = rows_as_dicts(conn.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS}, 0 AS entries FROM sources s "
                "WHERE s.subscribed AND s.enabled "
                "AND (s.next_check IS NULL OR s.next_check <= %s) "
                'ORDER BY s.next_check IS NOT NULL, s.next_check COLLATE "C" LIMIT %s',
                (iso(now), limit),
            ))
        return [_plain(row) for row in rows]

    def next_check_due(self) -> str | None:
        row = self._one(
            "SELECT min(coalesce(next_check, '') COLLATE \"C\") FROM sources "
            "WHERE subscribed AND enabled"
        )
        return None if row is None else row[0]

    def record_poll(self, source_id: int, fields: dict[str, Any]) -> bool:
        unknown = set(fields) - POLL_FIELDS
        if unknown:
            raise ValueError(f"not poller fields: {', '.join(sorted(unknown))}")
        values = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        if "enabled" in values and values["enabled"] is not None:
            values["enabled"] = bool(values["enabled"])
        moved = True
        with self.transaction() as tx:
            if "url" in values:
                taken = tx.conn.execute(
                    "SELECT id FROM sources WHERE url = %s AND id != %s",
                    (values["url"], source_id),
                ).fetchone()
                if taken is not None:
                    values.pop("url")
                    moved = False
            if values:
                assignments = ", ".join(f"{key} = %s" for key in values)
                tx.conn.execute(
                    f"UPDATE sources SET {assignments} WHERE id = %s",
                    [*values.values(), source_id],
                )
        return moved

    # -- feed entries ------------------------------------------------------------------

    def known_entries(
        self, source_id: int, entries: Sequence[tuple[str | None, str]]
    ) -> list[int | None]:
        out: list[int | None] = []
        with self._conn() as conn:
            for guid, url in entries:
                found = None
                if guid:
                    row = conn.execute(
                        "SELECT coalesce(article_id, 0) FROM feed_entries "
                        "WHERE source_id = %s AND guid = %s",
                        (source_id, guid),
                    ).fetchone()
                    found = row[0] if row else None
                if found is None:
                    row = conn.execute("SELECT id FROM articles WHERE url = %s", (url,)).fetchone()
                    if row is None:
                        row = conn.execute(
                            "SELECT coalesce(article_id, 0) FROM feed_entries WHERE url = %s "
                            "LIMIT 1",
                            (url,),
                        ).fetchone()
                    found = row[0] if row else None
                out.append(found)
        return out

    def record_entries(self, source_id: int, rows: Iterable[dict[str, Any]]) -> int:
        added = 0
        with self.transaction() as tx:
            for row in rows:
                guid = row.get("guid") or None
                if guid is None and tx.conn.execute(
                    "SELECT 1 FROM feed_entries WHERE source_id = %s AND url = %s",
                    (source_id, row["url"]),
                ).fetchone():
                    continue
                cursor = tx.conn.execute(
                    "INSERT INTO feed_entries (source_id, guid, url, article_id, partial, "
                    "retry_at, last_error, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (
                        source_id, guid, row["url"], row.get("article_id") or None,
                        bool(row.get("partial")), iso(row.get("retry_at")),
                        row.get("last_error"), _now_text(),
                    ),
                )
                added += cursor.rowcount
        return added

    def feed_categories(self, article_ids: Sequence[int]) -> dict[int, set[str]]:
        ids = valid_ids(article_ids)
        if not ids:
            return {}
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT coalesce(a.duplicate_of, a.id) AS root, s.category FROM articles a "
                "JOIN feed_entries e ON e.article_id = a.id "
                "JOIN sources s ON s.id = e.source_id "
                "WHERE (a.id = ANY(%s::bigint[]) OR a.duplicate_of = ANY(%s::bigint[])) "
                "AND s.category IS NOT NULL",
                (ids, ids),
            ).fetchall()
        found: dict[int, set[str]] = {}
        for root, category in rows:
            found.setdefault(int(root), set()).add(category)
        return found

    def partial_entries_due(self, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return rows_as_dicts(conn.execute(
                "SELECT e.id, e.source_id, e.url, e.article_id, e.attempts, s.title AS source "
                "FROM feed_entries e JOIN sources s ON s.id = e.source_id "
                "WHERE e.partial AND e.retry_at IS NOT NULL AND e.retry_at <= %s "
                'AND e.article_id IS NOT NULL ORDER BY e.retry_at COLLATE "C" LIMIT %s',
                (iso(now), limit),
            ))

    def record_entry_retry(
        self, entry_id: int, retry_at: datetime | None, error: str | None, upgraded: bool
    ) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE feed_entries SET attempts = attempts + 1, retry_at = %s, "
                "last_error = %s, partial = CASE WHEN %s THEN false ELSE partial END "
                "WHERE id = %s",
                (iso(retry_at), error, bool(upgraded), entry_id),
            )


def _as_stored(row: dict[str, Any]) -> dict[str, Any]:
    """A source row as the SQLite store answers it: its flags as 0/1."""
    for flag in ("subscribed", "enabled"):
        if flag in row:
            row[flag] = int(row[flag])
    return row


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    row["enabled"] = bool(row["enabled"])
    return row
