"""The relay: delivers each hosted node's outbox to the recipients' services over HTTP.

At least once: a message leaves the outbox only when the recipient answered 200 (applied,
duplicate or rejected); a failure schedules a retry with backoff. Exactly once in effect: the
recipient's inbox keys every message by its id. A node's outbox rows are locked while a relay
works on them (``FOR UPDATE SKIP LOCKED``), so several service replicas can relay side by side.
Each request is signed as its sending node (``shared.access.NodeCredential``); the recipient
checks the signature before it reads the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import httpx
import orjson
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.access import NodeCredential
from shared.casework import CaseWork, Clock, SystemClock
from shared.messaging import outbox
from shared.messaging.messages import Message
from shared.messaging.workers import woken
from shared.registry import NodeRegistry
from shared.telemetry import message_span

log = logging.getLogger("xinfang.relay")
MESSAGE_PURPOSE = "message"  # what a message's signature is for (shared.access)


class Relay:
    def __init__(
        self,
        works: Mapping[str, CaseWork],
        registry: NodeRegistry,
        *,
        client: httpx.AsyncClient,
        credential: NodeCredential | None = None,
        clock: Clock | None = None,
        batch: int = 100,
        sweep_seconds: float = 300.0,
        concurrency: int = 8,
        timeout: float = 10.0,
    ) -> None:
        self.works = works
        self.registry = registry
        self.client = client
        self.credential = credential or NodeCredential.from_env()
        self.clock: Clock = clock or SystemClock()  # delivery runs on real time, always
        self.batch = batch
        self.sweep_seconds = sweep_seconds
        self.timeout = timeout
        self._pending: set[str] = set()
        self._wakeup = asyncio.Event()
        self._limit = asyncio.Semaphore(concurrency)
        self._retry_handles: dict[str, asyncio.TimerHandle] = {}
        self.delivered = 0
        self.failed_attempts = 0

    def wake(self, code: str) -> None:
        """Something was written at ``code``: look at its outbox soon."""
        self._pending.add(code)
        self._wakeup.set()

    async def run(self) -> None:
        self._pending.update(self.works)  # whatever was left when the service last stopped
        while True:
            if not await woken(self._wakeup, self.sweep_seconds):
                self._pending.update(self.works)  # a slow safety sweep
            self._wakeup.clear()
            codes, self._pending = self._pending, set()
            await asyncio.gather(*(self._deliver_guarded(code) for code in codes))

    async def drain(self) -> None:
        """Deliver everything due now at every hosted node (tests, shutdown)."""
        await asyncio.gather(*(self._deliver_guarded(code) for code in self.works))

    async def _deliver_guarded(self, code: str) -> None:
        async with self._limit:
            try:
                await self.deliver_node(code)
            except Exception:  # the relay must outlive a bad database moment
                log.exception("relay failed for node %s", code)
                self._retry_later(code, 1.0)

    async def deliver_node(self, code: str) -> int:
        """One batch of ``code``'s due messages; how many were delivered."""
        work = self.works[code]
        delivered = 0
        async with work.db.begin() as conn:
            messages = await outbox.claim_due(conn, code, self.clock.now(), self.batch)
            for message in messages:
                error = await self._post(message)
                now = self.clock.now()
                if error is None or error.startswith("REJECTED"):
                    await outbox.mark_delivered(conn, message.id, now, error)
                    delivered += 1
                else:
                    await outbox.mark_failed(conn, message.id, now, error)
                    self.failed_attempts += 1
            # Messages not due yet (backing off) need a timer, whatever happened in this round.
            next_due = await outbox.next_due(conn)
        self.delivered += delivered
        if len(messages) == self.batch:
            self.wake(code)
        elif next_due is not None:
            self._retry_later(code, max(0.1, (next_due - self.clock.now()).total_seconds()))
        return delivered

    async def _post(self, message: Message) -> str | None:
        """None when the recipient took the message; else why not."""
        with message_span("deliver", message, kind=SpanKind.PRODUCER, new_trace=True) as span:
            error = await self._send(message)
            if error is not None:
                span.set_attribute("xinfang.message.outcome", error[:200])
                if not error.startswith("REJECTED"):
                    span.set_status(Status(StatusCode.ERROR, error[:200]))
            return error

    async def _send(self, message: Message) -> str | None:
        try:
            url = self.registry.messages_url(message.recipient)
        except LookupError as error:
            return str(error)
        try:
            body = orjson.dumps(message.to_json())
            headers = self.credential.headers(
                MESSAGE_PURPOSE, message.sender, message.recipient, body
            )
            response = await self.client.post(
                url, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        answer = response.json()
        if answer.get("status") == "rejected":
            log.warning(
                "node %s rejected message %s: %s",
                message.recipient,
                message.id,
                answer.get("detail"),
            )
            return f"REJECTED: {answer.get('detail')}"
        return None

    def _retry_later(self, code: str, seconds: float) -> None:
        if code in self._retry_handles:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._retry_handles.pop(code, None)
            self.wake(code)

        self._retry_handles[code] = loop.call_later(seconds, fire)
