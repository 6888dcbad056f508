"""Who is asking: the signed-in session (if any), the anonymous visitor cookie, the form token
and the client key for rate limits; and the cookies a response sets. Glue between requests
and the readers room."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response

from ..readers import Session

SESSION_COOKIE = "tidings_session"
VISITOR_COOKIE = "tidings_visitor"
YEAR = 365 * 24 * 3600


@dataclass
class Visitor:
    session: Session | None
    visitor_token: str
    new_visitor: bool
    client: str  # the peer address, only ever used in memory (rate limits, visit dedupe)
    user_agent: str
    csrf: str
    secure: bool
    set_cookies: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def account(self):
        return self.session.account if self.session else None

    @property
    def is_admin(self) -> bool:
        return bool(self.account and self.account.is_admin)


def visitor(request: Request) -> Visitor:
    """Resolve the visitor once per request (cached on request.state)."""
    cached = getattr(request.state, "visitor", None)
    if cached is not None:
        return cached
    readers = request.app.state.engine.readers
    session = readers.sessions.resolve(request.cookies.get(SESSION_COOKIE))
    token = request.cookies.get(VISITOR_COOKIE) or ""
    new = not (16 <= len(token) <= 64)
    if new:
        token = readers.sessions.new_visitor_token()
    found = Visitor(
        session=session,
        visitor_token=token,
        new_visitor=new,
        client=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent", "")[:512],
        csrf=readers.sessions.csrf_token(session, token),
        secure=request.url.scheme == "https",
    )
    request.state.visitor = found
    return found


def set_cookie(
    response: Response, who: Visitor, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=who.secure, path="/"
    )


def finish(response: Response, who: Visitor) -> Response:
    """Set the cookies this request decided on."""
    if who.new_visitor:
        set_cookie(response, who, VISITOR_COOKIE, who.visitor_token, YEAR)
    for name, value, max_age in who.set_cookies:
        if max_age == 0:
            response.delete_cookie(name, path="/", secure=who.secure, httponly=True, samesite="lax")
        else:
            set_cookie(response, who, name, value, max_age)
    return response
