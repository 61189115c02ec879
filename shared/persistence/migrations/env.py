"""Alembic environment for one node's schema.

Run through ``shared.persistence.migrate``. Online: it passes an open connection (already
mapped to the node's schema) and the schema name in ``config.attributes``. Offline (``sql``
mode): the script for a new node is rendered once, for a placeholder schema, and replayed for
every new node (see ``migrate.new_node_script``).
"""

from alembic import context

schema = context.config.attributes["schema"]

if context.is_offline_mode():
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        version_table_schema=schema,
        transaction_per_migration=False,
        output_buffer=context.config.attributes["output"],
    )
else:
    context.configure(
        connection=context.config.attributes["connection"],
        version_table_schema=schema,
        transaction_per_migration=False,
    )
with context.begin_transaction():
    context.run_migrations()
