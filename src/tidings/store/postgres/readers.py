"""Readers: accounts, sessions, per-reader marks, visit counts and comments; and the
summaries the reader site lists (story leads, outlets)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ...models import Account, Article, Comment
from .db import (
    SUMMARY_COLUMNS,
    bounded,
    now,
    row_to_article,
    rows_as_dicts,
    utc,
    valid_ids,
)

MARKS = ("read", "starred", "saved")
COMMENT_STATUSES = ("pending", "approved", "rejected")
_ACCOUNT_COLUMNS = "a.id, a.name, a.role, a.created_at"
_COMMENT_COLUMNS = (
    "c.id, c.article_id, c.parent_id, c.account_id, c.author, c.body, c.status, c.created_at"
)
_SUMMARY_OF_A = ", ".join(f"a.{c}" for c in SUMMARY_COLUMNS.split(", "))


def _account(row) -> Account:
    return Account(row[0], row[1], row[2], row[3])


def _comment(row) -> Comment:
    return Comment(
        id=row[0],
        article_id=row[1],
        parent_id=row[2],
        account_id=row[3],
        author=row[4],
        body=row[5],
        status=row[6],
        created=row[7],
    )


def _check_mark(mark: str) -> None:
    if mark not in MARKS:
        raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(MARKS)}")


class ReaderQueries:
    _conn: Any
    _one: Any
    _one_confirmed: Any
    transaction: Any

    # -- accounts ----------------------------------------------------------------------

    def add_account(self, name: str, password_hash: str, role: str) -> int | None:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "INSERT INTO accounts (name, password_hash, role, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT ((lower(name))) DO NOTHING RETURNING id",
                (name, password_hash, role, now()),
            ).fetchone()
            return int(row[0]) if row else None

    def account_credentials(self, name: str) -> tuple[Account, str] | None:
        row = self._one_confirmed(
            f"SELECT {_ACCOUNT_COLUMNS}, a.password_hash FROM accounts a "
            "WHERE lower(a.name) = lower(%s)",
            (name,),
        )
        return (_account(row), row[4]) if row else None

    def account(self, account_id: int) -> Account | None:
        if not valid_ids([account_id]):
            return None
        row = self._one(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = %s", (account_id,))
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        with self._conn() as conn:
            rows = conn.execute(
                f'SELECT {_ACCOUNT_COLUMNS} FROM accounts a ORDER BY lower(a.name) COLLATE "C"'
            ).fetchall()
        return [_account(row) for row in rows]

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "UPDATE accounts SET password_hash = %s WHERE id = %s",
                (password_hash, account_id),
            )

    def remove_account(self, name: str) -> bool:
        with self.transaction() as tx:
            cursor = tx.conn.execute("DELETE FROM accounts WHERE lower(name) = lower(%s)", (name,))
            return cursor.rowcount > 0

    # -- sessions ----------------------------------------------------------------------

    def add_session(self, token_hash: str, account_id: int, csrf: str, expires: datetime) -> None:
        with self.transaction() as tx:
            moment = now()
            tx.conn.execute("DELETE FROM sessions WHERE expires_at < %s", (moment,))
            tx.conn.execute(
                "INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (token_hash, account_id, csrf, moment, utc(expires)),
            )

    def session(self, token_hash: str) -> tuple[Account, str, datetime] | None:
        row = self._one_confirmed(
            f"SELECT {_ACCOUNT_COLUMNS}, s.csrf, s.expires_at FROM sessions s JOIN accounts a "
            "ON a.id = s.account_id WHERE s.token_hash = %s",
            (token_hash,),
        )
        if row is None:
            return None
        return _account(row), row[4], row[5]

    def remove_session(self, token_hash: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))

    # -- per-reader marks --------------------------------------------------------------

    def set_marks(self, account_id: int, article_ids: Sequence[int], mark: str, on: bool) -> int:
        _check_mark(mark)
        ids = valid_ids(article_ids)
        if not ids:
            return 0
        with self.transaction() as tx:
            if on:
                cursor = tx.conn.execute(
                    "INSERT INTO reader_marks (account_id, article_id, mark, marked_at) "
                    "SELECT %s, id, %s, %s FROM articles WHERE id = ANY(%s::bigint[]) "
                    "ON CONFLICT DO NOTHING",
                    (account_id, mark, now(), ids),
                )
            else:
                cursor = tx.conn.execute(
                    "DELETE FROM reader_marks WHERE account_id = %s AND mark = %s "
                    "AND article_id = ANY(%s::bigint[])",
                    (account_id, mark, ids),
                )
            return cursor.rowcount

    def marks(self, account_id: int, article_ids: Sequence[int]) -> dict[int, set[str]]:
        ids = valid_ids(article_ids)
        out: dict[int, set[str]] = {i: set() for i in ids}
        if not ids:
            return out
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT article_id, mark FROM reader_marks WHERE account_id = %s "
                "AND article_id = ANY(%s::bigint[])",
                (account_id, ids),
            ).fetchall()
        for article_id, mark in rows:
            out[article_id].add(mark)
        return out

    def marked(self, account_id: int, mark: str, limit: int = 50, offset: int = 0) -> list[Article]:
        _check_mark(mark)
        bounded(limit=limit, offset=offset)
        with self._conn() as conn:
            cursor = conn.execute(
                f"SELECT {_SUMMARY_OF_A} FROM reader_marks m JOIN articles a "
                "ON a.id = m.article_id WHERE m.account_id = %s AND m.mark = %s "
                "ORDER BY m.marked_at DESC, a.id DESC LIMIT %s OFFSET %s",
                (account_id, mark, limit, offset),
            )
            return [row_to_article(row) for row in rows_as_dicts(cursor)]

    # -- visits ------------------------------------------------------------------------

    def add_visits(self, counts: dict[tuple[int, str], int], tx=None) -> None:
        """Add counted visits, keyed by (article id, UTC hour), in one transaction (`tx`, or
        one of its own); visits to articles that no longer exist are dropped."""
        rows = [(i, hour, n) for (i, hour), n in counts.items() if n > 0 and valid_ids([i])]
        if not rows:
            return
        totals: dict[int, int] = {}
        for i, _, n in rows:
            totals[i] = totals.get(i, 0) + n
        with self.transaction() if tx is None else contextlib.nullcontext(tx) as tx:
            tx.conn.execute(
                "INSERT INTO visits (article_id, hour, count) "
                "SELECT a.id, v.hour, v.n FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) "
                "AS v(id, hour, n) JOIN articles a ON a.id = v.id "
                "ON CONFLICT (article_id, hour) DO UPDATE "
                "SET count = visits.count + excluded.count",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )
            tx.conn.execute(
                "INSERT INTO visit_totals (article_id, count) "
                "SELECT a.id, v.n FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, n) "
                "JOIN articles a ON a.id = v.id "
                "ON CONFLICT (article_id) DO UPDATE "
                "SET count = visit_totals.count + excluded.count",
                (list(totals), list(totals.values())),
            )

    def remember_view(
        self, tx, visitor: str, article_id: int, at: float, window: float
    ) -> bool:
        cursor = tx.conn.execute(
            "INSERT INTO visit_seen (visitor, article_id, seen) VALUES (%s, %s, %s) "
            "ON CONFLICT (visitor, article_id) DO UPDATE SET seen = excluded.seen "
            "WHERE excluded.seen - visit_seen.seen >= %s",
            (visitor, article_id, at, window),
        )
        return cursor.rowcount == 1

    def forget_views(self, tx, before: float) -> None:
        tx.conn.execute("DELETE FROM visit_seen WHERE seen < %s", (before,))

    def visit_counts(
        self, article_ids: Sequence[int], since_hour: str
    ) -> dict[int, tuple[int, int]]:
        ids = valid_ids(article_ids)
        out = {i: (0, 0) for i in ids}
        if not ids:
            return out
        with self._conn() as conn:
            for article_id, count in conn.execute(
                "SELECT article_id, count FROM visit_totals WHERE article_id = ANY(%s::bigint[])",
                (ids,),
            ):
                out[article_id] = (count, 0)
            for article_id, recent in conn.execute(
                "SELECT article_id, sum(count) FROM visits WHERE hour >= %s "
                "AND article_id = ANY(%s::bigint[]) GROUP BY article_id",
                (since_hour, ids),
            ):
                out[article_id] = (out[article_id][0], int(recent))
        return out

    def most_visited(self, since_hour: str, limit: int = 10) -> list[tuple[int, int]]:
        bounded(limit=limit)
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT article_id, sum(count) AS n FROM visits WHERE hour >= %s "
                "GROUP BY article_id ORDER BY n DESC, article_id DESC LIMIT %s",
                (since_hour, limit),
            ).fetchall()
        return [(article_id, int(n)) for article_id, n in rows]

    # -- comments ----------------------------------------------------------------------

    def add_comment(self, comment: Comment, commenter: str) -> int | None:
        if comment.status not in COMMENT_STATUSES:
            raise ValueError(f"unknown comment status {comment.status!r}")
        if not valid_ids([comment.article_id]):
            return None
        with self.transaction() as tx:
            conn = tx.conn
            exists = conn.execute("SELECT 1 FROM articles WHERE id = %s", (comment.article_id,))
            if exists.fetchone() is None:
                return None
            if comment.parent_id is not None:
                parent = conn.execute(
                    "SELECT article_id FROM comments WHERE id = %s",
                    (comment.parent_id if valid_ids([comment.parent_id]) else 0,),
                ).fetchone()
                if parent is None or parent[0] != comment.article_id:
                    return None
            row = conn.execute(
                "INSERT INTO comments (article_id, parent_id, account_id, author, body, status, "
                "commenter, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    comment.article_id,
                    comment.parent_id,
                    comment.account_id,
                    comment.author,
                    comment.body,
                    comment.status,
                    commenter,
                    now(),
                ),
            ).fetchone()
            return int(row[0])

    def comment(self, comment_id: int) -> Comment | None:
        if not valid_ids([comment_id]):
            return None
        row = self._one(f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.id = %s", (comment_id,))
        return _comment(row) if row else None

    def comments(self, article_id: int, statuses: Iterable[str] = ("approved",)) -> list[Comment]:
        statuses = list(statuses)
        if not valid_ids([article_id]) or not statuses:
            return []
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.article_id = %s "
                "AND c.status = ANY(%s::text[]) ORDER BY c.id",
                (article_id, statuses),
            ).fetchall()
        return [_comment(row) for row in rows]

    def comments_with_status(self, status: str, limit: int = 100) -> list[Comment]:
        bounded(limit=limit)
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_COMMENT_COLUMNS} FROM comments c WHERE c.status = %s "
                "ORDER BY c.id LIMIT %s",
                (status, limit),
            ).fetchall()
        return [_comment(row) for row in rows]

    def set_comment_status(self, comment_id: int, status: str) -> bool:
        if status not in COMMENT_STATUSES:
            raise ValueError(f"unknown comment status {status!r}")
        if not valid_ids([comment_id]):
            return False
        with self.transaction() as tx:
            cursor = tx.conn.execute(
                "UPDATE comments SET status = %s WHERE id = %s", (status, comment_id)
            )
            return cursor.rowcount > 0

    def remove_comment(self, comment_id: int) -> bool:
        if not valid_ids([comment_id]):
            return False
        with self.transaction() as tx:
            cursor = tx.conn.execute("DELETE FROM comments WHERE id = %s", (comment_id,))
            return cursor.rowcount > 0

    def commenter_approved(self, commenter: str) -> bool:
        row = self._one(
            "SELECT 1 FROM comments WHERE commenter = %s AND status = 'approved' LIMIT 1",
            (commenter,),
        )
        return row is not None

    def comment_counts(self, article_ids: Sequence[int]) -> dict[int, int]:
        ids = valid_ids(article_ids)
        out = dict.fromkeys(ids, 0)
        if not ids:
            return out
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT article_id, count(*) FROM comments WHERE status = 'approved' "
                "AND article_id = ANY(%s::bigint[]) GROUP BY article_id",
                (ids,),
            ).fetchall()
        out.update((article_id, n) for article_id, n in rows)
        return out

    # -- what the reader site lists ----------------------------------------------------

    def story_summaries(
        self, story_ids: Sequence[int], burst_hours: float = 24.0
    ) -> dict[int, dict[str, Any]]:
        ids = valid_ids(story_ids)
        if not ids:
            return {}
        out: dict[int, dict[str, Any]] = {i: {"lead": None, "sources": 0, "burst": 0} for i in ids}
        with self._conn() as conn:
            cursor = conn.execute(
                f"SELECT {_SUMMARY_OF_A} FROM stories s CROSS JOIN LATERAL ("
                "  SELECT * FROM articles b WHERE b.story_id = s.id AND b.duplicate_of IS NULL"
                "  ORDER BY coalesce(b.published, b.fetched, b.created_at), b.id LIMIT 1) AS a "
                "WHERE s.id = ANY(%s::bigint[])",
                (ids,),
            )
            for row in rows_as_dicts(cursor):
                out[row["story_id"]]["lead"] = row_to_article(row)
            for story_id, n in conn.execute(
                "SELECT story_id, count(DISTINCT source) FROM articles "
                "WHERE story_id = ANY(%s::bigint[]) GROUP BY story_id",
                (ids,),
            ):
                out[story_id]["sources"] = n
            for story_id, n in conn.execute(
                "SELECT a.story_id, count(*) FROM articles a JOIN stories s ON s.id = a.story_id "
                "WHERE a.story_id = ANY(%s::bigint[]) AND a.duplicate_of IS NULL "
                "AND coalesce(a.published, a.fetched, a.created_at) >= "
                "s.last_seen - make_interval(secs => %s * 3600.0) GROUP BY a.story_id",
                (ids, float(burst_hours)),
            ):
                out[story_id]["burst"] = n
        return out

    def outlets(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT source, count(*) FILTER (WHERE duplicate_of IS NULL) AS originals, "
                "count(duplicate_of) AS copies, "
                "max(coalesce(published, fetched, created_at)) AS latest "
                "FROM articles WHERE source IS NOT NULL AND source != '' GROUP BY source "
                'ORDER BY originals DESC, source COLLATE "C"'
            ).fetchall()
        return [
            {"source": r[0], "originals": r[1], "copies": r[2], "latest": r[3]} for r in rows
        ]
