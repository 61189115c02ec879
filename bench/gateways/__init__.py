"""``xinfang bench gateways``: our federation gateway side by side with @apollo/gateway and
@graphql-hive/gateway, over the same four demo subgraphs, the same deep query and one load
generator (wrk). See docs/benchmarks.md."""
