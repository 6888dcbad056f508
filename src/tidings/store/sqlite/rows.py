"""Whole tables as rows, in key order, for moving an archive between databases
(store.copy): read, bulk-load with the reference checks off, then check every reference and
rebuild the keyword index."""

from __future__ import annotations

from typing import Any

from ..base import StoreError
from .db import to_iso


def _after(table) -> str:
    return f"({', '.join(table.key)}) > ({', '.join('?' * len(table.key))})"


class RowQueries:
    reader: Any
    path: Any
    _writer: Any

    def describe(self) -> str:
        return f"sqlite:///{self.path.resolve()}"

    def table_rows(self, table, after: tuple | None, limit: int) -> list[dict[str, Any]]:
        where, args = ("", []) if after is None else (f"WHERE {_after(table)}", list(after))
        rows = self.reader.execute(
            f"SELECT {', '.join(table.columns)} FROM {table.name} {where} "
            f"ORDER BY {', '.join(table.key)} LIMIT ?",
            [*args, limit],
        )
        return [dict(row) for row in rows]

    def table_count(self, table) -> int:
        return self.reader.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]

    def last_key(self, table) -> tuple | None:
        desc = ", ".join(f"{k} DESC" for k in table.key)
        row = self.reader.execute(
            f"SELECT {', '.join(table.key)} FROM {table.name} ORDER BY {desc} LIMIT 1"
        ).fetchone()
        return tuple(row) if row else None

    def load_rows(self, tx, table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        verb = "INSERT OR REPLACE" if table.name == "meta" else "INSERT OR IGNORE"
        values = [
            [
                to_iso(row[c]) if c in table.dates
                else int(row[c]) if c in table.flags and row[c] is not None
                else row[c]
                for c in table.columns
            ]
            for row in rows
        ]
        tx.conn.executemany(
            f"{verb} INTO {table.name} ({', '.join(table.columns)}) "
            f"VALUES ({', '.join('?' * len(table.columns))})",
            values,
        )

    def delete_meta(self, tx, key: str) -> None:
        tx.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def begin_bulk_load(self) -> None:
        """Rows arrive in key order: a copy may point at an original stored later."""
        self._writer.execute("PRAGMA foreign_keys=OFF")

    def end_bulk_load(self) -> None:
        dangling = self._writer.execute("PRAGMA foreign_key_check").fetchmany(5)
        self._writer.execute("PRAGMA foreign_keys=ON")
        if dangling:
            raise StoreError(f"the copied rows hold dangling references: {dangling}")
        self.rebuild_keyword_index()
