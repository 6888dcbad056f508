"""Stories: clustering state (centroid sums, names) and the stories readers see."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from ...models import Article, Story
from ..base import StoryState
from .db import (
    SUMMARY_COLUMNS,
    SQLiteTransaction,
    blob_to_vector,
    bounded,
    from_iso,
    now_iso,
    row_to_article,
    to_iso,
    valid_ids,
    vector_to_blob,
)

_STATE_COLUMNS = (
    "id, label, first_seen, last_seen, size, centroid, names, label_time, merged_into"
)
# a story is followed through at most this many merges (a chain is kept flat; this bounds
# a loop a hand-edited database could hold)
_MERGE_HOPS = 8


class StoryQueries:
    _db: Any
    reader: sqlite3.Connection

    def create_story(self, tx: SQLiteTransaction, label: str, when: datetime) -> int:
        cursor = tx.conn.execute(
            "INSERT INTO stories (label, first_seen, last_seen, size, created_at, gen, label_time)"
            " VALUES (?, ?, ?, 0, ?, ?, ?)",
            (label, to_iso(when), to_iso(when), now_iso(), tx.generation, to_iso(when)),
        )
        return int(cursor.lastrowid or 0)

    def save_story(self, tx: SQLiteTransaction, state: StoryState) -> None:
        tx.conn.execute(
            "UPDATE stories SET label = ?, first_seen = ?, last_seen = ?, size = ?, "
            "centroid = ?, names = ?, label_time = ?, gen = ? WHERE id = ?",
            (
                state.label,
                to_iso(state.first_seen),
                to_iso(state.last_seen),
                state.size,
                None if state.centroid is None else vector_to_blob(state.centroid),
                json.dumps(state.names, ensure_ascii=False),
                to_iso(state.label_time or state.first_seen),
                tx.generation,
                state.id,
            ),
        )

    def merge_story(self, tx: SQLiteTransaction, gone: int, into: int) -> None:
        db = tx.conn
        db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (into, gone))
        db.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (into, gone))
        db.execute(
            "UPDATE stories SET merged_into = ?, size = 0, centroid = NULL, names = NULL, "
            "gen = ? WHERE id = ?",
            (into, tx.generation, gone),
        )

    def story_states(
        self,
        tx: SQLiteTransaction | None = None,
        active_from: datetime | None = None,
        active_to: datetime | None = None,
        since: int | None = None,
        seen_before: datetime | None = None,
    ) -> list[StoryState]:
        where, args = ["centroid IS NOT NULL"], []
        index = ""  # name the index: with no statistics the planner scans every story
        if since is not None:  # what changed includes the stories absorbed meanwhile
            where = ["(centroid IS NOT NULL OR merged_into IS NOT NULL)", "gen > ?"]
            args.append(since)
            index = "INDEXED BY stories_gen"
        if active_from is not None:
            where.append("last_seen >= ?")
            args.append(to_iso(active_from))
            index = index or "INDEXED BY stories_last_seen"
        if seen_before is not None:
            where.append("last_seen < ?")
            args.append(to_iso(seen_before))
        if active_to is not None:
            where.append("first_seen <= ?")
            args.append(to_iso(active_to))
        rows = sorted(
            self._db(tx).execute(
                f"SELECT {_STATE_COLUMNS} FROM stories {index} WHERE {' AND '.join(where)}", args
            ),
            key=lambda row: row["id"],
        )
        return [
            StoryState(
                id=row["id"],
                label=row["label"],
                first_seen=from_iso(row["first_seen"]),
                last_seen=from_iso(row["last_seen"]),
                size=row["size"],
                centroid=None if row["centroid"] is None else blob_to_vector(row["centroid"]),
                names=json.loads(row["names"] or "{}"),
                label_time=from_iso(row["label_time"]),
                merged_into=row["merged_into"],
            )
            for row in rows
        ]

    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[Story]:
        bounded(limit=limit, offset=offset, min_size=min_size)
        rows = self.reader.execute(
            "SELECT id, label, first_seen, last_seen, size FROM stories "
            "WHERE size >= ? AND merged_into IS NULL "
            "ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",
            (min_size, limit, offset),
        )
        return [_story(row) for row in rows]

    def story(self, story_id: int) -> Story | None:
        if not valid_ids([story_id]):
            return None
        for _ in range(_MERGE_HOPS):
            row = self.reader.execute(
                "SELECT id, label, first_seen, last_seen, size, merged_into FROM stories "
                "WHERE id = ?",
                (story_id,),
            ).fetchone()
            if row is None or row["merged_into"] is None:
                return _story(row) if row else None
            story_id = row["merged_into"]
        return None

    def story_articles(
        self, story_id: int, text: bool = True, latest: int | None = None
    ) -> list[Article]:
        if not valid_ids([story_id]):
            return []
        if latest is not None:
            bounded(limit=latest)
        columns = "*" if text else SUMMARY_COLUMNS
        where = f"SELECT {columns} FROM articles WHERE story_id = ? AND duplicate_of IS NULL "
        if latest is None:
            rows = self.reader.execute(
                where + f"ORDER BY {_TIME_KEY}, id", (story_id,)
            ).fetchall()
        else:
            rows = self.reader.execute(
                where + f"ORDER BY {_TIME_KEY} DESC, id DESC LIMIT ?", (story_id, latest)
            ).fetchall()[::-1]
        return [row_to_article(row) for row in rows]


_TIME_KEY = "coalesce(published, fetched, created_at)"


def _story(row: sqlite3.Row) -> Story:
    return Story(
        id=row["id"],
        label=row["label"],
        first_seen=from_iso(row["first_seen"]),
        last_seen=from_iso(row["last_seen"]),
        size=row["size"],
    )
