"""Alembic environment for one node's schema.

Run through ``shared.persistence.migrate``: it passes an open connection (already mapped to
the node's schema) and the schema name in ``config.attributes``.
"""

from alembic import context

connection = context.config.attributes["connection"]
schema = context.config.attributes["schema"]

context.configure(
    connection=connection,
    version_table_schema=schema,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
