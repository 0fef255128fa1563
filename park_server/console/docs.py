"""The API's /docs page (Swagger UI) from the vendored swagger-ui-dist files, so that it works on
a site without internet. Its one inline start-up script is allowed by its hash, nothing else."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from park_server.console.headers import CSP

VENDOR = "/static/vendor/swagger-ui"


def add_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
        )
        body = bytes(page.body).decode()
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in re.findall(r"<script>(.*?)</script>", body, re.S)
        )
        page.headers["Content-Security-Policy"] = CSP.replace(
            "script-src 'self'", f"script-src 'self' {hashes}"
        )
        return page
