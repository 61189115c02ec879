"""The city tier: built on the shared case engine (see the open issues)."""
