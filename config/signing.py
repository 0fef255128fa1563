"""Signed setpoint messages (docs/edge.md, "Signed setpoints"): the server signs each gateway's
setpoints with the gateway's own key, the gateway checks the signature before it writes a device.

The signature is HMAC-SHA256, in hex, over the message's canonical JSON — every field but
``signature``, keys sorted, no spaces (``json.dumps(m, sort_keys=True, separators=(",", ":"))``) —
so both sides compute it from the parsed message, whatever the spacing on the wire. It lives here
because the server and the edge agent share no other module (they meet only over MQTT).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE = "signature"


def canonical(message: dict[str, Any]) -> bytes:
    """The bytes a signature covers: ``message`` without ``signature`` as canonical JSON."""
    body = {k: v for k, v in message.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def signature(message: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of the canonical message with ``key``, as 64 hex digits."""
    return hmac.new(key, canonical(message), hashlib.sha256).hexdigest()


def signed(message: dict[str, Any], key: bytes) -> dict[str, Any]:
    """``message`` with its ``signature``."""
    return {**message, SIGNATURE: signature(message, key)}


def signature_problem(message: dict[str, Any], key: bytes) -> str | None:
    """Why ``message`` is not signed with ``key`` (missing, not hex, wrong), or None."""
    given = message.get(SIGNATURE)
    if given is None:
        return "no signature (this gateway takes only signed setpoints)"
    if not isinstance(given, str) or len(given) != 64:
        return "signature is not 64 hex digits"
    try:
        want = signature(message, key)
    except ValueError:  # NaN or infinity in the message: no canonical form
        return "message has no canonical JSON form (a non-finite number)"
    if not hmac.compare_digest(given.lower(), want):
        return "signature does not match (not signed with this gateway's key, or altered)"
    return None
