"""Server-side sessions behind a random cookie token (only its hash is stored), and CSRF tokens
for every form: a session's own token when signed in, else one bound to the visitor's
anonymous cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..models import Account

SECRET_META = "site_secret"


@dataclass
class Session:
    account: Account
    csrf: str
    expires: datetime


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def site_secret(store) -> bytes:
    """The site's random secret (created on first use and kept in the database): the key of
    anonymous CSRF tokens and commenter keys."""
    value = store.get_meta(SECRET_META)
    if not value:
        with store.transaction() as tx:
            value = store.get_meta(SECRET_META, tx)
            if not value:
                value = secrets.token_hex(32)
                store.set_meta(tx, SECRET_META, value)
    return bytes.fromhex(value)


class Sessions:
    def __init__(self, store, days: float = 30.0):
        self.store = store
        self.lifetime = timedelta(days=days)
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = site_secret(self.store)
        return self._secret

    def keyed(self, purpose: str, value: str) -> str:
        """A keyed hash of `value` for `purpose`: stable for this site, useless elsewhere."""
        return hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def start(self, account: Account) -> tuple[str, Session]:
        """A new session: the cookie token (give it to the client, never store it) and the
        session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + self.lifetime
        self.store.add_session(_sha256(token), account.id, csrf, expires)
        return token, Session(account, csrf, expires)

    def resolve(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        found = self.store.session(_sha256(token))
        if found is None:
            return None
        account, csrf, expires = found
        if expires <= datetime.now(UTC):
            self.store.remove_session(_sha256(token))
            return None
        return Session(account, csrf, expires)

    def end(self, token: str | None) -> None:
        if token and len(token) <= 128:
            self.store.remove_session(_sha256(token))

    @staticmethod
    def new_visitor_token() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, session: Session | None, visitor: str | None) -> str:
        """The token a form must carry back: the session's, or one derived from the
        anonymous visitor cookie (empty when there is neither)."""
        if session is not None:
            return session.csrf
        return self.keyed("csrf", visitor) if visitor else ""

    def csrf_valid(
        self, submitted: str | None, session: Session | None, visitor: str | None
    ) -> bool:
        expected = self.csrf_token(session, visitor)
        return bool(expected and submitted) and hmac.compare_digest(
            expected.encode(), str(submitted).encode()
        )
