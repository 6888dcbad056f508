"""Password hashing with scrypt (memory-hard; in the standard library), self-describing so the
cost can be raised later without breaking stored hashes."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# 2**15 × 8 × 128 bytes = 32 MiB of memory per hash: costly to guess at scale, ~0.1 s here
N, R, P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 8
MAX_LENGTH = 1024  # a longer "password" is a denial-of-service attempt, not a secret


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, maxmem=_MAXMEM)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8")[: MAX_LENGTH * 4],
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_password_rules(password: str) -> None:
    """Raise ValueError when a new password is too short or too long."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")


@functools.cache
def dummy_hash() -> str:
    """A hash of nothing anyone knows: an unknown account name costs as much as a wrong
    password, so response times do not tell which names exist. Made on first use, not at
    import (scrypt's 0.1–0.2 s would be paid by every CLI command)."""
    return hash_password(secrets.token_urlsafe(16))
