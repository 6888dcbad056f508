"""Stories a reader follows: reader apps see each as a label whose stream keeps filling as
new articles join the story."""

from __future__ import annotations

from ..models import Account


class Follows:
    def __init__(self, store):
        self.store = store

    def follow(self, account: Account, story_id: int, on: bool = True) -> bool:
        return self.store.follow_story(account.id, story_id, on)

    def stories(self, account: Account) -> list[int]:
        return self.store.followed_stories(account.id)
