"""Personal data (docs/adr/0018): the audit log of clear reads, the unit an accusation accuses,
and ID numbers sealed at rest: every plaintext ID number of the node's petitioners,
representatives, outgoing messages and review snapshots is sealed with the province's
key (``XINFANG_ENCRYPTION_KEY``, the demo key when unset).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import base64
import hashlib
import hmac
import json
import os
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Frozen here (a migration does not follow later code): shared.privacy.IdCipher's format of 0012.
DEV_KEY = base64.b64encode(hashlib.sha256(b"xinfang-development-encryption-key").digest())
PREFIX = "v1."
AAD = b"xinfang:id_number:v1"


class _Sealer:
    def __init__(self) -> None:
        key = base64.b64decode(os.environ.get("XINFANG_ENCRYPTION_KEY") or DEV_KEY, validate=True)
        if len(key) != 32:
            raise ValueError("XINFANG_ENCRYPTION_KEY must be base64 of 32 bytes")
        self.aead = AESGCM(key)
        self.key_id = hmac.new(key, b"xinfang-key-id", hashlib.sha256).hexdigest()[:8]

    def seal(self, value: Any) -> Any:
        if not isinstance(value, str) or value.startswith(PREFIX):
            return value
        nonce = os.urandom(12)
        body = base64.urlsafe_b64encode(nonce + self.aead.encrypt(nonce, value.encode(), AAD))
        return f"{PREFIX}{self.key_id}.{body.decode().rstrip('=')}"


def _schema() -> str:
    # ALTER TABLE is not mapped by schema_translate_map: name the node's schema (see env.py).
    schema: str = context.config.attributes["schema"]
    return schema


def _seal_rows(sealer: _Sealer) -> None:
    conn = op.get_bind()
    schema = _schema()
    for table, key in (("petitioners", "case_id"), ("representatives", "case_id, seq")):
        rows = conn.execute(
            sa.text(
                f'SELECT {key}, id_number FROM "{schema}".{table} '
                "WHERE id_number IS NOT NULL AND id_number NOT LIKE 'v1.%'"
            )
        ).all()
        for row in rows:
            where = "case_id = :case_id" + (" AND seq = :seq" if table == "representatives" else "")
            values = dict(row._mapping)
            values["sealed"] = sealer.seal(values.pop("id_number"))
            conn.execute(
                sa.text(f'UPDATE "{schema}".{table} SET id_number = :sealed WHERE {where}'),
                values,
            )
    # Messages and review snapshots carry the petition as the sender holds it.
    for table, key, column in (("outbox", "id", "payload"), ("reviews", "id", "case_snapshot")):
        found = conn.execute(
            sa.text(
                f'SELECT {key}, {column} FROM "{schema}".{table} '
                f"WHERE {column}::text LIKE '%idNumber%'"
            )
        ).all()
        for ident, document in found:
            if _seal_document(document, sealer):
                conn.execute(
                    sa.text(
                        f'UPDATE "{schema}".{table} SET {column} = CAST(:d AS jsonb) '
                        f"WHERE {key} = :k"
                    ),
                    {"d": json.dumps(document, ensure_ascii=False), "k": ident},
                )


def _seal_document(document: Any, sealer: _Sealer) -> bool:
    """Seal every ``idNumber`` in a JSON document in place; whether any changed."""
    changed = False
    if isinstance(document, dict):
        for name, value in document.items():
            if name == "idNumber" and isinstance(value, str) and not value.startswith(PREFIX):
                document[name] = sealer.seal(value)
                changed = True
            else:
                changed = _seal_document(value, sealer) or changed
    elif isinstance(document, list):
        for item in document:
            changed = _seal_document(item, sealer) or changed
    return changed


def upgrade() -> None:
    op.add_column("cases", sa.Column("accused_unit", sa.Text), schema=_schema())
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
    )
    op.create_index("audit_log_case", "audit_log", ["case_id"])
    if not context.is_offline_mode():  # a new node's rendered script has no rows to seal
        _seal_rows(_Sealer())


def downgrade() -> None:
    # Sealed ID numbers stay sealed: a downgrade never writes personal data back in clear.
    op.drop_index("audit_log_case", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_column("cases", "accused_unit", schema=_schema())
