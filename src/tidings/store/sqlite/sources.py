"""Sources: the feeds and sites articles came through, subscriptions and the poller's
per-feed state, and feed entries (which entry of which feed became which article)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .db import marks, now_iso, to_iso

# what the poller may change on a source after a check
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


class SourceQueries:
    reader: Any
    _db: Any

    def upsert_source(self, url: str, title: str, kind: str, site_url: str | None = None) -> int:
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO sources (url, title, kind, site_url, created_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(url) DO UPDATE SET title = excluded.title, "
                "site_url = coalesce(excluded.site_url, sources.site_url)",
                (url, title, kind, site_url, now_iso()),
            )
            row = tx.conn.execute("SELECT id FROM sources WHERE url = ?", (url,)).fetchone()
        return int(row[0])

    def record_source_check(
        self, url: str, etag: str | None, last_modified: str | None, error: str | None
    ) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE sources SET etag = coalesce(?, etag), "
                "last_modified = coalesce(?, last_modified), checked_at = ?, last_error = ? "
                "WHERE url = ?",
                (etag, last_modified, now_iso(), error, url),
            )

    def source(self, url: str) -> dict[str, Any] | None:
        row = self.reader.execute("SELECT * FROM sources WHERE url = ?", (url,)).fetchone()
        return dict(row) if row else None

    def sources(self) -> list[dict[str, Any]]:
        rows = self.reader.execute("SELECT * FROM sources ORDER BY title, url")
        return [dict(row) for row in rows]

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
                "SELECT id, subscribed FROM sources WHERE url = ?", (url,)
            ).fetchone()
            if row is not None and row["subscribed"]:
                return int(row["id"]), False
            if row is None:
                cursor = tx.conn.execute(
                    "INSERT INTO sources (url, title, kind, site_url, category, subscribed, "
                    "created_at) VALUES (?, ?, 'feed', ?, ?, 1, ?)",
                    (url, title, site_url, category, now_iso()),
                )
                return int(cursor.lastrowid or 0), True
            tx.conn.execute(
                "UPDATE sources SET subscribed = 1, enabled = 1, next_check = NULL, "
                "title = CASE WHEN ? != '' THEN ? ELSE title END, "
                "category = coalesce(?, category), site_url = coalesce(?, site_url) "
                "WHERE id = ?",
                (title, title, category, site_url, row["id"]),
            )
            return int(row["id"]), True

    def unsubscribe(self, source_id: int) -> bool:
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "UPDATE sources SET subscribed = 0, next_check = NULL "
                "WHERE id = ? AND subscribed = 1",
                (source_id,),
            )
            return cursor.rowcount > 0

    def subscriptions(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        where = "s.subscribed = 1"
        params: list[Any] = []
        if ids is not None:
            where += f" AND s.id IN ({marks(ids)})"
            params = [int(i) for i in ids]
        rows = self.reader.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS}, "
            "(SELECT count(*) FROM feed_entries e WHERE e.source_id = s.id "
            " AND e.article_id IS NOT NULL) AS entries "
            f"FROM sources s WHERE {where} ORDER BY s.category IS NOT NULL, s.category, "
            "s.title COLLATE NOCASE, s.url",
            params,
        )
        return [_subscription(row) for row in rows]

    def subscription(self, source_id: int) -> dict[str, Any] | None:
        found = self.subscriptions([source_id])
        return found[0] if found else None

    def subscription_by_url(self, url: str) -> dict[str, Any] | None:
        row = self.reader.execute(
            "SELECT id FROM sources WHERE url = ? AND subscribed = 1", (url,)
        ).fetchone()
        return self.subscription(row[0]) if row else None

    def due_subscriptions(self, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.reader.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS}, 0 AS entries FROM sources s INDEXED BY sources_due "
            "WHERE s.subscribed = 1 AND s.enabled = 1 "
            "AND (s.next_check IS NULL OR s.next_check <= ?) "
            "ORDER BY s.next_check IS NOT NULL, s.next_check LIMIT ?",
            (to_iso(now), limit),
        )
        return [_subscription(row) for row in rows]

    def next_check_due(self) -> str | None:
        """The earliest next check of an enabled subscription (ISO UTC; '' = now), or None
        when there is nothing to poll."""
        row = self.reader.execute(
            "SELECT min(coalesce(next_check, '')) FROM sources INDEXED BY sources_due "
            "WHERE subscribed = 1 AND enabled = 1"
        ).fetchone()
        return None if row is None else row[0]

    def record_poll(self, source_id: int, fields: dict[str, Any]) -> bool:
        """Store the outcome of one check; False when a moved URL is already another
        source's (the URL is then left as it was)."""
        unknown = set(fields) - POLL_FIELDS
        if unknown:
            raise ValueError(f"not poller fields: {', '.join(sorted(unknown))}")
        values = {k: to_iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        moved = True
        with self.transaction() as tx:
            if "url" in values:
                taken = tx.conn.execute(
                    "SELECT id FROM sources WHERE url = ? AND id != ?", (values["url"], source_id)
                ).fetchone()
                if taken is not None:
                    values.pop("url")
                    moved = False
            if values:
                assignments = ", ".join(f"{key} = ?" for key in values)
                tx.conn.execute(
                    f"UPDATE sources SET {assignments} WHERE id = ?",
                    [*values.values(), source_id],
                )
        return moved

    # -- feed entries ------------------------------------------------------------------

    def known_entries(
        self, source_id: int, entries: Sequence[tuple[str | None, str]]
    ) -> list[int | None]:
        """For each (guid, url): the article it is already stored as (0 when it is known to
        this feed without an article), or None when it is new. Identity is this feed and
        the GUID, then the URL (in any feed, or as any stored article)."""
        db = self.reader
        out: list[int | None] = []
        for guid, url in entries:
            found = None
            if guid:
                row = db.execute(
                    "SELECT coalesce(article_id, 0) FROM feed_entries "
                    "WHERE source_id = ? AND guid = ?",
                    (source_id, guid),
                ).fetchone()
                found = row[0] if row else None
            if found is None:
                row = db.execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()
                if row is None:
                    row = db.execute(
                        "SELECT coalesce(article_id, 0) FROM feed_entries WHERE url = ? LIMIT 1",
                        (url,),
                    ).fetchone()
                found = row[0] if row else None
            out.append(found)
        return out

    def record_entries(self, source_id: int, rows: Iterable[dict[str, Any]]) -> int:
        """Remember feed entries (guid, url, article_id, partial, retry_at, last_error);
        an entry already recorded for this feed (same GUID, or same URL without one) is
        left alone. Returns how many were new."""
        added = 0
        with self.transaction() as tx:
            for row in rows:
                guid = row.get("guid") or None
                if guid is None and tx.conn.execute(
                    "SELECT 1 FROM feed_entries WHERE source_id = ? AND url = ?",
                    (source_id, row["url"]),
                ).fetchone():
                    continue
                cursor = tx.conn.execute(
                    "INSERT INTO feed_entries (source_id, guid, url, article_id, partial, "
                    "retry_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (
                        source_id, guid, row["url"], row.get("article_id") or None,
                        int(bool(row.get("partial"))), to_iso(row.get("retry_at")),
                        row.get("last_error"), now_iso(),
                    ),
                )
                added += cursor.rowcount
        return added

    def feed_categories(self, article_ids: Sequence[int]) -> dict[int, set[str]]:
        ids = [int(i) for i in article_ids]
        if not ids:
            return {}
        rows = self.reader.execute(
            "SELECT coalesce(a.duplicate_of, a.id) AS root, s.category FROM articles a "
            "JOIN feed_entries e ON e.article_id = a.id "
            "JOIN sources s ON s.id = e.source_id "
            f"WHERE (a.id IN ({marks(ids)}) OR a.duplicate_of IN ({marks(ids)})) "
            "AND s.category IS NOT NULL",
            ids + ids,
        )
        found: dict[int, set[str]] = {}
        for root, category in rows:
            found.setdefault(int(root), set()).add(category)
        return found

    def partial_entries_due(self, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.reader.execute(
            "SELECT e.id, e.source_id, e.url, e.article_id, e.attempts, s.title AS source "
            "FROM feed_entries e INDEXED BY feed_entries_retry "
            "JOIN sources s ON s.id = e.source_id "
            "WHERE e.partial = 1 AND e.retry_at IS NOT NULL AND e.retry_at <= ? "
            "AND e.article_id IS NOT NULL ORDER BY e.retry_at LIMIT ?",
            (to_iso(now), limit),
        )
        return [dict(row) for row in rows]

    def record_entry_retry(
        self, entry_id: int, retry_at: datetime | None, error: str | None, upgraded: bool
    ) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE feed_entries SET attempts = attempts + 1, retry_at = ?, last_error = ?, "
                "partial = CASE WHEN ? THEN 0 ELSE partial END WHERE id = ?",
                (to_iso(retry_at), error, int(upgraded), entry_id),
            )


def _subscription(row) -> dict[str, Any]:
    data = dict(row)
    data["enabled"] = bool(data["enabled"])
    return data

