"""The alerts a node keeps (docs/adr/0016): those it raised over its own data (``origin`` is the
node itself) and the copies its descendants reported up by ALERT messages. The alert list and
counts of a whole subtree are one statement each over this one table.

Every change of a row is told to listeners in the same transaction (``NOTIFY``, delivered at
commit) when the row is new or its severity rose: that is what ``alertRaised`` streams.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.alerts import Alert, AlertKind, AlertState, Severity
from shared.persistence.tables import alerts

NOTIFY_CHANNEL = "xinfang_alerts"  # payload: {"node": holder, "id": alert id, "rank": n}
OPEN_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


def alert_id(origin: str, key: str) -> str:
    """A stable id for (origin, key), starting with the owner's code so a gateway routes
    ``acknowledgeAlert(id:)`` to it (``shared.ownership``)."""
    digest = hashlib.sha256(key.encode()).digest()[:12]
    return f"{origin}-A-{base64.b32encode(digest).decode().rstrip('=').lower()}"


@dataclass(frozen=True)
class AlertRecord:
    id: str
    origin: str
    key: str
    kind: AlertKind
    severity: Severity
    state: AlertState
    case_id: str | None
    category: str | None
    locality: str | None
    detail: str
    due: datetime | None
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, alert: Alert, now: datetime) -> AlertRecord:
        return cls(
            id=alert_id(alert.node, alert.key),
            origin=alert.node,
            key=alert.key,
            kind=alert.kind,
            severity=alert.severity,
            state=AlertState.OPEN,
            case_id=alert.case_id,
            category=alert.category,
            locality=alert.locality,
            detail=alert.summary,
            due=alert.due,
            raised_at=alert.raised_at,
            acknowledged_by=None,
            acknowledged_at=None,
            resolved_by=None,
            resolved_at=None,
            version=1,
            updated_at=now,
        )

    @classmethod
    def from_row(cls, row: Any) -> AlertRecord:
        m = row._mapping
        return cls(
            **{
                **{name: m[name] for name in COLUMNS},
                "kind": AlertKind(m["kind"]),
                "severity": Severity(m["severity"]),
                "state": AlertState(m["state"]),
            }
        )

    def values(self) -> dict[str, Any]:
        found = {name: getattr(self, name) for name in COLUMNS}
        found.update(
            kind=self.kind.value,
            severity=self.severity.value,
            state=self.state.value,
            severity_rank=self.severity.rank,
        )
        return found

    def to_payload(self) -> dict[str, Any]:
        """The whole row, as an ALERT message carries it (state, not a change)."""
        payload: dict[str, Any] = {}
        for name, value in self.values().items():
            if name == "severity_rank":
                continue
            payload[name] = value.isoformat() if isinstance(value, datetime) else value
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AlertRecord:
        """Raises KeyError, TypeError or ValueError on a malformed payload."""
        extra = set(payload) - set(COLUMNS)
        if extra:
            raise ValueError(f"unknown alert fields {sorted(extra)}")
        values: dict[str, Any] = {}
        for name in COLUMNS:
            value = payload[name]
            if name in TIMES and value is not None:
                value = datetime.fromisoformat(str(value))
            elif name == "version":
                value = int(value)
            elif value is not None:
                value = str(value)
            values[name] = value
        record = cls(
            **{
                **values,
                "kind": AlertKind(values["kind"]),
                "severity": Severity(values["severity"]),
                "state": AlertState(values["state"]),
            }
        )
        if record.version < 1:
            raise ValueError("an alert's version starts at 1")
        if record.id != alert_id(record.origin, record.key):
            raise ValueError("an alert's id does not match its origin and key")
        if record.raised_at is None or record.updated_at is None:
            raise ValueError("an alert has a time it was raised and updated")
        return record


COLUMNS = (
    "id",
    "origin",
    "key",
    "kind",
    "severity",
    "state",
    "case_id",
    "category",
    "locality",
    "detail",
    "due",
    "raised_at",
    "acknowledged_by",
    "acknowledged_at",
    "resolved_by",
    "resolved_at",
    "version",
    "updated_at",
)
TIMES = frozenset(("due", "raised_at", "acknowledged_at", "resolved_at", "updated_at"))


async def notify(conn: AsyncConnection, holder: str, record: AlertRecord) -> None:
    """Tell ``alertRaised`` listeners, at commit, that ``holder`` has a new or risen alert."""
    payload = orjson.dumps({"node": holder, "id": record.id, "rank": record.severity.rank})
    await conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": NOTIFY_CHANNEL, "payload": payload.decode()},
    )


async def own_alerts(
    conn: AsyncConnection, origin: str, kinds: Sequence[AlertKind] | None = None, *, lock: bool
) -> dict[str, AlertRecord]:
    """This node's own alerts by key (of ``kinds``), locked for the evaluation when asked."""
    statement = select(alerts).where(alerts.c.origin == origin)
    if kinds is not None:
        statement = statement.where(alerts.c.kind.in_([k.value for k in kinds]))
    if lock:
        statement = statement.with_for_update()
    return {
        record.key: record
        for record in (AlertRecord.from_row(r) for r in await conn.execute(statement))
    }


async def insert_new(conn: AsyncConnection, record: AlertRecord) -> bool:
    """Insert a new alert; False when (origin, key) is stored already (a concurrent evaluation)."""
    inserted = await conn.execute(
        pg_insert(alerts)
        .values(**record.values())
        .on_conflict_do_nothing(index_elements=[alerts.c.origin, alerts.c.key])
        .returning(alerts.c.id)
    )
    return inserted.first() is not None


async def load(conn: AsyncConnection, alert: str, *, lock: bool = False) -> AlertRecord | None:
    statement = select(alerts).where(alerts.c.id == alert)
    if lock:
        statement = statement.with_for_update()
    row = (await conn.execute(statement)).first()
    return AlertRecord.from_row(row) if row is not None else None


async def save(conn: AsyncConnection, record: AlertRecord) -> None:
    """Replace a stored row with ``record`` (same id)."""
    values = record.values()
    values.pop("id")
    await conn.execute(update(alerts).where(alerts.c.id == record.id).values(**values))


async def store_copy(conn: AsyncConnection, holder: str, record: AlertRecord) -> bool:
    """Keep a descendant's alert as reported: newest version wins (an older or repeated report
    changes nothing). Listeners hear of a new row or a risen severity. True when stored."""
    stored = await load(conn, record.id, lock=True)
    if stored is not None and stored.version >= record.version:
        return False
    if stored is None:
        if not await insert_new(conn, record):
            return await store_copy(conn, holder, record)  # inserted meanwhile: compare again
    else:
        await save(conn, record)
    if stored is None or record.severity.rank > stored.severity.rank:
        await notify(conn, holder, record)
    return True


# -- reads for the GraphQL fields ---------------------------------------------------------------


@dataclass(frozen=True)
class AlertQuery:
    kinds: tuple[AlertKind, ...] = ()
    min_severity: Severity | None = None
    states: tuple[AlertState, ...] = OPEN_STATES

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.kinds:
            found.append(alerts.c.kind.in_([k.value for k in self.kinds]))
        if self.min_severity is not None:
            found.append(alerts.c.severity_rank >= self.min_severity.rank)
        if self.states:
            found.append(alerts.c.state.in_([s.value for s in self.states]))
        return found


@dataclass(frozen=True)
class AlertPage:
    records: list[AlertRecord]
    has_next_page: bool
    total_count: int


def encode_cursor(record: AlertRecord) -> str:
    raw = orjson.dumps([record.raised_at.isoformat(), record.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError on a cursor this module did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, alert = orjson.loads(raw)
        return datetime.fromisoformat(str(at)), str(alert)
    except (TypeError, ValueError, orjson.JSONDecodeError) as error:
        raise ValueError("not a cursor of this list") from error


async def list_alerts(
    conn: AsyncConnection, query: AlertQuery, *, first: int, after: str | None
) -> AlertPage:
    """Newest first (raised_at, then id); ``after`` a cursor of the previous page."""
    conditions = query.conditions()
    total = (
        await conn.execute(select(func.count()).select_from(alerts).where(*conditions))
    ).scalar_one()
    page = select(alerts).where(*conditions)
    if after is not None:
        at, alert = decode_cursor(after)
        page = page.where(
            or_(alerts.c.raised_at < at, and_(alerts.c.raised_at == at, alerts.c.id < alert))
        )
    page = page.order_by(alerts.c.raised_at.desc(), alerts.c.id.desc()).limit(first + 1)
    rows = [AlertRecord.from_row(r) for r in await conn.execute(page)]
    return AlertPage(rows[:first], len(rows) > first, int(total))


async def counts(
    conn: AsyncConnection, query: AlertQuery, child_length: int | None
) -> list[tuple[str | None, str, str, int]]:
    """(child code or None, severity, kind, count) of the alerts kept here: ``child`` is the
    first ``child_length`` digits of the origin (the child whose subtree raised it), None for
    the node's own."""
    child = (
        func.nullif(func.substr(alerts.c.origin, 1, child_length), alerts.c.origin)
        if child_length is not None
        else literal_column("NULL")
    )
    statement = (
        select(child.label("child"), alerts.c.severity, alerts.c.kind, func.count())
        .where(*query.conditions())
        .group_by(literal_column("1"), alerts.c.severity, alerts.c.kind)
    )
    return [(c, severity, kind, int(n)) for c, severity, kind, n in await conn.execute(statement)]


__all__ = [
    "NOTIFY_CHANNEL",
    "AlertPage",
    "AlertQuery",
    "AlertRecord",
    "alert_id",
    "counts",
    "list_alerts",
    "replace",
]
