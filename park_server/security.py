"""Passwords (argon2id), bearer tokens (JWT, HS256) and gateway keys.

Gateway keys are 256-bit random secrets; they are stored as SHA-256 digests, which is enough for
secrets of that entropy and keeps the ingest path fast (a KDF would cost tens of ms per batch).
A key reads ``zcgk_<key id>_<secret>``; the id finds the row, the digest proves the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user: str
    role: str
    parks: tuple[str, ...]


def create_token(claims: TokenClaims, secret: str, minutes: int) -> str:
    now = int(time.time())
    payload = {
        "sub": claims.user,
        "role": claims.role,
        "parks": list(claims.parks),
        "iat": now,
        "exp": now + minutes * 60,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_token(token: str, secret: str) -> TokenClaims | None:
    try:
        data = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    return TokenClaims(str(data["sub"]), str(data["role"]), tuple(data.get("parks", [])))


KEY_PREFIX = "zcgk"


def new_gateway_key() -> tuple[str, str, str]:
    """(key id, full key to hand out once, digest to store)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = f"{KEY_PREFIX}_{key_id}_{secret}"
    return key_id, key, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_gateway_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def key_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
