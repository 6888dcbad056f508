"""Accounts: creating, listing and removing them, signing in (rate-limited), and the one-time
setup link that creates the first admin when there is none (never a default password)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets

from ..models import Account
from .limits import RateLimited, RateLimiter
from .passwords import check_password_rules, dummy_hash, hash_password, verify_password

ROLES = ("admin", "reader")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SETUP_META = "setup_token_sha256"


class AccountError(ValueError):
    """An account cannot be created or changed as asked; str(error) says why."""


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise AccountError(
            "an account name is 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    def __init__(self, store, login_attempts: int = 5, login_window: float = 900.0):
        self.store = store
        # failed sign-ins per client and per account name
        self._by_client = RateLimiter(login_attempts, login_window)
        self._by_name = RateLimiter(login_attempts * 4, login_window)

    def add(self, name: str, password: str, admin: bool = False) -> Account:
        check_name(name)
        try:
            check_password_rules(password)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        account_id = self.store.add_account(
            name, hash_password(password), "admin" if admin else "reader"
        )
        if account_id is None:
            raise AccountError(f"an account named {name!r} already exists")
        return self.store.account(account_id)

    def list(self) -> list[Account]:
        return self.store.accounts()

    def get(self, account_id: int) -> Account | None:
        return self.store.account(account_id)

    def remove(self, name: str) -> bool:
        return self.store.remove_account(name)

    def has_admin(self) -> bool:
        return any(a.is_admin for a in self.store.accounts())

    def authenticate(self, name: str, password: str, client: str) -> Account | None:
        """The account when name and password match; None when they do not. Raises
        RateLimited after too many failures from this client or for this name."""
        name_key = (name or "").lower()[:64]
        wait = max(self._by_client.retry_after(client), self._by_name.retry_after(name_key))
        if wait:
            raise RateLimited("too many failed sign-ins; try again later", wait)
        found = self.store.account_credentials(name) if NAME.fullmatch(name or "") else None
        stored = found[1] if found else dummy_hash()
        ok = verify_password(password[:4096], stored)
        if found and ok:
            self._by_client.clear(client)
            return found[0]
        for limiter, key in ((self._by_client, client), (self._by_name, name_key)):
            with contextlib.suppress(RateLimited):  # already over: stays over
                limiter.hit(key)
        return None

    # -- first run ---------------------------------------------------------------------

    def setup_token(self) -> str | None:
        """A new one-time token for creating the first admin, or None when an admin exists.
        Only its hash is stored; a new call replaces the previous token."""
        if self.has_admin():
            return None
        token = secrets.token_urlsafe(24)
        with self.store.transaction() as tx:
            self.store.set_meta(tx, SETUP_META, _sha256(token))
        return token

    def setup_valid(self, token: str) -> bool:
        stored = self.store.get_meta(SETUP_META)
        return bool(stored and token) and hmac.compare_digest(stored, _sha256(token))

    def complete_setup(self, token: str, name: str, password: str) -> Account:
        """Create the first admin with a valid setup token; the token is then spent."""
        if self.has_admin() or not self.setup_valid(token):
            raise AccountError("this setup link is not valid (an admin may exist already)")
        account = self.add(name, password, admin=True)
        with self.store.transaction() as tx:
            self.store.set_meta(tx, SETUP_META, "")
        return account
