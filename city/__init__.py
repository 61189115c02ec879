"""The city tier: review of replies one tier down, supervision orders."""
