"""Comments: threaded replies in plain text, held for moderation by default, rate-limited per
client and per account, with a honeypot field and length limits. Stored as typed (control
characters removed); escaping happens where they are rendered."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..models import Account, Comment
from .limits import RateLimited, RateLimiter

MODERATION = ("all", "new", "none")  # hold every comment / a commenter's until one approved / none
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_NAME = 60


class CommentError(ValueError):
    """A comment that cannot be posted; str(error) says why."""


@dataclass
class Posted:
    status: str  # "approved" | "pending"
    comment_id: int | None  # None for a honeypot catch (nothing stored)


def clean(text: str) -> str:
    """Plain text as stored: NFC, CRLF → LF, no control or bidi-override characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def thread(comments: list[Comment]) -> list[Comment]:
    """Top-level comments with their replies nested (a reply whose parent is not shown is
    shown at the top level)."""
    by_id = {c.id: c for c in comments}
    top = []
    for c in comments:
        c.replies = []
    for c in comments:
        parent = by_id.get(c.parent_id) if c.parent_id is not None else None
        (parent.replies if parent is not None else top).append(c)
    return top


class Comments:
    def __init__(self, store, sessions, settings):
        self.store = store
        self.sessions = sessions
        self.moderation = settings.comment_moderation
        if self.moderation not in MODERATION:
            raise ValueError(
                f"comment_moderation must be one of {', '.join(MODERATION)}, "
                f"not {self.moderation!r}"
            )
        self.anonymous = settings.comment_anonymous
        self.max_length = settings.comment_max_length
        self._limiter = RateLimiter(settings.comment_rate_limit, 600.0)

    def commenter_key(self, account: Account | None, commenter_token: str | None) -> str:
        if account is not None:
            return self.sessions.keyed("commenter", f"account:{account.id}")
        return self.sessions.keyed("commenter", f"anon:{commenter_token or ''}")

    def post(
        self,
        article_id: int,
        body: str,
        *,
        client: str,
        account: Account | None = None,
        author: str = "",
        commenter_token: str | None = None,
        parent_id: int | None = None,
        honeypot: str = "",
    ) -> Posted:
        """Post a comment. Raises CommentError (bad input, anonymous comments off, gone
        article) or RateLimited."""
        if account is None and not self.anonymous:
            raise CommentError("sign in to comment")
        body = clean(body or "")
        if not body:
            raise CommentError("a comment cannot be empty")
        if len(body) > self.max_length:
            raise CommentError(f"a comment has at most {self.max_length} characters")
        name = account.name if account is not None else clean(author or "")[:MAX_NAME]
        name = " ".join(name.split()) or "Anonymous"
        keys = [f"client:{client}"] + ([f"account:{account.id}"] if account else [])
        for key in keys:
            wait = self._limiter.retry_after(key)
            if wait:
                raise RateLimited("too many comments; wait a few minutes", wait)
        for key in keys:
            self._limiter.hit(key)
        if honeypot:  # a field people never see was filled in: a bot; pretend all is well
            return Posted("pending", None)
        if account is None and not commenter_token:
            commenter_token = self.sessions.new_visitor_token()  # nothing to recognise later
        commenter = self.commenter_key(account, commenter_token)
        held = self.moderation == "all" or (
            self.moderation == "new"
            and not (account is not None and account.is_admin)
            and not self.store.commenter_approved(commenter)
        )
        status = "pending" if held else "approved"
        if 0 < article_id < 2**63:
            article_id = self.store.root_of(article_id)  # a copy's comments go to its original
        comment = Comment(
            article_id=article_id,
            author=name,
            body=body,
            status=status,
            parent_id=parent_id,
            account_id=account.id if account else None,
        )
        comment_id = self.store.add_comment(comment, commenter)
        if comment_id is None:
            raise CommentError("that article (or the comment replied to) does not exist")
        return Posted(status, comment_id)

    def for_article(self, article_id: int) -> list[Comment]:
        """Approved comments, threaded."""
        return thread(self.store.comments(article_id, ("approved",)))

    def counts(self, article_ids) -> dict[int, int]:
        return self.store.comment_counts(article_ids)

    def queue(self, limit: int = 100) -> list[Comment]:
        return self.store.comments_with_status("pending", limit)

    def approve(self, comment_id: int) -> bool:
        return self.store.set_comment_status(comment_id, "approved")

    def reject(self, comment_id: int) -> bool:
        return self.store.set_comment_status(comment_id, "rejected")

    def delete(self, comment_id: int) -> bool:
        return self.store.remove_comment(comment_id)
