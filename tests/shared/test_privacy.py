"""ID numbers sealed at rest (ADR 0018): the cipher, the masks, and migration 0012 sealing the
plaintext rows a node already holds."""

from __future__ import annotations

import base64
import json
import os

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import Principal, Role
from shared.errors import DomainError, ErrorCode
from shared.persistence.migrate import upgrade_schema
from shared.privacy import (
    DEV_ENCRYPTION_KEY,
    EncryptionKeyError,
    IdCipher,
    View,
    accusation_withheld,
    checked_purpose,
    mask_address,
    personal_view,
)

NUMBER = "11010519491231002X"
SCRATCH = "node_privacy_scratch"


def test_a_sealed_number_opens_to_itself_and_never_shows_it() -> None:
    cipher = IdCipher.from_env({})
    sealed = cipher.seal(NUMBER)
    assert sealed is not None
    assert sealed.startswith(f"v1.{cipher.key_id}.")
    assert NUMBER not in sealed
    assert NUMBER[6:14] not in base64.urlsafe_b64decode(sealed.split(".")[2] + "==").hex()
    assert cipher.seal(NUMBER) != sealed  # a fresh nonce each time
    assert cipher.open(sealed) == NUMBER
    assert cipher.seal(sealed) == sealed  # sealing twice changes nothing
    assert cipher.open(None) is None
    assert cipher.open("legacy-plaintext") == "legacy-plaintext"


def test_a_tampered_value_or_another_key_fails_loudly() -> None:
    cipher = IdCipher.from_env({})
    sealed = cipher.seal(NUMBER)
    assert sealed is not None
    head, body = sealed.rsplit(".", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(EncryptionKeyError, match="does not authenticate"):
        cipher.open(f"{head}.{flipped}")
    other = IdCipher(os.urandom(32))
    with pytest.raises(EncryptionKeyError, match="sealed under key"):
        other.open(sealed)


@pytest.mark.parametrize(
    "key",
    ["not base64!", base64.b64encode(b"short").decode(), base64.b64encode(bytes(31)).decode()],
)
def test_an_unusable_key_refuses_to_start(key: str) -> None:
    with pytest.raises(EncryptionKeyError):
        IdCipher.from_env({"XINFANG_ENCRYPTION_KEY": key})


def test_the_configured_key_is_used_and_the_demo_key_is_the_default() -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    assert IdCipher.from_env({"XINFANG_ENCRYPTION_KEY": key}).key_id != IdCipher.from_env({}).key_id
    assert IdCipher.from_env({}).key_id == IdCipher.from_text(DEV_ENCRYPTION_KEY).key_id


def test_views_by_role() -> None:
    def who(code: str, *roles: Role) -> Principal:
        return Principal("someone", code, frozenset(roles))

    assert personal_view(who("530102", Role.HANDLER), "530102") is View.CLEAR
    assert personal_view(who("530102", Role.HANDLER, Role.ANALYST), "530102") is View.CLEAR
    assert personal_view(who("5301", Role.HANDLER), "530102") is View.MASKED
    assert personal_view(who("530102", Role.LEADER), "530102") is View.MASKED
    assert personal_view(who("530102", Role.AUDITOR), "530102") is View.MASKED
    with pytest.raises(DomainError) as refused:
        personal_view(who("530102", Role.ANALYST), "530102")
    assert refused.value.code is ErrorCode.AGGREGATES_ONLY
    assert accusation_withheld(who("530102001", Role.HANDLER), "530102")
    assert accusation_withheld(who("530102", Role.LEADER), "530102")
    assert not accusation_withheld(who("5301", Role.LEADER), "530102")
    assert not accusation_withheld(who("530103", Role.LEADER), "530102")
    assert not accusation_withheld(who("530102", Role.LEADER), None)


def test_purposes_and_address_masks() -> None:
    for missing in (None, "", "  \n"):
        with pytest.raises(DomainError) as refused:
            checked_purpose(missing)
        assert refused.value.code is ErrorCode.PURPOSE_REQUIRED
    with pytest.raises(DomainError) as long:
        checked_purpose("x" * 201)
    assert long.value.code is ErrorCode.BAD_USER_INPUT
    assert checked_purpose("  回访  ") == "回访"
    assert mask_address("云南省昆明市五华区华山街道1号") == "云南省昆明市****"
    assert mask_address("云南省昆明市五华区华山街道1号院3栋") == "云南省昆明市****"
    assert mask_address("某村") == "****"


async def test_migration_0012_seals_the_plaintext_numbers_a_node_holds(
    engine: AsyncEngine,
) -> None:
    """A node at 0010 with clear numbers in petitioners, representatives, an outgoing
    transfer and a review snapshot: after 0012 none is clear and each opens to itself."""
    schema = SCRATCH
    rep = "530102198001010011"

    def run(connection: Connection) -> dict[str, object]:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        upgrade_schema(connection, schema, "0010")
        case = "1-2025-000001"
        connection.execute(
            text(
                f"""INSERT INTO "{schema}".cases (id, owner_code, issue_locality_code, channel,
                    category, summary, person_count, status, registered_at, last_at, version)
                    VALUES (:c, '1', '1', 'VISIT', 'c', 's', 3, 'REGISTERED', now(), now(), 1)"""
            ),
            {"c": case},
        )
        connection.execute(
            text(
                f'INSERT INTO "{schema}".petitioners (case_id, name, id_number) '
                "VALUES (:c, '张三', :n)"
            ),
            {"c": case, "n": NUMBER},
        )
        connection.execute(
            text(
                f'INSERT INTO "{schema}".representatives (case_id, seq, name, id_number) '
                "VALUES (:c, 1, '李四', :n)"
            ),
            {"c": case, "n": rep},
        )
        payload = {
            "petitioner": {"name": "张三", "idNumber": NUMBER},
            "representatives": [{"name": "李四", "idNumber": rep}],
        }
        connection.execute(
            text(
                f"""INSERT INTO "{schema}".outbox (id, recipient, kind, payload, created_at,
                    next_attempt_at) VALUES ('m1', '2', 'TRANSFER', CAST(:p AS jsonb), now(),
                    now())"""
            ),
            {"p": json.dumps(payload, ensure_ascii=False)},
        )
        upgrade_schema(connection, schema)
        found = {
            "petitioner": connection.execute(
                text(f'SELECT id_number FROM "{schema}".petitioners')
            ).scalar_one(),
            "representative": connection.execute(
                text(f'SELECT id_number FROM "{schema}".representatives')
            ).scalar_one(),
            "outbox": connection.execute(
                text(f'SELECT payload FROM "{schema}".outbox')
            ).scalar_one(),
            "accused": connection.execute(
                text(f'SELECT accused_unit FROM "{schema}".cases')
            ).scalar_one(),
        }
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        return found

    async with engine.begin() as conn:
        found = await conn.run_sync(run)
    cipher = IdCipher.from_env()
    assert found["accused"] is None
    for value, number in ((found["petitioner"], NUMBER), (found["representative"], rep)):
        assert isinstance(value, str)
        assert value.startswith("v1.")
        assert cipher.open(value) == number
    outbox = found["outbox"]
    assert isinstance(outbox, dict)
    assert NUMBER not in json.dumps(outbox)
    assert rep not in json.dumps(outbox)
    assert cipher.open(outbox["petitioner"]["idNumber"]) == NUMBER
    assert cipher.open(outbox["representatives"][0]["idNumber"]) == rep
