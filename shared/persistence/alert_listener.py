"""alertRaised's source (docs/adr/0016): one ``LISTEN`` connection per tier service.

A node's alert row that is new or rose in severity is announced with ``NOTIFY`` in the
transaction that wrote it (``shared.persistence.alert_records.notify``): PostgreSQL delivers it
at commit, to every service listening, whichever process wrote it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.alert_records import NOTIFY_CHANNEL

log = logging.getLogger("xinfang.alerts")

Heard = tuple[str, int]  # an alert's id and its severity's rank


class AlertListener:
    """One ``LISTEN`` connection per tier service, fanned out to the subscriptions of each node
    it hosts. Started at the first subscription; a notification for a node nobody here
    watches costs a dictionary look-up."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._subscribers: dict[str, set[asyncio.Queue[Heard]]] = {}
        self._raw: Any = None
        self._lock = asyncio.Lock()

    async def subscribe(self, code: str) -> asyncio.Queue[Heard]:
        await self._start()
        queue: asyncio.Queue[Heard] = asyncio.Queue(maxsize=1000)
        self._subscribers.setdefault(code, set()).add(queue)
        return queue

    def unsubscribe(self, code: str, queue: asyncio.Queue[Heard]) -> None:
        found = self._subscribers.get(code)
        if found is not None:
            found.discard(queue)
            if not found:
                del self._subscribers[code]

    def watched(self) -> int:
        return sum(len(q) for q in self._subscribers.values())

    async def _start(self) -> None:
        async with self._lock:
            if self._raw is not None:
                return
            raw = await self.engine.raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(NOTIFY_CHANNEL, self._heard)
            self._raw = raw

    def _heard(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            told = orjson.loads(payload)
            code, alert, rank = str(told["node"]), str(told["id"]), int(told["rank"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("an alert notification this service cannot read: %r", payload[:200])
            return
        for queue in list(self._subscribers.get(code, ())):
            try:
                queue.put_nowait((alert, rank))
            except asyncio.QueueFull:  # a subscriber that does not read loses the oldest news
                log.warning("a subscription of node %s fell behind", code)

    async def close(self) -> None:
        async with self._lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            driver = raw.driver_connection
            try:
                await driver.remove_listener(NOTIFY_CHANNEL, self._heard)
            finally:
                raw.close()
