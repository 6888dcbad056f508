"""API tokens for the REST write endpoints: shown once when created, only a SHA-256 digest
is stored (a token is 32 random bytes, so a fast hash cannot be brute-forced)."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

PREFIX = "tdg_"
_NAME = re.compile(r"^[\w.@-]{1,64}$")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """Create, verify, list and revoke API tokens over the store."""

    def __init__(self, store):
        self.store = store

    def create(self, name: str) -> str:
        """A new token named `name`; the only time its value is available."""
        name = name.strip()
        if not _NAME.match(name):
            raise ValueError(
                "token name must be 1-64 letters, digits or . _ @ - (no spaces)"
            )
        token = PREFIX + secrets.token_urlsafe(32)
        if not self.store.add_token(name, digest(token)):
            raise ValueError(f"a token named {name!r} exists already")
        return token

    def verify(self, token: str | None) -> str | None:
        """The name of the token, or None when it is not a valid one."""
        if not token or not token.startswith(PREFIX) or len(token) > 200:
            return None
        found = self.store.token_by_digest(digest(token))
        return found["name"] if found else None

    def list(self) -> list[dict[str, Any]]:
        return self.store.tokens()

    def revoke(self, name: str) -> bool:
        return self.store.delete_token(name)
