"""Who is asking, in which language, for which park: the dependency every console page takes.

Access follows the API exactly: a park is read through ``api.deps.readable_park`` and changed
through ``api.deps.writable_park``, with the user the session cookie names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from park_server.api.deps import (
    CurrentUser,
    SessionDep,
    StateDep,
    readable_park,
    writable_park,
)
from park_server.console.session import (
    LANG_COOKIE,
    ConsoleSession,
    NotSignedIn,
    current_user,
    read_session,
)
from park_server.db.engine import Session
from park_server.db.tables import ParkRow
from park_server.locale import pick_language
from park_server.state import ServerState


class PageError(Exception):
    """A console page cannot be shown (no access, no such park): an HTML page with the status."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def language(request: Request) -> str:
    """?lang= first (the switch), then the language cookie, then zh."""
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


@dataclass
class Page:
    request: Request
    db: Session
    state: ServerState
    user: CurrentUser
    cookie: ConsoleSession
    lang: str

    def park(self, park_id: str) -> ParkRow:
        """The park if the user may read it (the API's rule), else PageError 403/404."""
        try:
            return readable_park(park_id, self.user, self.db)
        except HTTPException as exc:
            raise PageError(exc.status_code, str(exc.detail)) from None

    def writable(self, park_id: str) -> ParkRow:
        try:
            return writable_park(park_id, self.user, self.db)
        except HTTPException as exc:
            raise PageError(exc.status_code, str(exc.detail)) from None


def _signed_in(request: Request, session: Session, state: ServerState) -> Page | None:
    cookie = read_session(request, state.settings.secret_key)
    user = current_user(session, cookie)
    if user is None or cookie is None:
        return None
    return Page(request, session, state, user, cookie, language(request))


def get_page(request: Request, session: SessionDep, state: StateDep) -> Page:
    """The page's context; without a session, NotSignedIn (a redirect to the sign-in page)."""
    page = _signed_in(request, session, state)
    if page is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotSignedIn(target)
    return page


def get_data_page(request: Request, session: SessionDep, state: StateDep) -> Page:
    """For the JSON the page scripts poll: 401 (not a redirect) without a session."""
    page = _signed_in(request, session, state)
    if page is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in")
    return page


PageDep = Annotated[Page, Depends(get_page)]
DataPageDep = Annotated[Page, Depends(get_data_page)]
