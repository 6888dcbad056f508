"""Readers: accounts, sessions, per-reader marks, visit counts and comments; and the
summaries the reader site lists (story leads, outlets)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ...models import Account, Article, Comment
from .db import (
    SUMMARY_COLUMNS,
    SQLiteTransaction,
    bounded,
    from_iso,
    marks,
    now_iso,
    row_to_article,
    to_iso,
    valid_ids,
)

MARKS = ("read", "starred", "saved")
COMMENT_STATUSES = ("pending", "approved", "rejected")
_COMMENT_COLUMNS = (
    "c.id, c.article_id, c.parent_id, c.account_id, c.author, c.body, c.status, c.created_at"
)


def _account(row: sqlite3.Row) -> Account:
    return Account(row["id"], row["name"], row["role"], from_iso(row["created_at"]))


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        id=row["id"],
        article_id=row["article_id"],
        parent_id=row["parent_id"],
        account_id=row["account_id"],
        author=row["author"],
        body=row["body"],
        status=row["status"],
        created=from_iso(row["created_at"]),
    )


def _check_mark(mark: str) -> None:
    if mark not in MARKS:
        raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(MARKS)}")


class ReaderQueries:
    reader: sqlite3.Connection
    transaction: Any

    # -- accounts ----------------------------------------------------------------------

    def add_account(self, name: str, password_hash: str, role: str) -> int | None:
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO accounts (name, password_hash, role, created_at) VALUES (?,?,?,?) "
                "ON CONFLICT(name) DO NOTHING",
                (name, password_hash, role, now_iso()),
            )
            return int(cursor.lastrowid) if cursor.rowcount else None

    def account_credentials(self, name: str) -> tuple[Account, str] | None:
        row = self.reader.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        return (_account(row), row["password_hash"]) if row else None

    def account(self, account_id: int) -> Account | None:
        if not valid_ids([account_id]):
            return None
        row = self.reader.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        rows = self.reader.execute("SELECT * FROM accounts ORDER BY name")
        return [_account(row) for row in rows]

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id)
            )

    def remove_account(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.conn.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount > 0

    # -- sessions ----------------------------------------------------------------------

    def add_session(self, token_hash: str, account_id: int, csrf: str, expires: datetime) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "DELETE FROM sessions WHERE expires_at < ?", (now_iso(),)
            )  # expired rows go as new ones come
            tx.conn.execute(
                "INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) "
                "VALUES (?,?,?,?,?)",
                (token_hash, account_id, csrf, now_iso(), to_iso(expires)),
            )

    def session(self, token_hash: str) -> tuple[Account, str, datetime] | None:
        row = self.reader.execute(
            "SELECT a.*, s.csrf, s.expires_at FROM sessions s JOIN accounts a "
            "ON a.id = s.account_id WHERE s.token_hash = ?",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        return _account(row), row["csrf"], from_iso(row["expires_at"])

    def remove_session(self, token_hash: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # -- per-reader marks --------------------------------------------------------------

    def set_marks(self, account_id: int, article_ids: Sequence[int], mark: str, on: bool) -> int:
        _check_mark(mark)
        ids = valid_ids(article_ids)
        if not ids:
            return 0
        with self.transaction() as tx:
            if on:
                cursor = tx.conn.executemany(
                    "INSERT OR IGNORE INTO reader_marks (account_id, article_id, mark, marked_at)"
                    " SELECT ?, id, ?, ? FROM articles WHERE id = ?",
                    [(account_id, mark, now_iso(), i) for i in ids],
                )
            else:
                cursor = tx.conn.execute(
                    f"DELETE FROM reader_marks WHERE account_id = ? AND mark = ? "
                    f"AND article_id IN ({marks(ids)})",
                    [account_id, mark, *ids],
                )
            return cursor.rowcount

    def marks(self, account_id: int, article_ids: Sequence[int]) -> dict[int, set[str]]:
        ids = valid_ids(article_ids)
        out: dict[int, set[str]] = {i: set() for i in ids}
        if not ids:
            return out
        rows = self.reader.execute(
            f"SELECT article_id, mark FROM reader_marks WHERE account_id = ? "
            f"AND article_id IN ({marks(ids)})",
            [account_id, *ids],
        )
        for row in rows:
            out[row[0]].add(row[1])
        return out

    def marked(self, account_id: int, mark: str, limit: int = 50, offset: int = 0) -> list[Article]:
        _check_mark(mark)
        bounded(limit=limit, offset=offset)
        columns = ", ".join(f"a.{c}" for c in SUMMARY_COLUMNS.split(", "))
        rows = self.reader.execute(
            f"SELECT {columns} FROM reader_marks m JOIN articles a ON a.id = m.article_id "
            "WHERE m.account_id = ? AND m.mark = ? ORDER BY m.marked_at DESC, a.id DESC "
            "LIMIT ? OFFSET ?",
            (account_id, mark, limit, offset),
        )
        return [row_to_article(row) for row in rows]

    # -- visits ------------------------------------------------------------------------

    def add_visits(
        self, counts: dict[tuple[int, str], int], tx: SQLiteTransaction | None = None
    ) -> None:
        """Add counted visits, keyed by (article id, UTC hour 'YYYY-MM-DDTHH'), in one
        transaction (`tx`, or one of its own). Visits to articles that no longer exist are
        dropped."""
        rows = [(i, hour, n) for (i, hour), n in counts.items() if n > 0 and valid_ids([i])]
        if not rows:
            return
        with self.transaction() if tx is None else contextlib.nullcontext(tx) as tx:
            tx.conn.executemany(
                "INSERT INTO visits (article_id, hour, count) SELECT id, ?, ? FROM articles "
                "WHERE id = ? ON CONFLICT(article_id, hour) DO UPDATE "
                "SET count = count + excluded.count",
                [(hour, n, i) for i, hour, n in rows],
            )
            totals: dict[int, int] = {}
            for i, _, n in rows:
                totals[i] = totals.get(i, 0) + n
            tx.conn.executemany(
                "INSERT INTO visit_totals (article_id, count) SELECT id, ? FROM articles "
                "WHERE id = ? ON CONFLICT(article_id) DO UPDATE "
                "SET count = count + excluded.count",
                [(n, i) for i, n in totals.items()],
            )

    def remember_view(
        self, tx: SQLiteTransaction, visitor: str, article_id: int, at: float, window: float
    ) -> bool:
        cursor = tx.conn.execute(
            "INSERT INTO visit_seen (visitor, article_id, seen) VALUES (?, ?, ?) "
            "ON CONFLICT(visitor, article_id) DO UPDATE SET seen = excluded.seen "
            "WHERE excluded.seen - visit_seen.seen >= ?",
            (visitor, article_id, at, window),
        )
        return cursor.rowcount == 1

    def forget_views(self, tx: SQLiteTransaction, before: float) -> None:
        tx.conn.execute("DELETE FROM visit_seen WHERE seen < ?", (before,))

    def visit_counts(
        self, article_ids: Sequence[int], since_hour: str
    ) -> dict[int, tuple[int, int]]:
        """(total, visits in hours >= since_hour) per article."""
        ids = valid_ids(article_ids)
        out = {i: (0, 0) for i in ids}
        if not ids:
            return out
        for row in self.reader.execute(
            f"SELECT article_id, count FROM visit_totals WHERE article_id IN ({marks(ids)})", ids
        ):
            out[row[0]] = (row[1], 0)
        for row in self.reader.execute(
            f"SELECT article_id, sum(count) FROM visits WHERE hour >= ? "
            f"AND article_id IN ({marks(ids)}) GROUP BY article_id",
            [since_hour, *ids],
        ):
            out[row[0]] = (out[row[0]][0], row[1])
        return out

    def most_visited(self, since_hour: str, limit: int = 10) -> list[tuple[int, int]]:
        bounded(limit=limit)
        rows = self.reader.execute(
            "SELECT article_id, sum(count) AS n FROM visits WHERE hour >= ? "
            "GROUP BY article_id ORDER BY n DESC, article_id DESC LIMIT ?",
            (since_hour, limit),
        )
        return [(row[0], row[1]) for row in rows]

    # -- comments ----------------------------------------------------------------------

    def add_comment(self, comment: Comment, commenter: str) -> int | None:
        """Store a comment; None when its article (or its parent on that article) is gone."""
        if comment.status not in COMMENT_STATUSES:
            raise ValueError(f"unknown comment status {comment.status!r}")
        if not valid_ids([comment.article_id]):
            return None
        with self.transaction() as tx:
            db = tx.conn
            exists = db.execute("SELECT 1 FROM articles WHERE id = ?", (comment.article_id,))
            if exists.fetchone() is None:
                return None
            if comment.parent_id is not None:
                parent = db.execute(
                    "SELECT article_id FROM comments WHERE id = ?",
                    (comment.parent_id,) if valid_ids([comment.parent_id]) else (0,),
                ).fetchone()
                if parent is None or parent[0] != comment.article_id:
                    return None
            cursor = db.execute(
                "INSERT INTO comments (article_id, parent_id, account_id, author, body, status, "
                "commenter, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    comment.article_id,
                    comment.parent_id,
                    comment.account_id,
                    comment.author,
                    comment.body,
                    comment.status,
                    commenter,
                    now_iso(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def comment(self, comment_id: int) -> Comment | None:
        if not valid_ids([comment_id]):
            return None
        row = self.reader.execute(
            f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.id = ?", (comment_id,)
        ).fetchone()
        return _comment(row) if row else None

    def comments(self, article_id: int, statuses: Iterable[str] = ("approved",)) -> list[Comment]:
        """An article's comments with these statuses, oldest first (flat; parents first)."""
        statuses = list(statuses)
        if not valid_ids([article_id]) or not statuses:
            return []
        rows = self.reader.execute(
            f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.article_id = ? "
            f"AND c.status IN ({marks(statuses)}) ORDER BY c.id",
            [article_id, *statuses],
        )
        return [_comment(row) for row in rows]

    def comments_with_status(self, status: str, limit: int = 100) -> list[Comment]:
        bounded(limit=limit)
        rows = self.reader.execute(
            f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.status = ? ORDER BY c.id LIMIT ?",
            (status, limit),
        )
        return [_comment(row) for row in rows]

    def set_comment_status(self, comment_id: int, status: str) -> bool:
        if status not in COMMENT_STATUSES:
            raise ValueError(f"unknown comment status {status!r}")
        if not valid_ids([comment_id]):
            return False
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "UPDATE comments SET status = ? WHERE id = ?", (status, comment_id)
            )
            return cursor.rowcount > 0

    def remove_comment(self, comment_id: int) -> bool:
        if not valid_ids([comment_id]):
            return False
        with self.transaction() as tx:
            return tx.conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,)).rowcount > 0

    def commenter_approved(self, commenter: str) -> bool:
        """Has this commenter (a keyed hash of an account or a commenter cookie) ever had a
        comment approved?"""
        row = self.reader.execute(
            "SELECT 1 FROM comments WHERE commenter = ? AND status = 'approved' LIMIT 1",
            (commenter,),
        ).fetchone()
        return row is not None

    def comment_counts(self, article_ids: Sequence[int]) -> dict[int, int]:
        ids = valid_ids(article_ids)
        out = dict.fromkeys(ids, 0)
        if not ids:
            return out
        rows = self.reader.execute(
            f"SELECT article_id, count(*) FROM comments WHERE status = 'approved' "
            f"AND article_id IN ({marks(ids)}) GROUP BY article_id",
            ids,
        )
        out.update((row[0], row[1]) for row in rows)
        return out

    # -- what the reader site lists ----------------------------------------------------

    def story_summaries(
        self, story_ids: Sequence[int], burst_hours: float = 24.0
    ) -> dict[int, dict[str, Any]]:
        """Per story: its lead (earliest original), how many outlets ran any of its articles
        (copies included), and how many originals appeared in the `burst_hours` before its
        last update (its velocity)."""
        ids = valid_ids(story_ids)
        if not ids:
            return {}
        db = self.reader
        out: dict[int, dict[str, Any]] = {i: {"lead": None, "sources": 0, "burst": 0} for i in ids}
        key = "coalesce(a.published, a.fetched, a.created_at)"
        columns = ", ".join(f"a.{c}" for c in SUMMARY_COLUMNS.split(", "))
        for row in db.execute(
            f"SELECT {columns} FROM articles a WHERE a.id IN ("
            f" SELECT (SELECT b.id FROM articles b WHERE b.story_id = s.id AND b.duplicate_of IS "
            f"NULL ORDER BY coalesce(b.published, b.fetched, b.created_at), b.id LIMIT 1) "
            f"FROM stories s WHERE s.id IN ({marks(ids)}))",
            ids,
        ):
            out[row["story_id"]]["lead"] = row_to_article(row)
        for row in db.execute(
            f"SELECT story_id, count(DISTINCT source) FROM articles WHERE story_id IN "
            f"({marks(ids)}) GROUP BY story_id",
            ids,
        ):
            out[row[0]]["sources"] = row[1]
        for row in db.execute(
            # by story: the planner would otherwise walk every original (duplicate_of IS NULL)
            f"SELECT a.story_id, count(*) FROM articles a INDEXED BY articles_story "
            f"JOIN stories s ON s.id = a.story_id "
            f"WHERE a.story_id IN ({marks(ids)}) AND a.duplicate_of IS NULL "
            f"AND julianday({key}) >= julianday(s.last_seen) - ? / 24.0 GROUP BY a.story_id",
            [*ids, burst_hours],
        ):
            out[row[0]]["burst"] = row[1]
        return out

    def outlets(self) -> list[dict[str, Any]]:
        """Every outlet named on a stored article: articles (originals), copies, latest date."""
        rows = self.reader.execute(
            "SELECT source, sum(duplicate_of IS NULL) AS originals, "
            "sum(duplicate_of IS NOT NULL) AS copies, "
            "max(coalesce(published, fetched, created_at)) AS latest "
            "FROM articles WHERE source IS NOT NULL AND source != '' GROUP BY source "
            "ORDER BY originals DESC, source"
        )
        return [
            {"source": r[0], "originals": r[1], "copies": r[2], "latest": from_iso(r[3])}
            for r in rows
        ]
