"""API tokens: names and SHA-256 digests (never the tokens themselves)."""

from __future__ import annotations

import sqlite3
from typing import Any

from .db import now_iso


class TokenQueries:
    reader: Any

    def add_token(self, name: str, digest: str) -> bool:
        with self.transaction() as tx:
            try:
                tx.conn.execute(
                    "INSERT INTO api_tokens (name, digest, created_at) VALUES (?, ?, ?)",
                    (name, digest, now_iso()),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        row = self.reader.execute(
            "SELECT id, name, created_at FROM api_tokens WHERE digest = ?", (digest,)
        ).fetchone()
        return dict(row) if row else None

    def tokens(self) -> list[dict[str, Any]]:
        rows = self.reader.execute("SELECT id, name, created_at FROM api_tokens ORDER BY name")
        return [dict(row) for row in rows]

    def delete_token(self, name: str) -> bool:
        with self.transaction() as tx:
            cursor = tx.conn.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
            return cursor.rowcount > 0
