"""The console's sign-in: a signed session cookie over the API's users, roles and parks, and the
CSRF token every form carries.

The cookie holds a JWT (HS256, the server's secret key) with the user's name and a random CSRF
token; role and parks are read from the database on every request (``crud.user_by_name``, as the
API's ``get_user`` does), so a changed or removed user takes effect at once. Before sign-in the
cookie holds only a CSRF token, so that the sign-in form is protected too.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request, Response

from park_server.api.deps import CurrentUser
from park_server.db import crud
from park_server.db.engine import Session

COOKIE = "zcpark_session"
LANG_COOKIE = "zcpark_lang"
CSRF_FIELD = "csrf"
SESSION_HOURS = 12


@dataclass(frozen=True)
class ConsoleSession:
    """What the cookie says: the user (None before sign-in) and the CSRF token of the forms."""

    user: str | None
    csrf: str


class NotSignedIn(Exception):
    """Raised by a page without a session; the console answers with a redirect to sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form arrived without the CSRF token of its session (answered with 403)."""


def read_session(request: Request, secret: str) -> ConsoleSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: dict[str, Any] = jwt.decode(raw, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    csrf = data.get("csrf")
    if not isinstance(csrf, str) or not csrf:
        return None
    user = data.get("sub")
    return ConsoleSession(user if isinstance(user, str) else None, csrf)


def new_session(user: str | None) -> ConsoleSession:
    """A session for ``user`` (None: before sign-in) with a fresh CSRF token."""
    return ConsoleSession(user, secrets.token_urlsafe(24))


def store_session(request: Request, response: Response, secret: str, cs: ConsoleSession) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Secure when served over TLS."""
    now = int(time.time())
    payload: dict[str, Any] = {"csrf": cs.csrf, "iat": now, "exp": now + SESSION_HOURS * 3600}
    if cs.user is not None:
        payload["sub"] = cs.user
    response.set_cookie(
        COOKIE,
        jwt.encode(payload, secret, algorithm="HS256"),
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def current_user(session: Session, cookie: ConsoleSession | None) -> CurrentUser | None:
    """The signed-in user with the role and parks stored now, or None."""
    if cookie is None or cookie.user is None:
        return None
    row = crud.user_by_name(session, name=cookie.user)
    if row is None:
        return None
    return CurrentUser(row.name, row.role, tuple(json.loads(row.parks_json)))


def check_csrf(cookie: ConsoleSession | None, sent: object) -> None:
    """CsrfRefused unless ``sent`` is the session's token."""
    if cookie is None or not isinstance(sent, str) or not sent:
        raise CsrfRefused
    if not hmac.compare_digest(cookie.csrf.encode(), sent.encode()):
        raise CsrfRefused
