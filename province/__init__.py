"""The province tier: final review, flagged supervision, assessment rankings."""
