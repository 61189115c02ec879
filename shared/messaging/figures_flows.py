"""Subtree figures reported up hop by hop (docs/adr/0013).

A node's subtree figures per day are its own daily figures plus the latest report of each
child. When they changed, the node sends its parent a ``SUBTREE_FIGURES`` message (written to
the outbox in the transaction that computes them) with the changed entries only, each in
full, stamped with the node's next report version. The parent keeps per (child, day[, key])
the values of the highest version it has applied, and recomputes its own figures in turn.

The tier service runs a ``FiguresRefresher`` next to the relay: a node is refreshed shortly
after a write (cases, deadlines, events, reviews, supervision orders) or an applied message,
and every ``XINFANG_FIGURES_INTERVAL`` seconds regardless (time moves deadlines into overdue).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork
from shared.divisions import parent_code
from shared.errors import DomainError, ErrorCode
from shared.figures import Figures, SubtreeReport, changes
from shared.messaging import inbox, outbox
from shared.messaging.flows import Applier, send
from shared.messaging.messages import Message, MessageKind
from shared.messaging.workers import woken
from shared.persistence import daily_figures
from shared.persistence import figures_records as records

log = logging.getLogger("xinfang.figures")

DEFAULT_INTERVAL = 300.0  # seconds between refreshes of every node, changed or not
DEFAULT_DEBOUNCE = 0.5  # seconds a dirty node waits, so a burst of writes is counted once


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get("XINFANG_FIGURES_INTERVAL", "")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError as error:
        raise ValueError(f"XINFANG_FIGURES_INTERVAL is seconds, not {raw!r}") from error
    if value <= 0:
        raise ValueError("XINFANG_FIGURES_INTERVAL is a positive number of seconds")
    return value


async def refresh_in(work: CaseWork, conn: AsyncConnection, now: datetime) -> Message | None:
    """Recompute this node's subtree figures in ``conn``'s transaction; the report sent up
    (in the same transaction), or None when nothing changed or the node has no parent."""
    state = await records.report_state(conn, lock=True)  # one refresh of a node at a time
    subtree = Figures()
    subtree.add(await daily_figures.own_figures(conn, work.code, now))
    subtree.add(await records.children_figures(conn))
    changed = changes(await records.load_subtree(conn), subtree.without_zeros())
    senders = await records.senders(conn)
    as_of = min([now, *(s.as_of for s in senders.values())])
    version = state.version if state is not None else 0
    parent = parent_code(work.code)
    message: Message | None = None
    if not changed.is_empty():
        await records.store_subtree_changes(conn, changed)
    if parent is not None and (not changed.is_empty() or state is None):
        version += 1  # the first report is sent even when empty: the parent knows we are here
        report = SubtreeReport(version=version, as_of=as_of, figures=changed)
        message = await send(work, conn, parent, MessageKind.SUBTREE_FIGURES, report.to_payload())
    await records.save_report_state(
        conn, records.ReportState(version=version, as_of=as_of, computed_at=now)
    )
    return message


async def refresh(work: CaseWork) -> Message | None:
    async with work.db.begin() as conn:
        return await refresh_in(work, conn, work.clock.now())


async def _subtree_figures(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    if parent_code(message.sender) != work.code:
        raise DomainError(
            ErrorCode.WRONG_NODE,
            f"node {work.code} is not the parent of node {message.sender}",
        )
    try:
        report = SubtreeReport.from_payload(message.payload)
    except (KeyError, TypeError, ValueError) as error:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, f"a malformed subtree figures report: {error}"
        ) from error
    await records.store_child_report(
        conn, message.sender, report, reported_at=work.clock.now(), message_id=message.id
    )


FIGURES_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.SUBTREE_FIGURES: _subtree_figures,
}


class FiguresRefresher:
    """Refreshes the hosted nodes' figures: a dirty node after ``debounce`` seconds, every
    node every ``interval`` seconds. ``sent`` is called with a node whose report is in its
    outbox (the relay's wake-up)."""

    def __init__(
        self,
        works: Mapping[str, CaseWork],
        *,
        sent: Callable[[str], None],
        interval: float = DEFAULT_INTERVAL,
        debounce: float = DEFAULT_DEBOUNCE,
        concurrency: int = 4,
    ) -> None:
        self.works = works
        self.sent = sent
        self.interval = interval
        self.debounce = debounce
        self._dirty: set[str] = set()
        self._wakeup = asyncio.Event()
        self._limit = asyncio.Semaphore(concurrency)
        self.refreshed = 0
        self.reports = 0

    def dirty(self, code: str) -> None:
        """Something was written at ``code``: count its figures again soon."""
        if code in self.works:
            self._dirty.add(code)
            self._wakeup.set()

    async def run(self) -> None:
        self._dirty.update(self.works)  # whatever changed while the service was down
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + self.interval
        while True:
            timeout = max(0.0, next_sweep - loop.time())
            if await woken(self._wakeup, timeout):
                await asyncio.sleep(self.debounce)  # let a burst of writes finish
            else:
                self._dirty.update(self.works)
                next_sweep = loop.time() + self.interval
            self._wakeup.clear()
            codes, self._dirty = self._dirty, set()
            await self.refresh_all(codes)

    async def refresh_all(self, codes: set[str] | None = None) -> int:
        """Refresh ``codes`` (every hosted node when None), lowest tier first; how many
        reports were sent."""
        chosen = sorted(self.works if codes is None else codes, key=lambda c: (-len(c), c))
        results = await asyncio.gather(*(self._refresh_guarded(code) for code in chosen))
        return sum(results)

    async def _refresh_guarded(self, code: str) -> int:
        async with self._limit:
            try:
                message = await refresh(self.works[code])
            except Exception:  # the refresher must outlive a bad database moment
                log.exception("figures refresh failed for node %s", code)
                self._dirty.add(code)
                return 0
        self.refreshed += 1
        if message is None:
            return 0
        self.reports += 1
        self.sent(code)
        return 1


async def converge(works: Mapping[str, CaseWork], *, concurrency: int = 4) -> int:
    """Refresh every node of ``works`` bottom-up and apply each report at its parent at once,
    as the relay would deliver it (inbox record, applied once, outbox marked delivered): the
    seeded figures are converged before any service starts. Returns the reports applied."""
    limit = asyncio.Semaphore(concurrency)
    applied = 0

    async def one(code: str) -> None:
        nonlocal applied
        work = works[code]
        async with limit:
            async with work.db.begin() as conn:
                message = await refresh_in(work, conn, work.clock.now())
            if message is None or message.recipient not in works:
                return
            parent = works[message.recipient]
            now = parent.clock.now()
            async with parent.db.begin() as conn:
                if await inbox.record(conn, message, now, inbox.APPLIED, None):
                    await _subtree_figures(parent, conn, message)
                    applied += 1
            async with work.db.begin() as conn:
                await outbox.mark_delivered(conn, message.id, now, "applied at seeding")

    for length in sorted({len(code) for code in works}, reverse=True):  # townships first
        await asyncio.gather(*(one(code) for code in works if len(code) == length))
    return applied
