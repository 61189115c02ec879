"""The background workers stop when the service stops, even when woken as they are cancelled
(Python 3.11's ``asyncio.wait_for`` lost that cancellation: the relay went on for ever and a
service's shutdown with it)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.messaging import workers


async def _worker(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        await workers.woken(event, 60)
        event.clear()
        rounds.append(1)
        await asyncio.sleep(0)


async def test_a_worker_woken_in_the_same_turn_as_it_is_cancelled_ends() -> None:
    event = asyncio.Event()
    rounds: list[int] = []
    task = asyncio.create_task(_worker(event, rounds))
    await asyncio.sleep(0.01)  # waiting for the event
    event.set()  # woken ...
    task.cancel()  # ... and cancelled in the same turn
    done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task}
    assert task.cancelled()


async def test_woken_tells_a_wake_up_from_a_time_out() -> None:
    event = asyncio.Event()
    assert await workers.woken(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await workers.woken(event, 5) is True


async def _stubborn(stopped: list[str]) -> None:
    """Swallows the first cancellation, as code below a worker sometimes does."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        stopped.append("swallowed")
    await asyncio.sleep(60)


async def _failing() -> None:
    raise RuntimeError("broken worker")


async def test_stop_asks_again_until_every_worker_has_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped: list[str] = []
    stubborn = asyncio.create_task(_stubborn(stopped), name="stubborn")
    failing = asyncio.create_task(_failing(), name="failing")
    plain = asyncio.create_task(asyncio.sleep(60), name="plain")
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.WARNING, logger="xinfang.workers"):
        await asyncio.wait_for(workers.stop([stubborn, failing, plain], again_after=0.05), 5)
    assert [stubborn.done(), plain.done(), failing.done()] == [True, True, True]
    assert stopped == ["swallowed"]
    messages = [r.getMessage() for r in caplog.records]
    assert "worker stubborn did not stop when cancelled: cancelling again" in messages
    assert "worker failing had failed" in messages
