"""Sources: the feeds and sites articles came through."""

from __future__ import annotations

from typing import Any

from .db import now_iso


class SourceQueries:
    reader: Any

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
