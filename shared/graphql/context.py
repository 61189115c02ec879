"""What a resolver gets: its node, the node's case work, and loaders built for this request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiodataloader import DataLoader
from starlette.requests import Request
from starlette.websockets import WebSocket

from shared.auth import Principal
from shared.casework import CaseWork
from shared.divisions import Division
from shared.lifecycle import Deadline, Event
from shared.persistence import repository
from shared.persistence.alert_listener import AlertListener
from shared.persistence.links import CaseLink, links_of
from shared.persistence.repository import CaseRecord, NodeDatabase


class CaseLoaders:
    """Per-request batch loaders: one SQL query per batch, a short connection each.

    aiodataloader binds the running event loop when a loader is built, so these are built per
    request, never at import time.
    """

    def __init__(self, db: NodeDatabase) -> None:
        self.db = db
        self.case: DataLoader[str, CaseRecord | None] = DataLoader(self._cases, max_batch_size=5000)
        self.events: DataLoader[str, list[Event]] = DataLoader(self._events, max_batch_size=5000)
        self.deadlines: DataLoader[str, list[Deadline]] = DataLoader(
            self._deadlines, max_batch_size=5000
        )
        self.links: DataLoader[str, list[CaseLink]] = DataLoader(self._links, max_batch_size=5000)
        self.representatives: DataLoader[str, list[dict[str, Any]]] = DataLoader(
            self._representatives, max_batch_size=5000
        )

    async def _cases(self, ids: Sequence[str]) -> list[CaseRecord | None]:
        async with self.db.connect() as conn:
            found = await repository.load_cases(conn, ids)
        return [found.get(case_id) for case_id in ids]

    async def _events(self, ids: Sequence[str]) -> list[list[Event]]:
        async with self.db.connect() as conn:
            found = await repository.load_events(conn, ids)
        return [found[case_id] for case_id in ids]

    async def _links(self, ids: Sequence[str]) -> list[list[CaseLink]]:
        async with self.db.connect() as conn:
            found = await links_of(conn, ids)
        return [found[case_id] for case_id in ids]

    async def _representatives(self, ids: Sequence[str]) -> list[list[dict[str, Any]]]:
        async with self.db.connect() as conn:
            found = await repository.load_representatives(conn, ids)
        return [found[case_id] for case_id in ids]

    async def _deadlines(self, ids: Sequence[str]) -> list[list[Deadline]]:
        async with self.db.connect() as conn:
            found = await repository.load_deadlines(conn, ids)
        return [found[case_id] for case_id in ids]


@dataclass
class NodeContext:
    request: Request | WebSocket
    response: Any
    node: Division
    work: CaseWork
    loaders: CaseLoaders
    actor: str  # the token's subject: who is recorded as acting
    principal: Principal | None = None  # None only when the request is refused before running
    extra: dict[str, Any] = field(default_factory=dict)
    alerts: AlertListener | None = None  # alertRaised's source: the service's NOTIFY listener
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload

    @property
    def db(self) -> NodeDatabase:
        return self.work.db
