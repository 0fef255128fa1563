"""FastAPI dependencies: the session, the current user, park access, the calling gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from park_server.db import crud
from park_server.db.engine import Session, session_scope
from park_server.db.tables import GatewayRow, ParkRow
from park_server.security import TokenClaims, decode_token
from park_server.state import ServerState

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.zcpark
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    yield from session_scope(state.engine)


SessionDep = Annotated[Session, Depends(get_session)]

UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "not authenticated", headers={"WWW-Authenticate": "Bearer"}
)


@dataclass(frozen=True)
class CurrentUser:
    name: str
    role: str
    parks: tuple[str, ...]

    def can_read(self, park_id: str) -> bool:
        return self.role == "admin" or park_id in self.parks

    def can_write(self, park_id: str) -> bool:
        return self.role == "admin" or (self.role == "manager" and park_id in self.parks)


def get_user(
    state: StateDep, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> CurrentUser:
    if not token:
        raise UNAUTHORIZED
    claims: TokenClaims | None = decode_token(token, state.settings.secret_key)
    if claims is None:
        raise UNAUTHORIZED
    row = crud.user_by_name(session, name=claims.user)
    if row is None:
        raise UNAUTHORIZED
    return CurrentUser(row.name, row.role, tuple(json.loads(row.parks_json)))


UserDep = Annotated[CurrentUser, Depends(get_user)]


def readable_park(park: str, user: UserDep, session: SessionDep) -> ParkRow:
    if not user.can_read(park):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to park {park!r}")
    row = crud.park(session, park_id=park)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no park {park!r}")
    return row


ParkDep = Annotated[ParkRow, Depends(readable_park)]


def writable_park(park: str, user: UserDep, session: SessionDep) -> ParkRow:
    if not user.can_write(park):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"{user.role} {user.name!r} cannot change park {park!r}"
        )
    row = crud.park(session, park_id=park)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no park {park!r}")
    return row


WritableParkDep = Annotated[ParkRow, Depends(writable_park)]


def get_gateway(session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> GatewayRow:
    if not token:
        raise UNAUTHORIZED
    row = crud.gateway_for_key(session, key=token)
    if row is None:
        raise UNAUTHORIZED
    return row


GatewayDep = Annotated[GatewayRow, Depends(get_gateway)]
