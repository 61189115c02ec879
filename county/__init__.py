"""The county tier: petition bureau intake, routing to townships, leader-owned cases."""
