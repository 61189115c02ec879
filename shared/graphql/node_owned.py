"""``@nodeOwned``: data that only the node owning the key holds.

A type marked ``@nodeOwned`` (``Case``, ``Review``, ``SupervisionOrder``) is its owner's record
in every field but its key; a field marked ``@nodeOwned`` (``Jurisdiction.stats``,
``Jurisdiction.cases``) is the figures or records of the node whose code is the object's key.
The directive is composed into the supergraph (``@composeDirective``): the xinfang gateway
sends such fields to the owner node (docs/adr/0010-key-routed-shards.md); a standard gateway
ignores it.
"""

from __future__ import annotations

from strawberry.federation.schema_directive import Location, schema_directive

NODE_OWNED_SPEC = "https://xinfang.dev/node/v1.0"


@schema_directive(
    locations=[Location.OBJECT, Location.FIELD_DEFINITION],
    name="nodeOwned",
    compose=True,
    import_url=NODE_OWNED_SPEC,
    description="Data held only by the node whose division code the object's key carries.",
)
class NodeOwned:
    pass


__all__ = ["NODE_OWNED_SPEC", "NodeOwned"]
