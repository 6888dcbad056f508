"""Per-reader state: read, starred and saved for later."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Account, Article

MARKS = ("read", "starred", "saved")


class Marks:
    def __init__(self, store):
        self.store = store

    def set(self, account: Account, article_ids: Sequence[int], mark: str, on: bool = True) -> int:
        if mark not in MARKS:
            raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(MARKS)}")
        return self.store.set_marks(account.id, list(article_ids), mark, on)

    def mark_story_read(self, account: Account, story_id: int) -> int:
        ids = [a.id for a in self.store.story_articles(story_id, text=False)]
        return self.set(account, ids, "read") if ids else 0

    def of(self, account: Account | None, article_ids: Sequence[int]) -> dict[int, set[str]]:
        if account is None:
            return {}
        return self.store.marks(account.id, list(article_ids))

    def listed(
        self, account: Account, mark: str, limit: int = 50, offset: int = 0
    ) -> list[Article]:
        return self.store.marked(account.id, mark, limit, offset)
