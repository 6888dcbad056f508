"""Whole tables as rows, in key order, for moving an archive between databases
(store.copy): read, bulk-load with the reference checks off, then put the checks, the HNSW
index, the keyword index and the id sequences back."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from .articles import size_hnsw_build
from .db import rows_as_dicts

_IDENTITY_TABLES = (
    "sources", "stories", "articles", "accounts", "comments", "feed_entries", "api_tokens",
    "saved_searches",
)
_SAVED_CHECKS = "copy_foreign_keys"  # meta: the reference checks dropped for the load


def _order(table) -> str:
    return ", ".join(f'{k} COLLATE "C"' if k in table.text_keys else k for k in table.key)


def _after(table) -> str:
    left = ", ".join(f'{k} COLLATE "C"' if k in table.text_keys else k for k in table.key)
    return f"({left}) > ({', '.join(['%s'] * len(table.key))})"


class RowQueries:
    _conn: Any
    _one: Any
    url: str

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"

    def table_rows(self, table, after: tuple | None, limit: int) -> list[dict[str, Any]]:
        where, args = ("", []) if after is None else (f"WHERE {_after(table)}", list(after))
        with self._conn() as conn:
            cursor = conn.cursor(binary=bool(table.vectors))
            cursor.execute(
                f"SELECT {', '.join(table.columns)} FROM {table.name} {where} "
                f"ORDER BY {_order(table)} LIMIT %s",
                [*args, limit],
            )
            return rows_as_dicts(cursor)

    def table_count(self, table) -> int:
        return self._one(f"SELECT count(*) FROM {table.name}")[0]

    def last_key(self, table) -> tuple | None:
        keys = ", ".join(table.key)
        desc = ", ".join(
            (f'{k} COLLATE "C" DESC' if k in table.text_keys else f"{k} DESC") for k in table.key
        )
        row = self._one(f"SELECT {keys} FROM {table.name} ORDER BY {desc} LIMIT 1")
        return tuple(row) if row else None

    def load_rows(self, tx, table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        marks = ", ".join("%b" if c in table.vectors else "%s" for c in table.columns)
        conflict = "ON CONFLICT DO NOTHING"
        if table.name == "meta":
            conflict = "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        values = [
            [
                np.frombuffer(row[c], dtype=np.float32) if c in table.vectors else row[c]
                for c in table.columns
            ]
            for row in rows
        ]
        with tx.conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) "
                f"{conflict}",
                values,
            )

    def delete_meta(self, tx, key: str) -> None:
        tx.conn.execute("DELETE FROM meta WHERE key = %s", (key,))

    def begin_bulk_load(self) -> None:
        """Reference checks and the HNSW index off while rows arrive in key order (a copy may
        point at an original stored later). The checks are saved in meta first, so a resumed
        copy can still put them back."""
        with self.transaction() as tx:
            conn = tx.conn
            checks = conn.execute(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE c.contype = 'f' AND n.nspname = current_schema()"
            ).fetchall()
            saved = json.loads(self.get_meta(_SAVED_CHECKS, tx) or "[]")
            known = {(t, n) for t, n, _ in saved}
            saved += [list(c) for c in checks if (c[0], c[1]) not in known]
            self.set_meta(tx, _SAVED_CHECKS, json.dumps(saved))
            for table, name, _ in checks:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for (index,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'embeddings' AND indexname LIKE 'embeddings_hnsw_%%'"
            ).fetchall():
                conn.execute(f'DROP INDEX "{index}"')
        self._indexed_dim = None

    def end_bulk_load(self) -> None:
        """Checks back (validated: a dangling reference fails the copy), ids continuing after
        the copied ones, the HNSW index built once over all vectors, keywords indexed."""
        with self.transaction() as tx:
            conn = tx.conn
            for table, name, definition in json.loads(self.get_meta(_SAVED_CHECKS, tx) or "[]"):
                exists = conn.execute(
                    "SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
                    " WHERE n.nspname = current_schema() AND c.conname = %s",
                    (name,),
                ).fetchone()
                if not exists:
                    conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            conn.execute("DELETE FROM meta WHERE key = %s", (_SAVED_CHECKS,))
            for table in _IDENTITY_TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            row = conn.execute("SELECT vector_dims(vector) FROM embeddings LIMIT 1").fetchone()
            if row is not None:
                conn.execute("ANALYZE embeddings")  # the row estimate the build is sized by
                size_hnsw_build(conn, int(row[0]))
                self._vector_index(conn, int(row[0]))
        self.rebuild_keyword_index()
