"""What the service's background workers (relay, figures, alerts) share: waiting to be woken,
and being stopped.

Python 3.11's ``asyncio.wait_for`` loses a cancellation that arrives in the same loop turn as
the awaited event is set: it returns as if woken and the task goes on for ever, which held a
service's shutdown (and a test of it) until killed. ``woken`` waits with ``asyncio.timeout``,
which counts cancellations, and ``stop`` asks again until every worker has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("xinfang.workers")


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Wait for ``event`` at most ``seconds``: True when it was set, False on time-out.
    A cancellation is never lost."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop(tasks: Iterable[asyncio.Task[None]], *, again_after: float = 1.0) -> None:
    """Cancel ``tasks`` and wait until each has ended, cancelling again any that has not
    after ``again_after`` seconds (a cancellation swallowed somewhere below it). A worker's
    own failure is logged, not raised: the service is stopping either way."""
    everyone = list(tasks)
    for task in everyone:
        task.cancel()
    pending = set(everyone)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=again_after)
        for task in pending:
            log.warning("worker %s did not stop when cancelled: cancelling again", task.get_name())
            task.cancel()
    for task in everyone:
        if not task.cancelled() and task.exception() is not None:
            log.error("worker %s had failed", task.get_name(), exc_info=task.exception())
