"""Each gateway's own broker credentials and setpoint key; the Mosquitto files that confine them.

A gateway connects to the broker as ``{park}.{gateway}`` with a password of its own, and the
broker's ACL lets it publish only ``telemetry`` and ``status`` under ``zcpark/v1/{park}/{gateway}/``
and read only its own ``ack`` and ``setpoints``; the server's user (the one in ZCPARK_MQTT_URL) may
read every gateway's telemetry and status (and the parks' weather topics) and publish acks and
setpoints. No other client can connect. The password is stored only as Mosquitto's PBKDF2-SHA512
hash (the ``$7$`` lines ``mosquitto_passwd`` writes), so the password file can be written again at
any time from the database; the setpoint key is a secret the server keeps (it signs with it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, select

from park_server.db import crud
from park_server.db.tables import GatewayRow

#: PBKDF2 rounds of the ``$7$`` hashes, as mosquitto_passwd 2.0 writes them
MOSQUITTO_ITERATIONS = 101
#: the server's broker user when ZCPARK_MQTT_URL names none
SERVER_USER = "zcpark-server"


@dataclass(frozen=True)
class GatewayCredentials:
    """What a gateway file needs, handed out once: its broker user and password and its
    setpoint key (hex, 32 bytes)."""

    broker_user: str
    broker_password: str
    setpoint_key: str

    def mqtt_url(self, broker_url: str) -> str:
        """``broker_url`` (mqtt[s]://host[:port]) with this gateway's user:password in it."""
        parts = urlsplit(broker_url)
        netloc = f"{self.broker_user}:{self.broker_password}@{parts.hostname or '127.0.0.1'}"
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()


def broker_user(park_id: str, gateway_id: str) -> str:
    """The broker user name of a gateway (slugs have no ``.``, so the name is unambiguous)."""
    return f"{park_id}.{gateway_id}"


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """``password`` as Mosquitto's ``$7$`` hash: PBKDF2-HMAC-SHA512, 101 rounds, a 12-byte salt,
    both in standard base64 — the format of ``mosquitto_passwd`` (Mosquitto 2.0)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${MOSQUITTO_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def mosquitto_hash_matches(password: str, hashed: str) -> bool:
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    salt, want = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(got, want)


def issue_credentials(session: Session, *, park_id: str, gateway_id: str) -> GatewayCredentials:
    """Give a registered gateway a new broker password and setpoint key (replacing any old
    ones) and return them; only the password's hash is stored."""
    row = session.get(GatewayRow, (park_id, gateway_id))
    if row is None:
        raise KeyError(f"no gateway {gateway_id!r} in park {park_id!r}")
    password = secrets.token_urlsafe(24)
    creds = GatewayCredentials(broker_user(park_id, gateway_id), password, secrets.token_hex(32))
    row.broker_password_hash = mosquitto_hash(password)
    row.setpoint_key = creds.setpoint_key
    session.add(row)
    session.commit()
    return creds


def setpoint_keys(session: Session) -> dict[tuple[str, str], bytes]:
    """(park, gateway) -> the key its setpoints are signed with, for gateways that have one."""
    rows = session.exec(select(GatewayRow).where(GatewayRow.setpoint_key.is_not(None)))  # type: ignore[union-attr]
    return {(r.park_id, r.id): bytes.fromhex(r.setpoint_key) for r in rows if r.setpoint_key}


def server_credentials(mqtt_url: str | None) -> tuple[str, str]:
    """(user, password) of the server from ZCPARK_MQTT_URL; ValueError when it carries none."""
    parts = urlsplit(mqtt_url or "")
    if not parts.username or not parts.password:
        raise ValueError(
            "must carry the server's broker user and password "
            f"(mqtt://{SERVER_USER}:PASSWORD@host:1883) to write the broker's files"
        )
    return unquote(parts.username), unquote(parts.password)


def passwd_text(session: Session, server_user: str, server_password: str) -> str:
    """The Mosquitto password file: the server's user, then every gateway with a password."""
    lines = [f"{server_user}:{mosquitto_hash(server_password)}"]
    for row in session.exec(select(GatewayRow).order_by(GatewayRow.park_id, GatewayRow.id)):
        if row.broker_password_hash:
            lines.append(f"{broker_user(row.park_id, row.id)}:{row.broker_password_hash}")
    return "\n".join(lines) + "\n"


def acl_text(session: Session, server_user: str) -> str:
    """The Mosquitto ACL file: the server's role, then each gateway confined to its own topics."""
    out = [
        "# written by zcpark gateways add / zcpark gateways broker: do not edit",
        f"user {server_user}",
        "topic read zcpark/v1/+/+/telemetry",
        "topic read zcpark/v1/+/+/status",
        "topic write zcpark/v1/+/+/ack",
        "topic write zcpark/v1/+/+/setpoints",
    ]
    for park in crud.park_configs(session):
        src = park.weather_forecast
        if src is not None and src.source == "mqtt" and src.topic:
            out.append(f"topic read {src.topic}")
    for row in session.exec(select(GatewayRow).order_by(GatewayRow.park_id, GatewayRow.id)):
        if not row.broker_password_hash:
            continue
        root = f"zcpark/v1/{row.park_id}/{row.id}"
        out += [
            "",
            f"user {broker_user(row.park_id, row.id)}",
            f"topic write {root}/telemetry",
            f"topic write {root}/status",
            f"topic read {root}/ack",
            f"topic read {root}/setpoints",
        ]
    return "\n".join(out) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def write_broker_files(session: Session, *, passwd: Path, acl: Path, server_url: str | None) -> int:
    """Write the password and ACL files for every gateway with broker credentials and the
    server's user of ``server_url``; return how many gateways they hold."""
    user, password = server_credentials(server_url)
    write_private(passwd, passwd_text(session, user, password))
    write_private(acl, acl_text(session, user))
    rows = session.exec(select(GatewayRow).where(GatewayRow.broker_password_hash.is_not(None)))  # type: ignore[union-attr]
    return len(list(rows))
