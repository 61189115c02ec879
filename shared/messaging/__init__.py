"""Messages between nodes: outbox (sender), relay (delivery), inbox (receiver, applied once)."""
