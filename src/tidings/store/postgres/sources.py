"""Sources: the feeds and sites articles came through."""

from __future__ import annotations

from typing import Any

from .db import now, rows_as_dicts


def _now_text() -> str:
    return now().isoformat(timespec="seconds")  # as the SQLite store records it


class SourceQueries:
    _conn: Any
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
        return rows[0] if rows else None

    def sources(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return rows_as_dicts(conn.execute("SELECT * FROM sources ORDER BY title, url"))
