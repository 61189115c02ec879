"""Registration throughput: ``registerPetition`` over real HTTP, N requests in flight.

Each registration is one transaction writing the case, its petitioner, the REGISTER event and
the acceptance deadline. Petitions are planned with the seed's generator (valid resident IDs,
localities inside the node) before the clock starts; idempotency keys are all distinct.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.server import StatementCounter
from bench.timing import Summary
from shared.casework import PetitionInput
from shared.seed import plan_case

REGISTER = """
mutation Register($input: RegisterPetitionInput!, $key: String!) {
  registerPetition(input: $input, idempotencyKey: $key) { id status }
}
"""


@dataclass(frozen=True)
class RegistrationResult:
    concurrency: int
    seconds: float  # wall time of the whole run
    latency: Summary
    statements: int  # SQL statements the service ran meanwhile (the relay's included)

    @property
    def rate(self) -> float:
        return self.latency.count / self.seconds

    @property
    def statements_each(self) -> float:
        return self.statements / self.latency.count


def petition_input(petition: PetitionInput) -> dict[str, Any]:
    return {
        "channel": petition.channel.value,
        "category": petition.category,
        "summary": petition.summary,
        "issueLocality": petition.issue_locality_code,
        "petitionerName": petition.petitioner_name,
        "petitionerIdNumber": petition.petitioner_id_number,
        "petitionerPhone": petition.petitioner_phone,
        "personCount": petition.person_count,
    }


def petitions(node: str, count: int, *, seed: int) -> list[dict[str, Any]]:
    """``count`` valid, distinct petitions for ``node``, as GraphQL input."""
    rng = random.Random(f"bench-registration:{seed}:{node}")
    now = datetime.now(UTC)
    return [petition_input(plan_case(rng, node, now, i).petition) for i in range(count)]


async def register_all(
    client: httpx.AsyncClient,
    node: str,
    inputs: Sequence[dict[str, Any]],
    counter: StatementCounter,
    *,
    concurrency: int,
) -> RegistrationResult:
    """Register every input, ``concurrency`` requests in flight over kept-alive connections."""
    run = uuid.uuid4().hex[:12]
    todo: Iterator[tuple[int, dict[str, Any]]] = iter(enumerate(inputs))
    latencies: list[float] = []
    url = f"/nodes/{node}/graphql"

    async def worker() -> None:
        for i, petition in todo:  # one shared iterator: each input is taken once
            body = {"query": REGISTER, "variables": {"input": petition, "key": f"bench-{run}-{i}"}}
            started = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append(time.perf_counter() - started)
            check(response)

    before = counter.count
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return RegistrationResult(concurrency, seconds, Summary.of(latencies), counter.count - before)


def check(response: httpx.Response) -> dict[str, Any]:
    """The response's data; raises when the request or the mutation failed."""
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors'][:2]}")
    data: dict[str, Any] = body["data"]
    return data
