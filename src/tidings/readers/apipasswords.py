"""API passwords for reader apps: set apart from the sign-in password, checked by ClientLogin
(Google Reader) and by Fever's md5 key; the sync tokens derived from them (stateless: an HMAC
of the account and its API password hash, so a new API password revokes every old token)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets

from ..models import Account
from .limits import RateLimited, RateLimiter
from .passwords import check_password_rules, dummy_hash, hash_password, verify_password

SECRET_META = "sync_secret"
T_TOKEN_LENGTH = 57  # as FreshRSS: some clients check the length


def fever_key(name: str, password: str) -> str:
    """What a Fever client sends as api_key: md5("name:password") in hex."""
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()  # noqa: S324 (the protocol's)


class ApiPasswords:
    def __init__(self, store, login_attempts: int = 5, login_window: float = 900.0):
        self.store = store
        self._by_client = RateLimiter(login_attempts, login_window)
        self._by_name = RateLimiter(login_attempts * 4, login_window)
        self._secret: bytes | None = None

    def set(self, account: Account, password: str) -> None:
        """Give an account a new API password (the old one and its tokens stop working)."""
        check_password_rules(password)
        self.store.set_api_password(
            account.id, hash_password(password), fever_key(account.name, password)
        )

    def set_by_name(self, name: str, password: str) -> Account:
        """`set` for the account named so; ValueError when there is none."""
        found = self.store.account_credentials(name)
        if found is None:
            raise ValueError(f"no account named {name!r}")
        self.set(found[0], password)
        return found[0]

    def login(self, name: str, password: str, client: str) -> tuple[Account, str] | None:
        """ClientLogin: the account and its auth token when name and API password match.
        Raises RateLimited after too many failures from this client or for this name."""
        name = (name or "")[:64]
        key = name.lower()
        wait = max(self._by_client.retry_after(client), self._by_name.retry_after(key))
        if wait:
            raise RateLimited("too many failed sign-ins; try again later", wait)
        found = self.store.api_credentials(name) if name else None
        ok = verify_password((password or "")[:4096], found[1] if found else dummy_hash())
        if found and ok:
            self._by_client.clear(client)
            return found[0], self._auth_token(found[0], found[1])
        for limiter, k in ((self._by_client, client), (self._by_name, key)):
            with contextlib.suppress(RateLimited):
                limiter.hit(k)
        return None

    def account_for_token(self, token: str | None) -> Account | None:
        """The account an auth token (from ClientLogin) belongs to, or None."""
        name, _, _ = (token or "").strip().rpartition("/")
        if not name or len(token or "") > 200:
            return None
        found = self.store.api_credentials(name)
        if found is None:
            return None
        expected = self._auth_token(found[0], found[1])
        return found[0] if hmac.compare_digest(expected, token.strip()) else None

    def write_token(self, auth_token: str) -> str:
        """The T token a client sends with its writes, derived from its auth token."""
        return self._mac("T", auth_token.strip())[:T_TOKEN_LENGTH]

    def write_token_valid(self, auth_token: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(
            self.write_token(auth_token), token.strip()
        )

    def account_for_fever_key(self, api_key: str | None) -> Account | None:
        key = (api_key or "").strip().lower()
        if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
            return None
        return self.store.account_by_fever_key(key)

    def account_named(self, name: str) -> Account | None:
        """The account named so, when it has an API password."""
        found = self.store.api_credentials(name) if 0 < len(name or "") <= 64 else None
        return found[0] if found else None

    def stream_token(self, account: Account, stream: str) -> str | None:
        """The secret that opens one private stream's feed URL (None without an API
        password; a new API password changes every one)."""
        found = self.store.api_credentials(account.name)
        if found is None:
            return None
        return self._mac("stream", f"{account.id}:{found[1]}:{stream}")[:32]

    def stream_token_valid(self, account: Account, stream: str, token: str | None) -> bool:
        expected = self.stream_token(account, stream)
        return bool(expected and token) and hmac.compare_digest(expected, token.strip())

    # -- the server's secret -----------------------------------------------------------

    def _auth_token(self, account: Account, api_hash: str) -> str:
        return f"{account.name}/{self._mac('auth', f'{account.id}:{api_hash}')[:40]}"

    def _mac(self, purpose: str, message: str) -> str:
        return hmac.new(
            self._server_secret(), f"{purpose}:{message}".encode(), hashlib.sha256
        ).hexdigest()

    def _server_secret(self) -> bytes:
        if self._secret is None:
            stored = self.store.get_meta(SECRET_META)
            if not stored:
                with self.store.transaction() as tx:
                    stored = self.store.get_meta(SECRET_META, tx)
                    if not stored:  # another process may have made one meanwhile
                        stored = secrets.token_hex(32)
                        self.store.set_meta(tx, SECRET_META, stored)
            self._secret = bytes.fromhex(stored)
        return self._secret
