"""API tokens: names and SHA-256 digests (never the tokens themselves)."""

from __future__ import annotations

from typing import Any

from .db import now, rows_as_dicts


class TokenQueries:
    _conn: Any
    _one_confirmed: Any
    transaction: Any

    def add_token(self, name: str, digest: str) -> bool:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "INSERT INTO api_tokens (name, digest, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (name, digest, now().isoformat(timespec="seconds")),
            ).fetchone()
        return row is not None

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        row = self._one_confirmed(
            "SELECT id, name, created_at FROM api_tokens WHERE digest = %s", (digest,)
        )
        return dict(zip(("id", "name", "created_at"), row, strict=True)) if row else None

    def tokens(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return rows_as_dicts(conn.execute(
                'SELECT id, name, created_at FROM api_tokens ORDER BY name COLLATE "C"'
            ))

    def delete_token(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.conn.execute("DELETE FROM api_tokens WHERE name = %s", (name,)).rowcount > 0
