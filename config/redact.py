"""Secrets out of text: URLs' passwords and key-like query values, before a line is logged or a
configuration is returned (docs/deployment.md, "Secrets").

``redact("mqtt://gw:s3cret@host:1883")`` is ``mqtt://gw:***@host:1883``;
``redact("https://api.example/f?lat=1&apikey=abc")`` is ``https://api.example/f?lat=1&apikey=***``.
"""

from __future__ import annotations

import re

#: query parameters whose values are secrets (case-insensitive; ``x-api-key`` matches ``key``)
SECRET_PARAMS = (
    "key",
    "apikey",
    "api_key",
    "appid",
    "token",
    "access_token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "sig",
    "signature",
    "auth",
)

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")
_QUERY = re.compile(
    r"(?P<lead>[?&;](?:[A-Za-z0-9_.-]*[_-])?(?:" + "|".join(SECRET_PARAMS) + r")=)[^&#\s\"']*",
    re.IGNORECASE,
)
#: gateway keys (park_server.security.KEY_PREFIX "zcgk")
_GATEWAY_KEY = re.compile(r"\bzcgk_[0-9a-f]{16}_[A-Za-z0-9_-]{8,}")

MASK = "***"


def redact(text: str) -> str:
    """``text`` with URL passwords, secret query values and gateway keys replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _QUERY.sub(lambda m: f"{m['lead']}{MASK}", text)
    return _GATEWAY_KEY.sub(MASK, text)
