"""Stories: clustering state (centroid sums, names) and the stories readers see."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ...models import Article, Story
from ..base import StoryState
from .db import (
    ARTICLE_COLUMNS,
    SUMMARY_COLUMNS,
    PostgresTransaction,
    blob,
    bounded,
    now,
    row_to_article,
    rows_as_dicts,
    unblob,
    utc,
    valid_ids,
)

_STATE_COLUMNS = (
    "id, label, first_seen, last_seen, size, centroid, names, label_time, merged_into"
)
_MERGE_HOPS = 8  # as in the SQLite store: chains are kept flat; this bounds a hand-made loop


class StoryQueries:
    _conn: Any
    _one: Any

    def create_story(self, tx: PostgresTransaction, label: str, when: datetime) -> int:
        row = tx.conn.execute(
            "INSERT INTO stories (label, first_seen, last_seen, size, created_at, gen, "
            "label_time) VALUES (%s, %s, %s, 0, %s, %s, %s) RETURNING id",
            (label, utc(when), utc(when), now(), tx.generation, utc(when)),
        ).fetchone()
        return int(row[0])

    def save_story(self, tx: PostgresTransaction, state: StoryState) -> None:
        tx.conn.execute(
            "UPDATE stories SET label = %s, first_seen = %s, last_seen = %s, size = %s, "
            "centroid = %s, names = %s, label_time = %s, gen = %s WHERE id = %s",
            (
                state.label,
                utc(state.first_seen),
                utc(state.last_seen),
                state.size,
                blob(state.centroid),
                json.dumps(state.names, ensure_ascii=False),
                utc(state.label_time or state.first_seen),
                tx.generation,
                state.id,
            ),
        )

    def merge_story(self, tx: PostgresTransaction, gone: int, into: int) -> None:
        conn = tx.conn
        conn.execute("UPDATE articles SET story_id = %s WHERE story_id = %s", (into, gone))
        conn.execute("UPDATE stories SET merged_into = %s WHERE merged_into = %s", (into, gone))
        conn.execute(
            "UPDATE stories SET merged_into = %s, size = 0, centroid = NULL, names = NULL, "
            "gen = %s WHERE id = %s",
            (into, tx.generation, gone),
        )

    def story_states(
        self,
        tx: PostgresTransaction | None = None,
        active_from: datetime | None = None,
        active_to: datetime | None = None,
        since: int | None = None,
        seen_before: datetime | None = None,
    ) -> list[StoryState]:
        where, args = ["centroid IS NOT NULL"], []
        if since is not None:  # what changed includes the stories absorbed meanwhile
            where = ["(centroid IS NOT NULL OR merged_into IS NOT NULL)", "gen > %s"]
            args.append(since)
        if active_from is not None:
            where.append("last_seen >= %s")
            args.append(utc(active_from))
        if seen_before is not None:
            where.append("last_seen < %s")
            args.append(utc(seen_before))
        if active_to is not None:
            where.append("first_seen <= %s")
            args.append(utc(active_to))
        with self._conn(tx) as conn:
            rows = conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM stories WHERE {' AND '.join(where)} ORDER BY id",
                args,
            ).fetchall()
        return [
            StoryState(
                id=sid,
                label=label,
                first_seen=first,
                last_seen=last,
                size=size,
                centroid=unblob(centroid),
                names=json.loads(names or "{}"),
                label_time=label_time,
                merged_into=merged_into,
            )
            for sid, label, first, last, size, centroid, names, label_time, merged_into in rows
        ]

    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[Story]:
        bounded(limit=limit, offset=offset, min_size=min_size)
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, label, first_seen, last_seen, size FROM stories "
                "WHERE size >= %s AND merged_into IS NULL "
                "ORDER BY last_seen DESC, id DESC LIMIT %s OFFSET %s",
                (min_size, limit, offset),
            ).fetchall()
        return [_story(row) for row in rows]

    def story(self, story_id: int) -> Story | None:
        if not valid_ids([story_id]):
            return None
        for _ in range(_MERGE_HOPS):
            row = self._one(
                "SELECT id, label, first_seen, last_seen, size, merged_into FROM stories "
                "WHERE id = %s",
                (story_id,),
            )
            if row is None or row[5] is None:
                return _story(row) if row else None
            story_id = row[5]
        return None

    def story_articles(
        self, story_id: int, text: bool = True, latest: int | None = None
    ) -> list[Article]:
        if not valid_ids([story_id]):
            return []
        if latest is not None:
            bounded(limit=latest)
        columns = ", ".join(ARTICLE_COLUMNS) if text else SUMMARY_COLUMNS
        where = f"SELECT {columns} FROM articles WHERE story_id = %s AND duplicate_of IS NULL "
        with self._conn() as conn:
            if latest is None:
                cursor = conn.execute(where + f"ORDER BY {_TIME_KEY}, id", (story_id,))
                return [row_to_article(row) for row in rows_as_dicts(cursor)]
            cursor = conn.execute(
                where + f"ORDER BY {_TIME_KEY} DESC, id DESC LIMIT %s", (story_id, latest)
            )
            return [row_to_article(row) for row in rows_as_dicts(cursor)][::-1]


def _story(row) -> Story:
    return Story(id=row[0], label=row[1], first_seen=row[2], last_seen=row[3], size=row[4])


_TIME_KEY = "coalesce(published, fetched, created_at)"
