"""A case's links to records at other nodes (its trail): transferred to/from, assigned to/by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.tables import case_links


class LinkKind(StrEnum):
    TRANSFERRED_TO = "TRANSFERRED_TO"
    TRANSFERRED_FROM = "TRANSFERRED_FROM"
    ASSIGNED_TO = "ASSIGNED_TO"
    ASSIGNED_BY = "ASSIGNED_BY"
    COMPLETION_REPORTED_TO = "COMPLETION_REPORTED_TO"
    REVIEWED_AT = "REVIEWED_AT"  # remote id: the review record at the reviewing node
    FINAL_REVIEWED_AT = "FINAL_REVIEWED_AT"
    SUPERVISED_BY = "SUPERVISED_BY"  # remote id: the supervision order at the issuing node
    REPEAT_OF = "REPEAT_OF"  # an earlier case of the same person on the same matter (重复访)
    REDIRECTED_TO = "REDIRECTED_TO"  # a skip-level visit sent down to the competent node
    REDIRECTED_FROM = "REDIRECTED_FROM"  # the skip-level visit this case was sent down from


@dataclass(frozen=True)
class CaseLink:
    case_id: str
    seq: int
    kind: LinkKind
    remote_node: str
    remote_id: str | None
    at: datetime
    message_id: str


async def add_link(
    conn: AsyncConnection,
    case_id: str,
    kind: LinkKind,
    *,
    remote_node: str,
    remote_id: str | None,
    at: datetime,
    message_id: str,
) -> None:
    seq = (
        await conn.execute(
            select(func.coalesce(func.max(case_links.c.seq), 0) + 1).where(
                case_links.c.case_id == case_id
            )
        )
    ).scalar_one()
    await conn.execute(
        insert(case_links).values(
            case_id=case_id,
            seq=seq,
            kind=kind.value,
            remote_node=remote_node,
            remote_id=remote_id,
            at=at,
            message_id=message_id,
        )
    )


async def resolve_remote_id(conn: AsyncConnection, message_id: str, remote_id: str) -> int:
    """The other node told the id of the record our message created there."""
    result = await conn.execute(
        update(case_links)
        .where(case_links.c.message_id == message_id, case_links.c.remote_id.is_(None))
        .values(remote_id=remote_id)
    )
    return result.rowcount


async def links_of(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[CaseLink]]:
    rows = await conn.execute(
        select(case_links)
        .where(case_links.c.case_id.in_(list(ids)))
        .order_by(case_links.c.case_id, case_links.c.seq)
    )
    result: dict[str, list[CaseLink]] = {case_id: [] for case_id in ids}
    for row in rows:
        result[row.case_id].append(
            CaseLink(
                case_id=row.case_id,
                seq=row.seq,
                kind=LinkKind(row.kind),
                remote_node=row.remote_node,
                remote_id=row.remote_id,
                at=row.at,
                message_id=row.message_id,
            )
        )
    return result
