"""The web console for park energy managers (docs/console.md): server-rendered pages on the same
FastAPI app, signed in with a session cookie, figures from the API's own functions.

``install(app)`` adds the pages, their static files (vendored ECharts and Swagger UI: no request
leaves the server) and the API's /docs page served from those local assets. ``SecurityHeaders``
is the middleware that puts CSP, X-Frame-Options and Referrer-Policy on every response.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette import status

from park_server.console.access import PageError
from park_server.console.carbon_pages import router as carbon_router
from park_server.console.docs import add_docs
from park_server.console.headers import SecurityHeaders
from park_server.console.pages import respond, router
from park_server.console.render import STATIC
from park_server.console.session import CsrfRefused, NotSignedIn

__all__ = ["SecurityHeaders", "install"]


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(carbon_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="console-static")
    add_docs(app)

    @app.exception_handler(NotSignedIn)
    async def to_sign_in(request: Request, exc: NotSignedIn) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status.HTTP_303_SEE_OTHER)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return respond(None, request, "error.html", {"code": 403, "detail": "csrf"}, 403)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return respond(
            None,
            request,
            "error.html",
            {"code": exc.status_code, "detail": exc.detail},
            exc.status_code,
        )
