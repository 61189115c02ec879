"""A tier service: the nodes one process hosts on one database engine, their case work, and
the relay that carries their messages to other nodes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

import httpx
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.access import NodeCredential
from shared.casework import CaseWork, Clock, SystemClock
from shared.divisions import Division, Tier, division_tree
from shared.errors import DomainError
from shared.holidays import HolidayCalendar
from shared.matters import MatterEntry, MatterIndex, province_of
from shared.messaging import alert_flows, dispatch, inbox, matter_flows, workers
from shared.messaging.alert_flows import AlertsEvaluator
from shared.messaging.figures_flows import FiguresRefresher, interval_from_env
from shared.messaging.messages import Message
from shared.messaging.relay import Relay
from shared.persistence.alert_listener import AlertListener
from shared.persistence.repository import NodeDatabase
from shared.privacy import IdCipher
from shared.registry import NodeRegistry
from shared.telemetry import message_span
from shared.validation import ValidationFailed

log = logging.getLogger("xinfang.service")


class Receipt(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass
class TierService:
    tier: Tier
    engine: AsyncEngine
    calendar: HolidayCalendar
    person_key_secret: bytes
    clock: Clock = field(default_factory=SystemClock)
    registry: NodeRegistry = field(default_factory=NodeRegistry)
    works: dict[str, CaseWork] = field(default_factory=dict)
    relay: Relay | None = None
    http: httpx.AsyncClient | None = None  # for asking the matter index, while running
    figures: FiguresRefresher | None = None  # subtree figures reported up, while running
    figures_interval: float = field(default_factory=interval_from_env)  # seconds
    refresh_figures: bool = True  # False: no refresher beside the relay (benchmarks of writes)
    alerts: AlertsEvaluator | None = None  # time-fired alerts evaluated, while running
    alerts_interval: float = field(default_factory=alert_flows.interval_from_env)  # seconds
    # Periodic evaluation beside the relay (docs/adr/0016); the event kinds are raised in the
    # writes' own transactions either way. Off by default: ``xinfang run`` and the tier
    # service command turn it on, tests that need it say so.
    evaluate_alerts: bool = False
    _alert_listener: AlertListener | None = None
    # Signs this service's requests to other nodes (messages, the matter index).
    credential: NodeCredential = field(default_factory=NodeCredential.from_env)
    # Seals ID numbers at rest under the province's key (XINFANG_ENCRYPTION_KEY, ADR 0018).
    cipher: IdCipher = field(default_factory=IdCipher.from_env)

    def host(self, codes: Sequence[str]) -> None:
        tree = division_tree()
        for code in codes:
            division = tree.require(code)
            if division.tier is not self.tier:
                raise ValueError(f"{code} is a {division.tier.value} node, not {self.tier.value}")
            work = CaseWork(
                NodeDatabase(self.engine, code),
                calendar=self.calendar,
                clock=self.clock,
                person_key_secret=self.person_key_secret,
                reaction=dispatch.react,
                on_commit=self._wake_relay,
                on_register=dispatch.registered,
                cipher=self.cipher,
            )
            work.matter_index = self._matter_index(work)
            self.works[code] = work

    @property
    def alert_listener(self) -> AlertListener:
        """alertRaised's source for the nodes hosted here (listens from the first subscriber)."""
        if self._alert_listener is None:
            self._alert_listener = AlertListener(self.engine)
        return self._alert_listener

    async def close_alert_listener(self) -> None:
        listener, self._alert_listener = self._alert_listener, None
        if listener is not None:
            await listener.close()

    def _matter_index(self, work: CaseWork) -> MatterIndex:
        province = province_of(work.code)
        if province == work.code:
            return matter_flows.LocalMatterIndex(work)
        return matter_flows.HttpMatterIndex(
            self.registry, province, lambda: self.http, sender=work.code, credential=self.credential
        )

    async def matter_entries(self, work: CaseWork, matter_key: str) -> list[MatterEntry] | None:
        """The matter index of a province node hosted here; None for any other node."""
        if province_of(work.code) != work.code:
            return None
        return await matter_flows.LocalMatterIndex(work).lookup(matter_key)

    def node(self, code: str) -> tuple[Division, CaseWork] | None:
        work = self.works.get(code)
        if work is None:
            return None
        return division_tree().require(code), work

    def _wake_relay(self, code: str) -> None:
        """A write at ``code`` committed: its outbox may hold messages, its figures changed."""
        if self.relay is not None:
            self.relay.wake(code)
        if self.figures is not None:
            self.figures.dirty(code)
        if self.alerts is not None:
            self.alerts.dirty(code)

    def _report_sent(self, code: str) -> None:
        if self.relay is not None:
            self.relay.wake(code)

    async def receive(self, work: CaseWork, message: Message) -> tuple[Receipt, str | None]:
        """Apply a message from another node once; a repeat is acknowledged, not applied."""
        with message_span("apply", message, kind=SpanKind.CONSUMER) as span:
            receipt = await self._apply_once(work, message)
            span.set_attribute("xinfang.message.receipt", receipt[0].value)
        work.committed()
        return receipt

    async def _apply_once(self, work: CaseWork, message: Message) -> tuple[Receipt, str | None]:
        async with work.db.begin() as conn:
            fresh = await inbox.record(conn, message, self.clock.now(), inbox.APPLIED, None)
            if not fresh:
                return Receipt.DUPLICATE, None
            try:
                async with conn.begin_nested():
                    await dispatch.apply_message(work, conn, message)
            except (DomainError, ValidationFailed) as error:
                detail = getattr(error, "message", str(error))
                await inbox.mark_rejected(conn, message.id, detail)
                log.warning(
                    "node %s rejected %s %s: %s", work.code, message.kind, message.id, detail
                )
                receipt: tuple[Receipt, str | None] = (Receipt.REJECTED, detail)
            else:
                receipt = (Receipt.APPLIED, None)
        return receipt

    @asynccontextmanager
    async def running_relay(self, **options: float) -> AsyncIterator[Relay]:
        """Relay this service's outboxes while the block runs, and keep the hosted nodes'
        subtree figures reported up (docs/adr/0013)."""
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        async with httpx.AsyncClient(limits=limits) as client:
            self.http = client
            self.relay = Relay(
                self.works,
                self.registry,
                client=client,
                credential=self.credential,
                **options,  # type: ignore[arg-type]
            )
            tasks = [asyncio.create_task(self.relay.run(), name=f"relay-{self.tier.value}")]
            if self.refresh_figures:
                self.figures = FiguresRefresher(
                    self.works, sent=self._report_sent, interval=self.figures_interval
                )
                tasks.append(
                    asyncio.create_task(self.figures.run(), name=f"figures-{self.tier.value}")
                )
            if self.evaluate_alerts:
                self.alerts = AlertsEvaluator(
                    self.works, sent=self._report_sent, interval=self.alerts_interval
                )
                tasks.append(
                    asyncio.create_task(self.alerts.run(), name=f"alerts-{self.tier.value}")
                )
            try:
                yield self.relay
            finally:
                await workers.stop(tasks)
                self.relay = None
                self.figures = None
                self.alerts = None
                self.http = None
