"""Database operations with keyword-only arguments and no HTTP in them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from config import Park, load_park, load_profile
from park_server.db.tables import (
    AssetRow,
    EnterpriseRow,
    EventRow,
    GatewayRow,
    MeterRow,
    ParkRow,
    UserRow,
)
from park_server.security import (
    hash_password,
    key_matches,
    new_gateway_key,
    split_gateway_key,
    verify_password,
)
from park_server.timeutil import now_ms


def sync_park(session: Session, *, park: Park) -> None:
    """Insert or update the park, its enterprises, assets and meters from its file."""
    row = session.get(ParkRow, park.id)
    # unset keys stay unset: a default the file did not choose (emission_factor.method) can be
    # told from one it did (docs/decisions.md)
    config_json = park.model_dump_json(exclude_unset=True)
    if row is None:
        row = ParkRow(
            id=park.id,
            name=park.name,
            name_zh=park.name_zh,
            timezone=park.timezone,
            config_json=config_json,
            updated_ms=now_ms(),
        )
    else:
        row.name, row.name_zh, row.timezone = park.name, park.name_zh, park.timezone
        row.config_json, row.updated_ms = config_json, now_ms()
    session.add(row)
    session.flush()
    for table in (EnterpriseRow, AssetRow, MeterRow):
        session.exec(delete(table).where(table.park_id == park.id))  # type: ignore[arg-type]
    owner = {m: e.id for e in park.enterprises for m in e.meters}
    for e in park.enterprises:
        session.add(EnterpriseRow(park_id=park.id, id=e.id, name=e.name, industry=e.industry))
    for a in park.assets:
        session.add(
            AssetRow(
                park_id=park.id, id=a.id, kind=a.kind, name=a.name, params_json=a.model_dump_json()
            )
        )
    for m in park.meters:
        profile = load_profile(m.profile)
        session.add(
            MeterRow(
                park_id=park.id,
                id=m.id,
                asset_id=m.asset,
                role=park.meter_role(m),
                duty=m.duty,
                profile=m.profile,
                sign=m.sign,
                enterprise_id=owner.get(m.id),
                description=m.description,
                quantities_json=json.dumps(profile.quantities),
            )
        )
    session.commit()


def sync_park_files(session: Session, *, paths: list[Path]) -> list[Park]:
    parks = [load_park(p) for p in paths]  # all files valid before anything is written
    for park in parks:
        sync_park(session, park=park)
    return parks


def park_config(session: Session, *, park_id: str) -> Park | None:
    row = session.get(ParkRow, park_id)
    return Park.model_validate_json(row.config_json) if row else None


def park_configs(session: Session) -> list[Park]:
    """Every park's configuration, as stored by sync_park."""
    return [Park.model_validate_json(r.config_json) for r in session.exec(select(ParkRow)).all()]


def create_user(
    session: Session, *, name: str, role: str, parks: list[str], password: str
) -> UserRow:
    existing = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if existing is not None:
        raise ValueError(f"user {name!r} exists already")
    user = UserRow(
        name=name,
        role=role,
        parks_json=json.dumps(sorted(parks)),
        password_hash=hash_password(password),
        created_ms=now_ms(),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, *, name: str, password: str) -> UserRow | None:
    user = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if user is None:
        verify_password(password, _DUMMY_HASH)  # same time whether or not the user exists
        return None
    return user if verify_password(password, user.password_hash) else None


_DUMMY_HASH = hash_password("timing-equaliser")


def create_gateway(session: Session, *, park_id: str, gateway_id: str) -> str:
    """Register a gateway (or give it a new key) and return the key, which is not stored."""
    key_id, key, key_hash = new_gateway_key()
    row = session.get(GatewayRow, (park_id, gateway_id))
    if row is None:
        row = GatewayRow(
            park_id=park_id, id=gateway_id, key_id=key_id, key_hash=key_hash, created_ms=now_ms()
        )
    else:
        row.key_id, row.key_hash = key_id, key_hash
    session.add(row)
    session.commit()
    return key


def gateway_for_key(session: Session, *, key: str) -> GatewayRow | None:
    parts = split_gateway_key(key)
    if parts is None:
        return None
    key_id, secret = parts
    row = session.exec(select(GatewayRow).where(GatewayRow.key_id == key_id)).first()
    if row is None or not key_matches(secret, row.key_hash):
        return None
    return row


@dataclass(frozen=True)
class MeterInfo:
    sign: int


@dataclass
class ParkMeters:
    """What the validator needs to know of a park: its meters and their signs."""

    park_id: str
    meters: dict[str, MeterInfo]


def load_park_meters(session: Session, park_id: str) -> ParkMeters:
    rows = (
        session.connection()
        .execute(text("SELECT id, sign FROM meter WHERE park_id = :p"), {"p": park_id})
        .all()
    )
    return ParkMeters(park_id, {r[0]: MeterInfo(int(r[1])) for r in rows})


def parks(session: Session) -> list[ParkRow]:
    """Every park, by id."""
    return list(session.exec(select(ParkRow).order_by(ParkRow.id)).all())


def park(session: Session, *, park_id: str) -> ParkRow | None:
    return session.get(ParkRow, park_id)


def meters(session: Session, *, park_id: str) -> list[MeterRow]:
    """A park's meters, by id."""
    return list(
        session.exec(
            select(MeterRow).where(MeterRow.park_id == park_id).order_by(MeterRow.id)
        ).all()
    )


def meter(session: Session, *, park_id: str, meter_id: str) -> MeterRow | None:
    return session.get(MeterRow, (park_id, meter_id))


def gateways(session: Session, *, park_id: str) -> list[GatewayRow]:
    """A park's gateways, by id."""
    return list(
        session.exec(
            select(GatewayRow).where(GatewayRow.park_id == park_id).order_by(GatewayRow.id)
        ).all()
    )


def user_by_name(session: Session, *, name: str) -> UserRow | None:
    return session.exec(select(UserRow).where(UserRow.name == name)).first()


def events(session: Session, *, park_id: str, open_only: bool, limit: int) -> list[EventRow]:
    """A park's events (alarms), newest first."""
    q = select(EventRow).where(EventRow.park_id == park_id)
    if open_only:
        q = q.where(col(EventRow.closed_ms).is_(None))
    return list(session.exec(q.order_by(col(EventRow.opened_ms).desc()).limit(limit)).all())


def close_event(session: Session, *, park_id: str, event_id: int) -> EventRow | None:
    """Close (acknowledge) an open event now; None when the park has no such event."""
    row = session.get(EventRow, event_id)
    if row is None or row.park_id != park_id:
        return None
    if row.closed_ms is None:
        row.closed_ms = now_ms()
        session.add(row)
        session.commit()
    return row


def acknowledge_event(
    session: Session, *, park_id: str, event_id: int, user: str
) -> EventRow | None:
    """Record that ``user`` has seen the event, now (the first acknowledgement counts); the event
    stays open until its condition clears. None when the park has no such event."""
    row = session.get(EventRow, event_id)
    if row is None or row.park_id != park_id:
        return None
    if row.acknowledged_ms is None:
        row.acknowledged_ms, row.acknowledged_by = now_ms(), user
        session.add(row)
        session.commit()
    return row
