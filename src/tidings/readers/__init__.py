"""People and their state, shared by the web site, the REST API and the sync APIs: accounts
and password hashing, sessions and CSRF tokens, API tokens, read/starred/saved marks, visit
counts, comments and their moderation, API passwords for reader apps, followed stories."""

from __future__ import annotations

from .accounts import AccountError, Accounts
from .apipasswords import ApiPasswords
from .comments import CommentError, Comments, Posted
from .follows import Follows
from .limits import RateLimited, RateLimiter
from .marks import MARKS, Marks
from .sessions import Session, Sessions
from .tokens import Tokens
from .visits import VisitCounter, is_person

__all__ = [
    "MARKS",
    "AccountError",
    "Accounts",
    "ApiPasswords",
    "CommentError",
    "Comments",
    "Follows",
    "Marks",
    "Posted",
    "RateLimited",
    "RateLimiter",
    "Readers",
    "Session",
    "Sessions",
    "Tokens",
    "VisitCounter",
    "is_person",
]


class Readers:
    """The readers room as the Engine composes it."""

    def __init__(self, store, settings):
        self.accounts = Accounts(store, settings.login_attempts)
        self.sessions = Sessions(store, settings.session_days)
        self.marks = Marks(store)
        self.visits = VisitCounter(store, settings.visit_window_minutes)
        self.comments = Comments(store, self.sessions, settings)
        self.tokens = Tokens(store)
        self.api_passwords = ApiPasswords(store, settings.login_attempts)
        self.follows = Follows(store)

    def close(self) -> None:
        self.visits.close()
