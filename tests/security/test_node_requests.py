"""Requests between nodes (messages, the matter index) are services talking, not users: each is
signed as its sending node with the platform's service secret (shared.access.NodeCredential).
A request without a valid signature is refused before it is read; a signature binds the sender
and the recipient, so a copy replayed to another node, or a message claiming another sender,
is refused too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.access import NodeCredential
from shared.casework import FixedClock
from shared.messaging.matter_flows import MATTERS_PURPOSE
from shared.messaging.messages import Message, MessageKind, new_message_id
from shared.messaging.relay import MESSAGE_PURPOSE
from tests.conftest import COUNTY, OTHER_COUNTY, PROVINCE
from tests.roles import tier_client

CREDENTIAL = NodeCredential.from_env()  # what the services under test sign and check with
SENDER = "530102001"


def message(sender: str = SENDER, recipient: str = COUNTY) -> bytes:
    found = Message(
        id=new_message_id(sender),
        sender=sender,
        recipient=recipient,
        kind=MessageKind.COMPLETION_REPORT,
        payload={"caseId": f"{recipient}-2025-999999", "text": "报告"},
        created_at=datetime(2025, 3, 3, 2, 0, tzinfo=UTC),
    )
    return json.dumps(found.to_json()).encode()


async def deliver(
    client: httpx.AsyncClient, to: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    response = await client.post(f"/nodes/{to}/messages", content=body, headers=headers)
    return response.status_code, response.json()["status"]


async def test_a_signed_message_is_taken_and_an_unsigned_one_is_refused_unread(
    client: httpx.AsyncClient,
) -> None:
    body = message()
    signed = CREDENTIAL.headers(MESSAGE_PURPOSE, SENDER, COUNTY, body)
    # Taken: the signature holds; the content is then judged (here: no such case).
    assert await deliver(client, COUNTY, body, signed) == (200, "rejected")
    assert await deliver(client, COUNTY, message(), {"content-type": "application/json"}) == (
        401,
        "unauthenticated",
    )
    # Not even a malformed body is looked at without a signature.
    assert await deliver(client, COUNTY, b"{not json", {}) == (401, "unauthenticated")


async def test_a_forged_or_replayed_signature_is_refused(client: httpx.AsyncClient) -> None:
    body = message()
    other_secret = NodeCredential(b"not-the-platform-secret")
    forged = other_secret.headers(MESSAGE_PURPOSE, SENDER, COUNTY, body)
    assert await deliver(client, COUNTY, body, forged) == (401, "unauthenticated")
    # Signed for one node, sent to another.
    to_other = message(recipient=OTHER_COUNTY)
    signed_for_county = CREDENTIAL.headers(MESSAGE_PURPOSE, SENDER, COUNTY, to_other)
    assert await deliver(client, OTHER_COUNTY, to_other, signed_for_county) == (
        401,
        "unauthenticated",
    )
    # A body changed after signing.
    signed = CREDENTIAL.headers(MESSAGE_PURPOSE, SENDER, COUNTY, body)
    assert await deliver(client, COUNTY, message(), signed) == (401, "unauthenticated")
    # A signature for the matter index is not one for a message.
    wrong_purpose = CREDENTIAL.headers(MATTERS_PURPOSE, SENDER, COUNTY, body)
    assert await deliver(client, COUNTY, body, wrong_purpose) == (401, "unauthenticated")


async def test_a_message_claiming_another_sender_or_recipient_is_refused(
    client: httpx.AsyncClient,
) -> None:
    claims_other_sender = message(sender="530103001")
    signed_as_township = CREDENTIAL.headers(MESSAGE_PURPOSE, SENDER, COUNTY, claims_other_sender)
    assert await deliver(client, COUNTY, claims_other_sender, signed_as_township) == (
        403,
        "forbidden",
    )
    for_other = message(recipient=OTHER_COUNTY)
    signed = CREDENTIAL.headers(MESSAGE_PURPOSE, SENDER, COUNTY, for_other)
    assert await deliver(client, COUNTY, for_other, signed) == (403, "forbidden")


async def test_the_matter_index_answers_only_signed_requests_of_its_province(
    clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    body = json.dumps({"matterKey": "k"}).encode()
    async with tier_client(clean_engine, clock, PROVINCE) as gql:
        http = gql.http

        async def ask(headers: dict[str, str]) -> tuple[int, Any]:
            answer = await http.post(f"/nodes/{PROVINCE}/matters", content=body, headers=headers)
            return answer.status_code, answer.json()

        assert await ask(CREDENTIAL.headers(MATTERS_PURPOSE, COUNTY, PROVINCE, body)) == (
            200,
            {"entries": []},
        )
        unsigned = await ask({})
        assert (unsigned[0], unsigned[1]["status"]) == (401, "unauthenticated")
        other_province = await ask(CREDENTIAL.headers(MATTERS_PURPOSE, "5201", PROVINCE, body))
        assert (other_province[0], other_province[1]["status"]) == (403, "forbidden")
