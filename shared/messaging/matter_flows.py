"""The cross-node rules' messages (docs/adr/0009).

Every case of a known person is announced to the province's matter index (``MATTER_NOTICE``)
when it is registered and whenever its status or finality changes; the province node writes its
own cases' entries directly. Intake asks the index over HTTP (``HttpMatterIndex``); when it
cannot, the case is registered with its check ``PENDING`` and the index answers the case's
notice with ``MATTER_CHECKED``. A skip-level visit goes to the competent node as
``SKIP_LEVEL_VISIT``: counted there against the issue locality, and sent down as a case of its
own when the higher node refused it for skipping levels.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.access import NodeCredential
from shared.casework import CaseWork, Registration
from shared.errors import DomainError, ErrorCode
from shared.lifecycle import CaseState, CaseStatus, Channel, Event
from shared.matters import (
    MatterCheck,
    MatterEntry,
    Refusal,
    judge_intake,
    merged,
    province_of,
)
from shared.messaging import trail_flows
from shared.messaging.flows import (
    RELAY_ACTOR,
    Applier,
    link_to_origin,
    petition_from,
    petition_payload,
    send,
)
from shared.messaging.messages import Message, MessageKind
from shared.persistence import matter_records, repository
from shared.persistence.links import LinkKind, add_link, links_of
from shared.registry import NodeRegistry

log = logging.getLogger("xinfang.matters")
MATTERS_PURPOSE = "matters"  # what a lookup's signature is for (shared.access)
LOOKUP_TIMEOUT = 2.0  # seconds: intake does not keep a petitioner waiting for the index


class HttpMatterIndex:
    """The province's matter index, asked over HTTP (``POST /nodes/{province}/matters``)."""

    def __init__(
        self,
        registry: NodeRegistry,
        province: str,
        client: Callable[[], httpx.AsyncClient | None],
        *,
        sender: str,
        credential: NodeCredential,
    ) -> None:
        self.registry = registry
        self.province = province
        self.client = client
        self.sender = sender  # the asking node, who signs the request
        self.credential = credential

    async def lookup(self, matter_key: str) -> list[MatterEntry] | None:
        client = self.client()
        if client is None:
            return None
        try:
            url = f"{self.registry.base_url(self.province)}/nodes/{self.province}/matters"
            body = json.dumps({"matterKey": matter_key}).encode()
            headers = self.credential.headers(MATTERS_PURPOSE, self.sender, self.province, body)
            response = await client.post(url, content=body, headers=headers, timeout=LOOKUP_TIMEOUT)
            if response.status_code != 200:
                log.warning("matter index answered HTTP %s", response.status_code)
                return None
            return [MatterEntry.from_json(e) for e in response.json()["entries"]]
        except (httpx.HTTPError, LookupError, ValueError, KeyError) as error:
            log.warning("matter index unreachable: %s", error)
            return None


class LocalMatterIndex:
    """The province node's own index, read in its own database."""

    def __init__(self, work: CaseWork) -> None:
        self.work = work

    async def lookup(self, matter_key: str) -> list[MatterEntry] | None:
        async with self.work.db.connect() as conn:
            return await matter_records.entries_for(conn, matter_key)


# -- notices to the index --------------------------------------------------------------------


async def _notify(
    work: CaseWork,
    conn: AsyncConnection,
    entry: MatterEntry,
    *,
    matter_key: str,
    version: int,
    check: bool,
    origin: str | None,
) -> None:
    province = province_of(work.code)
    payload: dict[str, object] = {
        "matterKey": matter_key,
        "entry": entry.to_json(),
        "version": version,
        "check": check,
        "origin": origin,
    }
    if province == work.code:
        await matter_records.upsert_entry(
            conn, entry, matter_key=matter_key, version=version, now=work.clock.now()
        )
        return
    await send(work, conn, province, MessageKind.MATTER_NOTICE, payload)


async def registered(work: CaseWork, conn: AsyncConnection, registration: Registration) -> None:
    """What a new case tells other nodes: the index, the competent node of a skip-level visit."""
    state = registration.state
    finding = registration.finding
    if registration.matter_key is not None:
        await _notify(
            work,
            conn,
            MatterEntry(
                registration.case_id, work.code, state.status, state.final, registration.at
            ),
            matter_key=registration.matter_key,
            version=state.version,
            check=registration.check is MatterCheck.PENDING,
            origin=registration.origin_case_id,
        )
    await _link_earlier(
        work, conn, registration.case_id, finding.earlier, registration.at, known=set()
    )
    if finding.skip_level and finding.competent_node is not None:
        await _send_down(work, conn, registration, redirect=finding.refusal is Refusal.SKIP_LEVEL)


async def _link_earlier(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    earlier: tuple[MatterEntry, ...],
    at: datetime,
    known: set[str | None] | None = None,
) -> None:
    """Trail links to the earlier cases of the same matter (a repeat petition, 重复访);
    ``known``: the remote ids linked already (looked up when not given)."""
    if not earlier:
        return
    if known is None:
        known = {link.remote_id for link in (await links_of(conn, [case_id]))[case_id]}
    for entry in earlier:
        if entry.case_id in known or entry.case_id == case_id:
            continue
        await add_link(
            conn,
            case_id,
            LinkKind.REPEAT_OF,
            remote_node=entry.node,
            remote_id=entry.case_id,
            at=at,
            message_id=f"{work.code}-repeat-{case_id}",
        )


async def _send_down(
    work: CaseWork, conn: AsyncConnection, registration: Registration, *, redirect: bool
) -> None:
    competent = registration.finding.competent_node
    assert competent is not None
    case_id = registration.case_id
    record = (await repository.load_cases(conn, [case_id]))[case_id]
    chosen = (await repository.load_representatives(conn, [case_id]))[case_id]
    payload: dict[str, Any] = petition_payload(record, chosen)
    payload["redirect"] = redirect
    payload["reason"] = registration.finding.reason
    payload["trailRoot"] = registration.trail_root or case_id
    message = await send(work, conn, competent, MessageKind.SKIP_LEVEL_VISIT, payload)
    if redirect:
        await add_link(
            conn,
            registration.case_id,
            LinkKind.REDIRECTED_TO,
            remote_node=competent,
            remote_id=None,
            at=registration.at,
            message_id=message.id,
        )


async def changed(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    before: CaseState,
    after: CaseState,
    event: Event,
) -> None:
    """A reaction to every act: the index hears of a status or finality change."""
    await announce(work, conn, case_id, before, after, event.command.at)


async def announce(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    before: CaseState,
    after: CaseState,
    at: datetime,
) -> None:
    if before.status is after.status and before.final == after.final:
        return
    matter_key = await repository.matter_key_of(conn, case_id)
    if matter_key is None:
        return
    final_at = at if after.final and not before.final else None
    await _notify(
        work,
        conn,
        MatterEntry(case_id, work.code, after.status, after.final, after.registered_at, final_at),
        matter_key=matter_key,
        version=after.version,
        check=False,
        origin=None,
    )


# -- at the province: the index --------------------------------------------------------------


async def _notice(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    if province_of(work.code) != work.code:
        raise DomainError(ErrorCode.WRONG_NODE, "only a province node keeps the matter index")
    payload = message.payload
    entry = MatterEntry.from_json(payload["entry"])
    if entry.node != message.sender:
        raise DomainError(ErrorCode.WRONG_NODE, "a node announces only its own cases")
    matter_key = str(payload["matterKey"])
    version = payload["version"]
    assert isinstance(version, int)
    if entry.final_at is None and entry.final:
        previous = await matter_records.entries_for(conn, matter_key)
        known = next((e for e in previous if e.case_id == entry.case_id), None)
        if known is not None and known.final_at is not None:
            entry = MatterEntry(
                entry.case_id, entry.node, entry.status, True, entry.registered_at, known.final_at
            )
    await matter_records.upsert_entry(
        conn, entry, matter_key=matter_key, version=version, now=work.clock.now()
    )
    if payload.get("check"):
        others = [
            e.to_json()
            for e in await matter_records.entries_for(conn, matter_key)
            if e.case_id != entry.case_id
        ]
        await send(
            work,
            conn,
            message.sender,
            MessageKind.MATTER_CHECKED,
            {"caseId": entry.case_id, "entries": others, "origin": payload.get("origin")},
        )


# -- at the node whose check was pending -----------------------------------------------------


async def _checked(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    """The index's late answer: judged as intake would have judged it, as far as still can be."""
    case_id = str(message.payload["caseId"])
    state = await repository.lock_case_state(conn, case_id)
    records = await repository.load_cases(conn, [case_id])
    if state is None or case_id not in records:
        raise DomainError(ErrorCode.NOT_FOUND, f"no case {case_id} at node {work.code}")
    record = records[case_id]
    matter_key = await repository.matter_key_of(conn, case_id)
    assert matter_key is not None
    remote = [MatterEntry.from_json(e) for e in message.payload["entries"]]
    local = await repository.matter_entries(conn, matter_key)
    origin = message.payload.get("origin")
    finding = judge_intake(
        work.code,
        channel=Channel(record.channel),
        issue_locality=record.issue_locality_code,
        at=record.registered_at,
        entries=merged(remote, local),
        exclude=[case_id, *([str(origin)] if origin else [])],
        direct=record.received_from is None,
    )
    check = MatterCheck.CHECKED
    refusal = finding.refusal
    if refusal is not None and refusal is not Refusal.SKIP_LEVEL and record.refusal_code is None:
        if state.status is CaseStatus.REGISTERED:
            assert finding.reason is not None
            await work.refuse_in(
                conn, case_id, state, refusal, finding.reason, RELAY_ACTOR, work.clock.now()
            )
            after = await repository.load_state(conn, case_id)
            assert after is not None
            await announce(work, conn, case_id, state, after, work.clock.now())
            await trail_flows.note_last_act(work, conn, case_id, refusal.value)
        else:
            check = MatterCheck.CONFLICT  # accepted meanwhile: a handler decides (ADR 0009)
    values: dict[str, object] = {"matter_check": check.value}
    if record.repeat_of is None and finding.repeat_of is not None:
        values["repeat_of"] = finding.repeat_of
    await repository.set_case_columns(conn, case_id, **values)
    await _link_earlier(work, conn, case_id, finding.earlier, work.clock.now())


# -- at the competent node -------------------------------------------------------------------


async def _skip_level_visit(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    visit_case_id = str(payload["caseId"])
    case_id: str | None = None
    if payload.get("redirect"):
        petition = petition_from(payload, message.sender, work.cipher)
        root = payload.get("trailRoot")
        case_id = await work.receive_petition_in(
            conn,
            petition,
            actor=RELAY_ACTOR,
            origin_case_id=visit_case_id,
            check_index=True,
            skip_level_from=message.sender,
            trail_root=str(root) if root else visit_case_id,
        )
        await link_to_origin(work, conn, message, case_id, LinkKind.REDIRECTED_FROM, visit_case_id)
    await matter_records.record_skip_level_visit(
        conn,
        visit_case_id=visit_case_id,
        visited_node=message.sender,
        issue_locality=str(payload["issueLocality"]),
        at=datetime.fromisoformat(str(payload["registeredAt"])),
        case_id=case_id,
        message_id=message.id,
    )


MATTER_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.MATTER_NOTICE: _notice,
    MessageKind.MATTER_CHECKED: _checked,
    MessageKind.SKIP_LEVEL_VISIT: _skip_level_visit,
}
