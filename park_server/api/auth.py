"""POST /auth/token: OAuth2 password flow, with login attempts rate-limited."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from park_server.api.deps import SessionDep, StateDep
from park_server.db import crud
from park_server.security import TokenClaims, create_token

router = APIRouter(tags=["auth"])


@router.post("/auth/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    state: StateDep,
) -> dict[str, str]:
    # the peer's address; X-Forwarded-For counts only from ZCPARK_TRUSTED_PROXIES, where uvicorn
    # (run by `zcpark server`) has already put the forwarded client here
    client = request.client.host if request.client else "?"
    if not state.limiter.allow(client, form.username):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many login attempts; wait a minute"
        )
    user = crud.authenticate(session, name=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong user name or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = TokenClaims(user.name, user.role, tuple(json.loads(user.parks_json)))
    token = create_token(claims, state.settings.secret_key, state.settings.token_minutes)
    return {"access_token": token, "token_type": "bearer"}
