"""The federated gateway (query planning, key-routed shards): see the gateway issue."""
